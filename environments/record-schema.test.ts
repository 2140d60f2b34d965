import { describe, expect, it } from "vitest";

import { VALID_RECORD } from "../test/helpers/records";
import { recordProblems } from "./record-schema";

const valid = VALID_RECORD;

describe("the environment record schema (environments/record.schema.json)", () => {
    it("accepts a valid record", () => {
        expect(recordProblems(valid)).toEqual([]);
    });

    it.each([
        ["an unknown status", { status: "running" }, "/status: must be equal to one of the allowed values"],
        ["a missing tag", { tags: { ...valid.tags, owner: undefined } }, "/tags: must have required property 'owner'"],
        ["a bad creation date", { createdAt: "yesterday" }, '/createdAt: must match format "date-time"'],
        ["credentials in an endpoint", { entrypoints: ["amqp://platform:hunter2@rabbitmq:5672"] }, "/entrypoints/0: must match pattern"],
        ["an unknown field", { secrets: {} }, "/: must NOT have additional properties"],
        ["a wrong schema version", { schemaVersion: "0.9.0" }, "/schemaVersion: must be equal to constant"],
    ])("rejects %s, naming the path", (_label, change, problem) => {
        const record = JSON.parse(JSON.stringify({ ...valid, ...change })) as unknown;
        expect(recordProblems(record).join("\n")).toContain(problem);
    });
});
