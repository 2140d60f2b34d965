/**
 * Benchmarks that print figures (run with `pnpm bench` inside the project's
 * environment, e.g. `./platform pulumi version >/dev/null && eval "$(./platform env)" && pnpm bench`).
 *
 * 1. Cold `pulumi preview` of the local stack through the real engine, with the
 *    program run by tsx (the project's choice) and by ts-node (Pulumi's default,
 *    which type-checks), side by side.
 * 2. Cold start and RSS of every environment's program under Pulumi's mocks
 *    (no engine), with submodule imports (the project's code) and with the
 *    root packages loaded as root imports would.
 * 3. The policy pack's evaluation, in-process; previews of several stacks,
 *    one after another and in parallel (bench/parallel-stacks.ts).
 * 4. The real platform (bench/render.ts): warm preview and render-mode up of
 *    the local stack on the real charts with the policy pack, against the
 *    same charts rendered alone by Helm (the lower bound).
 * 5. The unit suite (bench/unit-suite.ts): one run of the `unit` vitest
 *    project, its phases and slowest files, against its target (<= 60 s on
 *    2 cores; a miss is reported, failing tests fail the bench).
 * 6. The environment manager (manager/bench/, run as child processes: the
 *    manager is its own package, module nodenext, not compiled with this
 *    tsconfig): its REST API under read load on both stores (api.ts: p50/p99
 *    of list, get and search against their targets), and its command queue's
 *    throughput through a real RabbitMQ broker (queue.ts: commands per minute
 *    at runner concurrency 2 and 4).
 *
 * Every engine run reads the real upstream charts from the offline mirror
 * (test/helpers/real-charts.ts: PLATFORM_CHART_MIRROR, else ../shared/charts).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

import { createEngineProject, requirePulumi } from "../test/helpers/engine";
import { defaultTestChartMirror } from "../test/helpers/real-charts";
import { parallelStacksBench } from "./parallel-stacks";
import { policyEvaluation } from "./policy-evaluation";
import { realPlatformBench } from "./render";
import { unitSuiteBench } from "./unit-suite";

const RUNS = Number(process.env.BENCH_RUNS ?? 3);

function median(values: number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
}

function editFile(file: string, edit: (text: string) => string): void {
    fs.writeFileSync(file, edit(fs.readFileSync(file, "utf8")));
}

/**
 * Runs the program through ts-node instead of tsx, in a project copy.
 * Pulumi's runner reads only tsconfig.json's own compilerOptions (not its
 * `extends`) and then defaults `module` to nodenext, which keeps the
 * program's `await import("./templates/local")` as a native ESM import
 * (extensionless: not found); the copy's tsconfig.json gets the base's
 * module settings, the ones tsc checks the project with.
 */
function useTsNode(projectDir: string): void {
    editFile(path.join(projectDir, "Pulumi.yaml"), (text) => text.replace("typescript: false", "typescript: true").replace(/\n\s+nodeargs: .*\n/, "\n"));
    const base = JSON.parse(fs.readFileSync(path.join(projectDir, "tsconfig.base.json"), "utf8")) as { compilerOptions: Record<string, unknown> };
    editFile(path.join(projectDir, "tsconfig.json"), (text) => {
        const config = JSON.parse(text) as { compilerOptions?: Record<string, unknown> };
        const { module, moduleResolution } = base.compilerOptions;
        return JSON.stringify({ ...config, compilerOptions: { ...config.compilerOptions, module, moduleResolution } }, null, 2);
    });
}

function timePreview(label: string, projectEdit?: (projectDir: string) => void): number {
    const project = createEngineProject({ withPolicies: false });
    try {
        projectEdit?.(project.dir);
        const init = project.pulumi(["stack", "init", "local"]);
        if (init.status !== 0) {
            throw new Error(init.stderr);
        }
        // Offline: the real charts from the mirror, rendered (no cluster), as the engine tests do.
        project.setConfig("local", "platform:renderDirectory", project.renderDir);
        project.setConfig("local", "platform:chartMirror", defaultTestChartMirror());
        const times: number[] = [];
        for (let i = 0; i < RUNS; i++) {
            const start = process.hrtime.bigint();
            const r = project.pulumi(["preview", "--stack", "local"]);
            const ms = Number(process.hrtime.bigint() - start) / 1e6;
            if (r.status !== 0) {
                throw new Error(`${label}: preview failed\n${r.stdout}${r.stderr}`);
            }
            times.push(ms);
        }
        const m = median(times);
        console.log(`${label.padEnd(44)} median ${m.toFixed(0).padStart(6)} ms  (runs: ${times.map((t) => t.toFixed(0)).join(", ")})`);
        return m;
    } finally {
        project.cleanup();
    }
}

