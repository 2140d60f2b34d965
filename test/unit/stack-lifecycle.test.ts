import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { describe, expect, it } from "vitest";

import { mayCreateStack, missingStackMessage, policyArgs, publishUpEvent, Runner, upEventKind } from "../../scripts/stack-lifecycle";
import { REPO_ROOT } from "../helpers/engine";

const ok = (kind = "update") => ({ kind, result: "succeeded" });
const failed = (kind = "update") => ({ kind, result: "failed" });

describe("upEventKind", () => {
    it.each([
        ["the first successful update", [ok()], "created"],
        ["the first success after failures", [ok(), failed(), failed()], "created"],
        ["a second success", [ok(), ok()], "updated"],
        ["a success after refreshes and a failure", [ok(), ok("refresh"), failed(), ok()], "updated"],
        ["the first success since a destroy", [ok(), ok("destroy"), ok(), ok()], "created"],
        ["the second success since a destroy", [ok(), ok(), ok("destroy"), ok()], "updated"],
    ] as const)("%s: %s", (_, history, kind) => {
        expect(upEventKind(history)).toBe(kind);
    });
});

describe("mayCreateStack", () => {
    it("lets a preview create only local-template and review stacks", () => {
        expect(mayCreateStack("preview", "local", REPO_ROOT)).toBe(true);
        expect(mayCreateStack("preview", "review-12", REPO_ROOT)).toBe(true);
        for (const stack of ["dev", "staging", "prod", "team-sandbox"]) {
            expect(mayCreateStack("preview", stack, REPO_ROOT), stack).toBe(false);
        }
    });

    it("counts a copy of the local template as local (its state is in the repository)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-lifecycle-"));
        fs.mkdirSync(path.join(dir, "stacks"));
        fs.writeFileSync(path.join(dir, "stacks", "Pulumi.local-2.yaml"), "config:\n  platform:template: local\n");
        fs.writeFileSync(path.join(dir, "stacks", "Pulumi.dev-2.yaml"), "config:\n  platform:template: dev\n");
        expect(mayCreateStack("preview", "local-2", dir)).toBe(true);
        expect(mayCreateStack("preview", "dev-2", dir)).toBe(false);
    });

    it("lets an up create any stack, and a refresh none", () => {
        expect(mayCreateStack("up", "dev", REPO_ROOT)).toBe(true);
        expect(mayCreateStack("refresh", "local", REPO_ROOT)).toBe(false);
        expect(mayCreateStack("refresh", "review-12", REPO_ROOT)).toBe(false);
    });

    it("names the backend a missing stack is not in", () => {
        expect(missingStackMessage("dev", "s3://bucket")).toBe(`stack dev does not exist in s3://bucket; check the stack's backend (README "State and secrets")`);
    });
});

describe("policyArgs", () => {
    it("passes the pack with the stack's settings, review.json for review stacks, the pack alone without settings", () => {
        const pack = ["--policy-pack", `${REPO_ROOT}/policies`];
        expect(policyArgs(REPO_ROOT, "prod")).toEqual([...pack, "--policy-pack-config", `${REPO_ROOT}/policies/config/prod.json`]);
        expect(policyArgs(REPO_ROOT, "review-3")).toEqual([...pack, "--policy-pack-config", `${REPO_ROOT}/policies/config/review.json`]);
        expect(policyArgs(REPO_ROOT, "no-such-stack")).toEqual(pack);
    });
});

describe("publishUpEvent", () => {
    /** A runner that answers pulumi's history and output, and records every call. */
    function fakeRunner(history: unknown, publish = { status: 0, stdout: "published environment.updated for dev\n", stderr: "" }) {
        const calls: { command: string; args: string[]; input?: string }[] = [];
        const run: Runner = (command, args, options) => {
            calls.push({ command, args, input: options.input });
            if (command === "pulumi" && args[1] === "history") {
                return Promise.resolve({ status: 0, stdout: JSON.stringify(history), stderr: "" });
            }
            if (command === "pulumi" && args[1] === "output") {
                return Promise.resolve({ status: 0, stdout: '{"name":"dev"}\n', stderr: "" });
            }
            return Promise.resolve(publish);
        };
        return { run, calls };
    }

    it("does nothing when events are off", async () => {
        const { run, calls } = fakeRunner([ok()]);
        expect(await publishUpEvent("dev", { projectDir: REPO_ROOT, env: {}, run })).toBe("");
        expect(calls).toEqual([]);
    });

    it("publishes the record with the kind the history gives, through scripts/publish-event.ts", async () => {
        const { run, calls } = fakeRunner([ok(), ok()]);
        const env = { PLATFORM_EVENTS_URL: "amqp://broker/" };
        expect(await publishUpEvent("dev", { projectDir: "/project", env, run })).toBe("published environment.updated for dev\n");
        expect(calls.map((c) => [c.command, ...c.args].join(" "))).toEqual([
            "pulumi stack history --stack dev --json --non-interactive",
            "pulumi stack output --stack dev --json environment --non-interactive",
            `${process.execPath} --import tsx ${REPO_ROOT}/scripts/publish-event.ts updated dev -`,
        ]);
        expect(calls[2].input).toBe('{"name":"dev"}\n');
    });

    it("throws, naming the event, when it was not published", async () => {
        const { run } = fakeRunner([ok()], { status: 1, stdout: "", stderr: "publish-event: could not publish\n" });
        await expect(publishUpEvent("dev", { projectDir: REPO_ROOT, env: { PLATFORM_EVENTS_URL: "amqp://broker/" }, run })).rejects.toThrow(
            "the change event of dev (environment.created) was not published: publish-event: could not publish",
        );
    });
});
