import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import { formatSummary, pulumiTask, runStacks, StackResult, StackTask } from "../../scripts/parallel-stacks";
import { runCommand } from "../../scripts/stack-lifecycle";
import { REPO_ROOT } from "../helpers/engine";
import { fakePulumiCalls, writeFakePulumi } from "../helpers/fake-pulumi";
import { tempDir } from "../helpers/temp-dir";

/** A stand-in for `pulumi`: prints, waits, exits with the given code. */
function fake(stack: string, ms: number, code = 0): StackTask {
    const script = `console.log("start ${stack}"); setTimeout(() => { console.error("end ${stack}"); process.exit(${code}); }, ${ms});`;
    return { stack, command: process.execPath, args: ["-e", script], cwd: REPO_ROOT, env: process.env };
}

describe("runStacks", () => {
    it("runs at most `workers` at a time and returns results in the tasks' order", async () => {
        const marker = path.join(tempDir("parallel-stacks-"), "d-ran");
        // a finishes only once d has run: with two workers, b, c and d go through the second one meanwhile.
        const a: StackTask = {
            ...fake("a", 0),
            args: ["-e", `const fs = require("fs"); console.log("start a"); const t = setInterval(() => { if (fs.existsSync(${JSON.stringify(marker)})) { clearInterval(t); console.error("end a"); } }, 20); setTimeout(() => process.exit(9), 15000).unref();`],
        };
        const d: StackTask = { ...fake("d", 0), args: ["-e", `require("fs").writeFileSync(${JSON.stringify(marker)}, "")`] };
        const done: string[] = [];
        const summary = await runStacks([a, fake("b", 10), fake("c", 10), d], { workers: 2, onDone: (r) => done.push(r.stack) });
        expect(summary.peak).toBe(2);
        expect(summary.results.map((r) => r.stack)).toEqual(["a", "b", "c", "d"]);
        expect(summary.results.map((r) => r.status)).toEqual([0, 0, 0, 0]);
        // b and c finish first; d and a end close together (a sees d's marker while d exits), in either order on a loaded machine.
        expect(done.slice(0, 2)).toEqual(["b", "c"]);
        expect([...done.slice(2)].sort()).toEqual(["a", "d"]);
        expect(summary.results[0].output).toBe("start a\nend a\n");
    });

    it("runs one at a time with one worker", async () => {
        const summary = await runStacks([fake("a", 50), fake("b", 50), fake("c", 50)], { workers: 1 });
        expect(summary.peak).toBe(1);
    });

    it("reports failures and still runs the others", async () => {
        const summary = await runStacks([fake("ok", 50), fake("bad", 50, 3), { ...fake("missing", 0), command: "/nonexistent/pulumi" }], { workers: 3 });
        expect(summary.results.map((r) => r.status)).toEqual([0, 3, -1]);
        const text = formatSummary("preview", summary, 3);
        expect(text).toMatch(/^preview of 3 stack\(s\), 3 worker\(s\), [\d.]+ s in all:/);
        expect(text).toMatch(/\n {2}bad +FAILED +[\d.]+ s {2}\(exit 3\)\n/);
        expect(text.split("\n").pop()).toBe("1 ok, 2 failed");
    });

    it("runs a task's afterSuccess only when its command succeeded, adding what it returns to the output", async () => {
        const ran: string[] = [];
        const after = (stack: string) => () => {
            ran.push(stack);
            return Promise.resolve(`published ${stack}\n`);
        };
        const summary = await runStacks([{ ...fake("ok", 10), afterSuccess: after("ok") }, { ...fake("bad", 10, 1), afterSuccess: after("bad") }], { workers: 2 });
        expect(ran).toEqual(["ok"]);
        expect(summary.results[0]).toMatchObject({ status: 0, output: "start ok\nend ok\npublished ok\n" });
        expect(summary.results[1]).toMatchObject({ status: 1, output: "start bad\nend bad\n" });
    });

    it("interrupts running stacks and starts no more when cancelled", async () => {
        const controller = new AbortController();
        const started: StackResult[] = [];
        const run = runStacks([fake("long", 30_000), fake("next", 10)], { workers: 1, signal: controller.signal, onDone: (r) => started.push(r) });
        setTimeout(() => controller.abort(), 300);
        const summary = await run;
        expect(summary.results[0].status).not.toBe(0);
        expect(summary.results[0].ms).toBeLessThan(10_000);
        expect(summary.results[1].output).toContain("not started: cancelled");
    });
});

