import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { describe, expect, it } from "vitest";

import { formatSummary, pulumiTask, runStacks, StackResult, StackTask } from "../../scripts/parallel-stacks";
import { REPO_ROOT } from "../helpers/engine";

/** A stand-in for `pulumi`: prints, waits, exits with the given code. */
function fake(stack: string, ms: number, code = 0): StackTask {
    const script = `console.log("start ${stack}"); setTimeout(() => { console.error("end ${stack}"); process.exit(${code}); }, ${ms});`;
    return { stack, command: process.execPath, args: ["-e", script], cwd: REPO_ROOT, env: process.env };
}

describe("runStacks", () => {
    it("runs at most `workers` at a time and returns results in the tasks' order", async () => {
        const marker = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "parallel-stacks-")), "d-ran");
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
        expect(done).toEqual(["b", "c", "d", "a"]);
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
});
