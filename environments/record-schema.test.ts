import { describe, expect, it } from "vitest";

import { recordProblems } from "./record-schema";

const valid = {
    schemaVersion: "1.0.0",
    id: "platform/dev",
    name: "dev",
    description: "Dev",
    tags: { owner: "team@example.com", environment: "dev", "cost-center": "PLT-0001", "managed-by": "pulumi", repository: "platform-gitops" },
    createdAt: "2026-11-23T10:00:00.000Z",
    plannedDestructionAt: null,
    status: "deployed-ok",
    templates: [{ name: "dev", version: "0.1.0", commit: "0a7b65e1234567890abcdef1234567890abcdef1" }],
    entrypoints: ["https://dev.example.com"],
    statusEndpoints: ["http://vault.vault.svc.cluster.local:8200/v1/sys/health"],
    resources: [
        {
            id: "vault",
            template: "platform:vault:VaultServer",
            count: 3,
            status: "deployed",
            links: { entrypoints: [], statusEndpoints: [] },
            dependsOn: ["namespace/vault"],
        },
    ],
};

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