describe("pulumiTask", () => {
    it("previews with the stack's policy configuration, as ./platform does", () => {
        const task = pulumiTask("preview", "prod", { projectDir: REPO_ROOT, env: {} });
        expect(task.args).toEqual([
            "preview",
            "--stack",
            "prod",
            "--policy-pack",
            `${REPO_ROOT}/policies`,
            "--policy-pack-config",
            `${REPO_ROOT}/policies/config/prod.json`,
            "--non-interactive",
        ]);
        expect(pulumiTask("up", "review-7", { projectDir: REPO_ROOT, env: {}, extraArgs: ["--diff"] }).args).toEqual([
            "up",
            "--stack",
            "review-7",
            "--yes",
            "--policy-pack",
            `${REPO_ROOT}/policies`,
            "--policy-pack-config",
            `${REPO_ROOT}/policies/config/review.json`,
            "--non-interactive",
            "--diff",
        ]);
    });

    it("gives an up, and only an up, its change event (off without PLATFORM_EVENTS_URL)", async () => {
        expect(pulumiTask("preview", "dev", { projectDir: REPO_ROOT, env: {} }).afterSuccess).toBeUndefined();
        const up = pulumiTask("up", "dev", { projectDir: REPO_ROOT, env: {} });
        expect(up.afterSuccess).toBeDefined();
        expect(await up.afterSuccess?.()).toBe("");
    });
});

/**
 * scripts/stacks.ts end to end with a fake `pulumi`: the rules of
 * `./platform preview|up` (scripts/stack-lifecycle.ts) hold for several stacks.
 */
describe("./platform stacks", { timeout: 180_000 }, () => {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), "stacks-cli-"));
    writeFakePulumi(bin);
    afterAll(() => fs.rmSync(bin, { recursive: true, force: true }));

    async function stacks(args: string[], env: NodeJS.ProcessEnv) {
        const log = path.join(bin, `pulumi-${Math.random().toString(36).slice(2)}.log`);
        const result = await runCommand(process.execPath, ["--import", "tsx", path.join(REPO_ROOT, "scripts", "cli", "main.ts"), "stacks", ...args, "--project-dir", REPO_ROOT], {
            cwd: REPO_ROOT,
            env: {
                PATH: `${bin}:${process.env.PATH}`,
                HOME: process.env.HOME,
                FAKE_PULUMI_LOG: log,
                KUBECONFIG: path.join(bin, "no-kubeconfig"),
                PLATFORM_STATE_BACKEND_URL: "s3://test-bucket",
                PLATFORM_SECRETS_PROVIDER: "hashivault://pulumi-review",
                ...env,
            },
        });
        return { ...result, log: fakePulumiCalls(log) };
    }

    it("a preview never creates a shared stack: none is created, nothing runs, exit 2", async () => {
        const run = await stacks(["preview", "review-3", "dev"], {});
        expect(run.status, run.stderr).toBe(2);
        expect(run.stderr).toContain(`stack dev does not exist in s3://test-bucket; check the stack's backend`);
        expect(run.log.map((c) => c.args)).toEqual(["stack ls --json --non-interactive"]);
    });

    it("a preview creates a missing review stack, then previews it with the policy pack", async () => {
        const run = await stacks(["preview", "review-3", "dev"], { FAKE_PULUMI_STACKS: "dev" });
        expect(run.status, run.stderr).toBe(0);
        expect(run.log.map((c) => c.args)).toEqual([
            "stack ls --json --non-interactive",
            "stack init --no-select --secrets-provider hashivault://pulumi-review review-3 --non-interactive",
            expect.stringMatching(/^preview --stack (review-3|dev) --policy-pack /),
            expect.stringMatching(/^preview --stack (review-3|dev) --policy-pack /),
        ]);
    });

    it("each successful up publishes its change event, as ./platform up does", async () => {
        const run = await stacks(["up", "review-3", "dev"], {
            FAKE_PULUMI_STACKS: "review-3 dev",
            FAKE_PULUMI_HISTORY: JSON.stringify([{ kind: "update", result: "succeeded" }, { kind: "update", result: "succeeded" }]),
            // Not a record: publish-event.ts fails at once, before any broker is contacted.
            FAKE_PULUMI_RECORD: "not json",
            PLATFORM_EVENTS_URL: "amqp://127.0.0.1:9/",
        });
        // The deployments stand: a change event that was not published only warns.
        expect(run.status, run.stdout + run.stderr).toBe(0);
        const args = run.log.map((c) => c.args);
        for (const stack of ["review-3", "dev"]) {
            expect(args).toContain(`stack history --stack ${stack} --json --non-interactive`);
            expect(args).toContain(`stack output --stack ${stack} --json environment --non-interactive`);
            expect(run.stdout).toContain(`[platform] warning: the change event of ${stack} (environment.updated) was not published`);
        }
        // A render (review-3: no cluster answers here) keeps no per-step checkpoints; dev always applies.
        expect(run.log.find((c) => c.args.startsWith("up --stack review-3 "))?.skipCheckpoints).toBe(true);
        expect(run.log.find((c) => c.args.startsWith("up --stack dev "))?.skipCheckpoints).toBe(false);
    });

    it("publishes nothing when events are off", async () => {
        const run = await stacks(["up", "review-3"], { FAKE_PULUMI_STACKS: "review-3" });
        expect(run.status, run.stderr).toBe(0);
        expect(run.log.map((c) => c.args)).toEqual([
            "stack ls --json --non-interactive",
            `up --stack review-3 --yes --policy-pack ${REPO_ROOT}/policies --policy-pack-config ${REPO_ROOT}/policies/config/review.json --non-interactive`,
        ]);
    });
});
