import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import { mayCreateStack, missingStackMessage, notPreviewedInMergeRequests, policyArgs, publishUpEvent, Runner, upEventKind } from "../../scripts/stack-lifecycle";
import { REPO_ROOT } from "../helpers/engine";
import { tempDir } from "../helpers/temp-dir";

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
        const dir = tempDir("stack-lifecycle-");
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

describe("the policy config of a stack's template, chosen by its stack file", () => {
    // A project with the repository's policy configs and stack files named unlike their template.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-lifecycle-"));
    fs.mkdirSync(path.join(dir, "stacks"));
    fs.cpSync(path.join(REPO_ROOT, "policies", "config"), path.join(dir, "policies", "config"), { recursive: true });
    const stack = (name: string, text: string) => fs.writeFileSync(path.join(dir, "stacks", `Pulumi.${name}.yaml`), text);
    stack("prod-eu", "config:\n  platform:template: prod\n");
    stack("dev-x", "config:\n  platform:template: dev\n");
    stack("staging-2", "config:\n  platform:template: staging\n");
    stack("review-5", "config:\n  platform:template: local\n");
    stack("qa", "config:\n  platform:template: qa\n");
    stack("empty", "");
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
    const pack = ["--policy-pack", `${dir}/policies`];
    const configOf = (stack: string) => policyArgs(dir, stack)[3];

    it("gives prod-eu prod's policy config: 30-day backups, every stateful resource protected whatever the stack's name", () => {
        expect(policyArgs(dir, "prod-eu")).toEqual([...pack, "--policy-pack-config", `${dir}/policies/config/prod.json`]);
        type Settings = { enforcementLevel?: string; minBackupRetentionDays?: number; required?: boolean; protectedEnvironments?: string[] };
        const prod = JSON.parse(fs.readFileSync(configOf("prod-eu"), "utf8")) as Record<string, Settings>;
        expect(prod["database-encrypted-backed-up"].minBackupRetentionDays).toBe(30);
        // Not a list of names (["prod"] let prod-eu through): the template's config requires it of any stack it is used for.
        expect(prod["stateful-resources-protected"]).toEqual({ enforcementLevel: "mandatory", required: true });
    });

    it("keeps prod-template stacks of any name out of merge request previews, by their stack file", () => {
        for (const s of ["prod-eu", "prod"]) {
            expect(notPreviewedInMergeRequests(s === "prod" ? REPO_ROOT : dir, s), s).toMatch(/^template prod: its state and keys are for its own identity, which merge requests never get/);
        }
        // review-5 is a local-template stack; review-6 (no file) a merge request's review stack; sandbox has no template to tell.
        for (const s of ["dev-x", "staging-2", "review-5", "review-6", "local", "sandbox"]) {
            expect(notPreviewedInMergeRequests(dir, s), s).toBeUndefined();
        }
        expect(() => notPreviewedInMergeRequests(dir, "qa")).toThrow('stacks/Pulumi.qa.yaml: platform:template: "qa" is not a template');
    });

    it("gives dev-x and staging-2 their template's config, and a stack file's template wins over a review-like name", () => {
        expect(configOf("dev-x")).toBe(`${dir}/policies/config/dev.json`);
        expect(configOf("staging-2")).toBe(`${dir}/policies/config/staging.json`);
        expect(configOf("review-5")).toBe(`${dir}/policies/config/local.json`);
        // No stack file: a merge request's review stack, local before its file exists, anything else the pack alone.
        expect(configOf("review-6")).toBe(`${dir}/policies/config/review.json`);
        expect(configOf("local")).toBe(`${dir}/policies/config/local.json`);
        expect(policyArgs(dir, "sandbox")).toEqual(pack);
    });

    it("lets a preview create a stack by its template, not its name", () => {
        expect(mayCreateStack("preview", "prod-eu", dir)).toBe(false);
        expect(mayCreateStack("preview", "review-5", dir)).toBe(true);
        expect(mayCreateStack("preview", "review-6", dir)).toBe(true);
    });

    it("refuses a stack file with an unknown template or none, naming the file", () => {
        const allowed = "allowed: local, review, dev, staging, prod";
        expect(() => policyArgs(dir, "qa")).toThrow(`stacks/Pulumi.qa.yaml: platform:template: "qa" is not a template; ${allowed}`);
        expect(() => mayCreateStack("preview", "qa", dir)).toThrow("stacks/Pulumi.qa.yaml: platform:template");
        expect(() => policyArgs(dir, "empty")).toThrow(`stacks/Pulumi.empty.yaml: platform:template is missing (the file is empty): set the stack's template; ${allowed}`);
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
