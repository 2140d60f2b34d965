/**
 * `./platform stacks preview` (scripts/stacks.ts) through the real engine:
 * three copies of the local stack, one with bad config, two workers. Missing
 * stacks are created with their secrets provider, every stack's output comes
 * whole, one summary ends the run, and the failure sets the exit code.
 */
import * as fs from "node:fs";
import * as path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { defaultTestChartMirror } from "../helpers/real-charts";
import { createEngineProject, EngineProject, PulumiResult, REPO_ROOT, runAsync } from "../helpers/engine";
import { writeLocalStacks } from "../helpers/local-stacks";

const STACKS = ["local", "local-2", "local-bad"];

let project: EngineProject;
let run: PulumiResult;

beforeAll(async () => {
    project = createEngineProject();
    const mirror = defaultTestChartMirror();
    writeLocalStacks(project, STACKS, mirror, { "local-bad": { "platform:owner": "not-an-email" } });
    // Async: the run takes longer than vitest's worker RPC timeout.
    run = await runAsync(
        process.execPath,
        ["--import", "tsx", path.join(REPO_ROOT, "scripts", "cli", "main.ts"), "stacks", "preview", ...STACKS, "--workers", "2", "--project-dir", project.dir],
        // Local-template stacks keep their state in the local backend: here, the copy's own.
        { cwd: REPO_ROOT, env: { ...project.env, PLATFORM_LOCAL_BACKEND_URL: project.env.PULUMI_BACKEND_URL } },
    );
});
afterAll(() => project?.cleanup());

describe("./platform stacks preview", () => {
    it("creates the missing stacks with the passphrase provider of the local template", () => {
        const ls = project.pulumi(["stack", "ls", "--json"]);
        expect((JSON.parse(ls.stdout) as { name: string }[]).map((s) => s.name).sort()).toEqual(STACKS);
        expect(run.stderr).toContain("creating stack local-2 (state in file://");
        expect(run.stderr).toContain("secrets provider passphrase)");
        // The committed salt is kept: the copies share local's passphrase.
        const salt = (stack: string) => /^encryptionsalt: (.+)$/m.exec(fs.readFileSync(path.join(project.dir, "stacks", `Pulumi.${stack}.yaml`), "utf8"))?.[1];
        expect(salt("local-2")).toBe(salt("local"));
    });

    it("prints each stack's preview whole, with the policy pack", () => {
        for (const stack of ["local", "local-2"]) {
            const block = run.stdout.split("\n===== ").find((b) => b.startsWith(`preview ${stack}: ok`));
            expect(block, run.stdout).toBeDefined();
            expect(block).toContain("platform:cluster:ExistingCluster");
            expect(block).toMatch(/Policies:\s+\S+ platform@v/);
        }
        const bad = run.stdout.split("\n===== ").find((b) => b.startsWith("preview local-bad: FAILED"));
        expect(bad, run.stdout).toContain('platform:owner: must be an email address (got "not-an-email")');
    });

    it("ends with one summary and exits non-zero because one stack failed", () => {
        expect(run.status, run.stdout + run.stderr).toBe(1);
        const summary = run.stdout.slice(run.stdout.lastIndexOf("\npreview of "));
        expect(summary).toMatch(/^\npreview of 3 stack\(s\), 2 worker\(s\), [\d.]+ s in all:\n/);
        expect(summary).toMatch(/\n {2}local +ok +[\d.]+ s\n/);
        expect(summary).toMatch(/\n {2}local-2 +ok +[\d.]+ s\n/);
        expect(summary).toMatch(/\n {2}local-bad +FAILED +[\d.]+ s {2}\(exit \d+\)\n/);
        expect(summary.trimEnd().split("\n").pop()).toBe("2 ok, 1 failed");
    });
});
