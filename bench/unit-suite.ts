/**
 * The unit suite's speed: one run of the `unit` vitest project in a child
 * process (the default reporter for vitest's own phase split, the JSON
 * reporter for counts and per-test times, bench/unit-suite-reporter.ts for
 * each file's import and test time), with the target of at most 60 s on
 * 2 cores. A missed target is reported, not fatal; failing tests are.
 *
 * Usage (from bench/index.ts; needs no toolchain):
 *   const figures = unitSuiteBench();        // prints its table too
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import type { FilePhases } from "./unit-suite-reporter";

/** The suite's target: at most this long on a 2-core machine. */
export const UNIT_SUITE_TARGET_MS = 60_000;

/** vitest's "Duration" line: summed over workers, so phases can add up to more than the wall time. */
export interface VitestPhases {
    durationMs: number;
    transformMs: number;
    setupMs: number;
    collectMs: number;
    testsMs: number;
    environmentMs: number;
    prepareMs: number;
}

export interface UnitSuiteFigures {
    cpus: number;
    /** Wall time of the child process (startup and teardown included). */
    wallMs: number;
    files: number;
    tests: number;
    passed: number;
    failed: number;
    skipped: number;
    phases?: VitestPhases;
    /**
     * Per file: `ms` = environment + prepare + setup + collect (importing the
     * file and what it imports) + tests (tests and hooks, beforeAll included).
     * Without the phases reporter's output: the JSON's first test start to last test end.
     */
    slowestFiles: { file: string; ms: number; collectMs?: number; testsMs?: number; tests: number }[];
    slowestTests: { file: string; test: string; ms: number }[];
    /** Sums over files: importing them, their tests and hooks, the tests alone (the rest of `testsMs` is hooks). */
    collectMsTotal?: number;
    testsAndHooksMsTotal?: number;
    testMsTotal: number;
    targetMet: boolean;
}

/** The part of vitest's JSON report read here (jest's format). */
interface JsonReport {
    numTotalTests: number;
    numPassedTests: number;
    numFailedTests: number;
    numPendingTests: number;
    numTodoTests: number;
    success: boolean;
    testResults: {
        name: string;
        status: string;
        message: string;
        startTime: number;
        endTime: number;
        assertionResults: { fullName: string; status: string; duration?: number | null }[];
    }[];
}

const ROOT = path.resolve(__dirname, "..");
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** "1.23s", "456ms", "2m 3s" (vitest's formatTime) to milliseconds. */
function parseTime(text: string): number {
    let ms = 0;
    for (const [, value, unit] of text.matchAll(/([\d.]+)\s*(ms|s|m|h)/g)) {
        ms += Number(value) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit as "ms" | "s" | "m" | "h"];
    }
    return ms;
}

