/**
 * `.ci/run`'s summary line (scripts/test-summary.ts) on a report that vitest
 * itself wrote, for test files that pass, fail, fail to load and fail in
 * `beforeAll`.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { summarize, VitestReport } from "../../scripts/test-summary";

const ROOT = path.resolve(__dirname, "..", "..");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "platform-test-summary-"));
let report: VitestReport;

const FILES: Record<string, string> = {
    "passes.test.ts": `import { it } from "vitest";\nit("one", () => {});\nit("two", () => {});\n`,
    "fails.test.ts": `import { expect, it } from "vitest";\nit("fails", () => expect(1).toBe(2));\nit("passes", () => {});\n`,
    "does-not-load.test.ts": `import { it } from "vitest";\nthrow new Error("broken import");\nit("never", () => {});\n`,
    "hook-fails.test.ts": `import { beforeAll, it } from "vitest";\nbeforeAll(() => { throw new Error("no cluster"); });\nit("a", () => {});\nit("b", () => {});\nit("c", () => {});\n`,
    "skips.test.ts": `import { it } from "vitest";\nit.skip("later", () => {});\nit("now", () => {});\n`,
};

beforeAll(() => {
    for (const [name, text] of Object.entries(FILES)) {
        fs.writeFileSync(path.join(dir, name), text);
    }
    fs.writeFileSync(path.join(dir, "vitest.config.mjs"), "export default {};\n");
    const out = path.join(dir, "report.json");
    spawnSync(path.join(ROOT, "node_modules", ".bin", "vitest"), ["run", "--root", dir, "--reporter=json", `--outputFile=${out}`], { encoding: "utf8", cwd: dir });
    report = JSON.parse(fs.readFileSync(out, "utf8")) as VitestReport;
}, 120_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("the CI summary line", () => {
    it("counts each file that broke outside a test as a failure, and its tests as never run, not skipped", () => {
        const summary = summarize(report);
        // 4 passed (two, one passing in fails, now); 1 failed test + 2 broken files; 1 real skip.
        expect(summary.line).toBe("4 passed, 3 failed, 1 skipped");
        expect(summary.brokenFiles.map((f) => path.basename(f)).sort()).toEqual(["does-not-load.test.ts", "hook-fails.test.ts"]);
        expect(summary.neverRan).toBe(3);
        expect(summary.ok).toBe(false);
    });

    it("passes a clean run, and fails one where nothing ran", () => {
        const clean: VitestReport = { ...report, numFailedTests: 0, numPendingTests: 0, numTodoTests: 0, testResults: report.testResults.filter((f) => f.name.endsWith("passes.test.ts")) };
        expect(summarize({ ...clean, numPassedTests: 2, numTotalTests: 2 })).toMatchObject({ line: "2 passed, 0 failed", ok: true });
        expect(summarize({ ...clean, numPassedTests: 0, numTotalTests: 0, testResults: [] })).toMatchObject({ line: "0 passed, 0 failed", ok: false });
    });

    it("works as the command .ci/run calls", () => {
        const out = path.join(dir, "report.json");
        const run = spawnSync("node", ["--import", "tsx", path.join(ROOT, "scripts", "test-summary.ts"), out], { encoding: "utf8", cwd: ROOT });
        expect(run.status).toBe(1);
        expect(run.stdout).toBe("4 passed, 3 failed, 1 skipped\n");
        expect(run.stderr).toContain("ci: 2 test file(s) failed outside a test (load error or hook); 3 of their tests never ran:");
    });
});