interface MockFigures {
    wallMs: number;
    evalMs: number;
    rssMiB: number;
    modules: number;
}

/** Cold start of one environment under mocks, in a fresh node process per run (module loading is the cost). */
function mockEvaluation(environment: string, imports: "submodules" | "root"): MockFigures {
    const script = path.join(__dirname, "mock-evaluation.ts");
    const walls: number[] = [];
    const evals: number[] = [];
    let rss = 0;
    let modules = 0;
    for (let i = 0; i < RUNS; i++) {
        const start = process.hrtime.bigint();
        const r = spawnSync(process.execPath, ["--import", "tsx", script, environment, imports], {
            encoding: "utf8",
            cwd: path.resolve(__dirname, ".."),
        });
        walls.push(Number(process.hrtime.bigint() - start) / 1e6);
        if (r.status !== 0) {
            throw new Error(r.stderr);
        }
        const result = JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}") as { ms: number; rssMiB: number; modules: number };
        evals.push(result.ms);
        rss = Math.max(rss, result.rssMiB);
        modules = result.modules;
    }
    return { wallMs: median(walls), evalMs: median(evals), rssMiB: rss, modules };
}

/** The manager's benchmarks, each in a node process of its own with this one's output; a failing one fails the bench. */
function managerBench(): void {
    for (const script of ["api.ts", "queue.ts"]) {
        console.log(`\nmanager/bench/${script}`);
        const r = spawnSync(process.execPath, ["--import", "tsx", path.join("manager", "bench", script)], { cwd: path.resolve(__dirname, ".."), stdio: "inherit" });
        if (r.status !== 0) {
            throw new Error(`manager/bench/${script} failed (${r.error?.message ?? `exit ${r.status ?? r.signal}`})`);
        }
    }
}

function coldStartTable(): void {
    console.log("\ncold start under mocks (fresh process; median of runs; peak RSS)");
    console.log(`${"environment".padEnd(12)} ${"imports".padEnd(11)} ${"wall ms".padStart(8)} ${"eval ms".padStart(8)} ${"RSS MiB".padStart(8)} ${"modules".padStart(8)}`);
    for (const environment of ["local", "dev-aws", "dev-azure", "prod-aws", "prod-azure"]) {
        for (const imports of ["submodules", "root"] as const) {
            const f = mockEvaluation(environment, imports);
            console.log(
                `${environment.padEnd(12)} ${imports.padEnd(11)} ${f.wallMs.toFixed(0).padStart(8)} ${f.evalMs.toFixed(0).padStart(8)} ${f.rssMiB.toFixed(0).padStart(8)} ${String(f.modules).padStart(8)}`,
            );
        }
    }
}

async function policyTable(): Promise<void> {
    console.log("\npolicy pack evaluation (every policy, in-process)");
    await policyEvaluation(500); // warm-up: module loading and JIT
    const runs: Awaited<ReturnType<typeof policyEvaluation>>[] = [];
    for (let i = 0; i < RUNS; i++) {
        runs.push(await policyEvaluation(5000));
    }
    const per = median(runs.map((r) => r.perResourceMs));
    console.log(
        `5000 resources: median ${median(runs.map((r) => r.totalMs)).toFixed(0)} ms in all, ${per.toFixed(4)} ms per resource ` +
            `(target <= 1 ms), ${runs[0].violations} violations (expected 0)`,
    );
}

async function main(): Promise<void> {
    // BENCH_ONLY=engine,mocks,policies,parallel,render,unit,manager picks sections (default: all); mocks, policies and unit need no toolchain.
    const only = new Set((process.env.BENCH_ONLY ?? "engine,mocks,policies,parallel,render,unit,manager").split(","));
    console.log(`node ${process.version}, ${RUNS} runs each`);
    if (only.has("engine")) {
        requirePulumi();
        console.log(`pulumi ${spawnSync("pulumi", ["version"], { encoding: "utf8" }).stdout.trim()}`);
        const tsx = timePreview("cold preview of local, tsx (project default)");
        const tsNode = timePreview("cold preview of local, ts-node (type-checks)", useTsNode);
        console.log(`ts-node / tsx: ${(tsNode / tsx).toFixed(2)}x`);
    }
    if (only.has("mocks")) {
        coldStartTable();
    }
    if (only.has("policies")) {
        await policyTable();
    }
    if (only.has("parallel")) {
        requirePulumi();
        await parallelStacksBench();
    }
    if (only.has("render")) {
        await realPlatformBench();
    }
    if (only.has("unit")) {
        unitSuiteBench();
    }
    if (only.has("manager")) {
        managerBench();
    }
}

void main();
