/**
 * The one summary line `.ci/run` ends with, from vitest's JSON report:
 *
 *   N passed, N failed[, N skipped]
 *
 * A test file that fails to load, or whose `beforeAll` fails, has no failed
 * test of its own: each such file counts as one failure, and its tests that
 * never ran are reported on a line of their own (stderr), never as passed or
 * skipped. Exit code 1 when anything failed or nothing ran.
 *
 * Usage: tsx scripts/test-summary.ts <vitest.json>
 */
import * as fs from "node:fs";

/** The part of vitest's JSON reporter output this reads (Jest's format). */
export interface VitestReport {
    numTotalTests: number;
    numPassedTests: number;
    numFailedTests: number;
    numPendingTests: number;
    numTodoTests: number;
    testResults: { name: string; status: string; message?: string; assertionResults: { status: string }[] }[];
}

export interface TestSummary {
    line: string;
    failed: number;
    /** Files that failed outside any test (load error, failing hook). */
    brokenFiles: string[];
    /** Tests of those files that never ran. */
    neverRan: number;
    ok: boolean;
}

export function summarize(report: VitestReport): TestSummary {
    const broken = report.testResults.filter((file) => file.status === "failed" && !file.assertionResults.some((t) => t.status === "failed"));
    const neverRan = broken.reduce((n, file) => n + file.assertionResults.filter((t) => t.status !== "passed").length, 0);
    // Tests of a broken file that vitest reports as skipped did not run because it broke.
    const skipped = Math.max(0, report.numPendingTests + report.numTodoTests - neverRan);
    const failed = report.numFailedTests + broken.length;
    let line = `${report.numPassedTests} passed, ${failed} failed`;
    if (skipped > 0) {
        line += `, ${skipped} skipped`;
    }
    return { line, failed, brokenFiles: broken.map((f) => f.name), neverRan, ok: failed === 0 && report.numTotalTests > 0 };
}

if (require.main === module) {
    const [file] = process.argv.slice(2);
    if (file === undefined) {
        console.error("usage: tsx scripts/test-summary.ts <vitest.json>");
        process.exit(2);
    }
    const summary = summarize(JSON.parse(fs.readFileSync(file, "utf8")) as VitestReport);
    if (summary.brokenFiles.length > 0) {
        console.error(`ci: ${summary.brokenFiles.length} test file(s) failed outside a test (load error or hook); ${summary.neverRan} of their tests never ran:`);
        for (const name of summary.brokenFiles) {
            console.error(`ci:   ${name}`);
        }
    }
    console.log(summary.line);
    process.exit(summary.ok ? 0 : 1);
}