/** The phases of the default reporter's "Duration 12.3s (transform 1s, setup 0ms, …)" line, if printed. */
export function parseDurationLine(output: string): VitestPhases | undefined {
    const plain = output.replace(/\u001b\[[0-9;]*m/g, "");
    const match = /Duration\s+(.+?)\s+\((.+)\)/.exec(plain);
    if (!match) {
        return undefined;
    }
    const phase = (name: string): number => {
        const m = new RegExp(`${name}\\s+([^,]+)`).exec(match[2]);
        return m ? parseTime(m[1]) : 0;
    };
    return {
        durationMs: parseTime(match[1]),
        transformMs: phase("transform"),
        setupMs: phase("setup"),
        collectMs: phase("collect"),
        testsMs: phase("tests"),
        environmentMs: phase("environment"),
        prepareMs: phase("prepare"),
    };
}

export function unitSuiteBench(): UnitSuiteFigures {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "unit-suite-"));
    const reportFile = path.join(tmp, "report.json");
    const phasesFile = path.join(tmp, "phases.json");
    const phasesReporter = path.join(__dirname, "unit-suite-reporter.ts");
    try {
        const start = process.hrtime.bigint();
        const r = spawnSync(
            path.join(ROOT, "node_modules", ".bin", "vitest"),
            ["run", "--project", "unit", "--reporter=default", "--reporter=json", `--reporter=${phasesReporter}`, `--outputFile.json=${reportFile}`],
            {
                cwd: ROOT,
                encoding: "utf8",
                maxBuffer: 256 * 1024 * 1024,
                env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0", UNIT_SUITE_PHASES_FILE: phasesFile },
            },
        );
        const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
        if (r.error) {
            throw r.error;
        }
        if (!fs.existsSync(reportFile)) {
            throw new Error(`unit suite: vitest wrote no report (exit ${r.status})\n${r.stdout}${r.stderr}`);
        }
        const report = JSON.parse(fs.readFileSync(reportFile, "utf8")) as JsonReport;
        const phases = fs.existsSync(phasesFile) ? (JSON.parse(fs.readFileSync(phasesFile, "utf8")) as FilePhases[]) : undefined;
        const phasesOf = new Map((phases ?? []).map((p) => [p.moduleId, p]));
        const files = report.testResults.map((f) => {
            const p = phasesOf.get(f.name);
            return {
                file: path.relative(ROOT, f.name),
                ms: p ? p.environmentMs + p.prepareMs + p.setupMs + p.collectMs + p.testsMs : Math.max(0, f.endTime - f.startTime),
                collectMs: p?.collectMs,
                testsMs: p?.testsMs,
                tests: f.assertionResults.length,
            };
        });
        const tests = report.testResults.flatMap((f) =>
            f.assertionResults.map((t) => ({ file: path.relative(ROOT, f.name), test: t.fullName, ms: t.duration ?? 0 })),
        );
        const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
        const figures: UnitSuiteFigures = {
            cpus: os.availableParallelism(),
            wallMs,
            files: files.length,
            tests: report.numTotalTests,
            passed: report.numPassedTests,
            failed: report.numFailedTests,
            skipped: report.numPendingTests + report.numTodoTests,
            phases: parseDurationLine(r.stdout + r.stderr),
            slowestFiles: [...files].sort((a, b) => b.ms - a.ms).slice(0, 10),
            slowestTests: [...tests].sort((a, b) => b.ms - a.ms).slice(0, 10),
            collectMsTotal: phases && sum(phases.map((p) => p.collectMs)),
            testsAndHooksMsTotal: phases && sum(phases.map((p) => p.testsMs)),
            testMsTotal: sum(tests.map((t) => t.ms)),
            targetMet: wallMs <= UNIT_SUITE_TARGET_MS,
        };
        printFigures(figures);
        // Figures first, so a failed run still shows where its time went.
        const failedFiles = report.testResults.filter((f) => f.status !== "passed" && f.status !== "skipped");
        if (r.status !== 0 || !report.success || report.numFailedTests > 0 || failedFiles.length > 0) {
            const names = failedFiles
                .flatMap((f) => {
                    const failedTests = f.assertionResults.filter((t) => t.status === "failed").map((t) => t.fullName);
                    return failedTests.length > 0 ? failedTests.map((t) => `  ${path.relative(ROOT, f.name)} > ${t}`) : [`  ${path.relative(ROOT, f.name)}: ${f.message.split("\n")[0]}`];
                })
                .join("\n");
            throw new Error(
                `unit suite failed (exit ${r.status}, ${report.numFailedTests} failed tests, ${failedFiles.length} failed files)\n${names}\n` +
                    `${r.stdout.slice(-20_000)}${r.stderr.slice(-5_000)}`,
            );
        }
        return figures;
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
}

function printFigures(f: UnitSuiteFigures): void {
    console.log(`\nunit suite (vitest --project unit, one run) on ${f.cpus} CPUs`);
    console.log(
        `wall ${seconds(f.wallMs)}, ${f.files} files, ${f.tests} tests (${f.passed} passed, ${f.failed} failed, ${f.skipped} skipped)`,
    );
    const p = f.phases;
    if (p) {
        console.log(
            `vitest: duration ${seconds(p.durationMs)}; summed over workers: transform ${seconds(p.transformMs)}, setup ${seconds(p.setupMs)}, ` +
                `collect ${seconds(p.collectMs)} (imports), tests ${seconds(p.testsMs)}, environment ${seconds(p.environmentMs)}, prepare ${seconds(p.prepareMs)}`,
        );
    } else {
        console.log("vitest: no Duration line in its output (phase split unavailable)");
    }
    if (f.collectMsTotal !== undefined && f.testsAndHooksMsTotal !== undefined) {
        console.log(
            `summed over files: importing ${seconds(f.collectMsTotal)}, tests and hooks ${seconds(f.testsAndHooksMsTotal)} ` +
                `(tests alone ${seconds(f.testMsTotal)}, hooks ${seconds(Math.max(0, f.testsAndHooksMsTotal - f.testMsTotal))})`,
        );
    } else {
        console.log(`summed over files: tests alone ${seconds(f.testMsTotal)} (no per-file phases: the phases reporter wrote nothing)`);
    }
    console.log("slowest files (all phases; import = collect):");
    for (const file of f.slowestFiles) {
        const split = file.collectMs !== undefined && file.testsMs !== undefined ? `  import ${seconds(file.collectMs).padStart(7)}  tests+hooks ${seconds(file.testsMs).padStart(7)}` : "";
        console.log(`  ${seconds(file.ms).padStart(8)}${split}  ${String(file.tests).padStart(4)} tests  ${file.file}`);
    }
    console.log("slowest tests:");
    for (const t of f.slowestTests) {
        console.log(`  ${seconds(t.ms).padStart(8)}  ${t.file} > ${t.test}`);
    }
    const cores = f.cpus === 2 ? "" : ` (this machine has ${f.cpus} CPUs; the target is for 2)`;
    console.log(
        `target <= ${seconds(UNIT_SUITE_TARGET_MS)} on 2 cores: ${f.targetMet ? "met" : "not met"} (${seconds(f.wallMs)})${cores}`,
    );
}
