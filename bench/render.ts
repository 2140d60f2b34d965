/**
 * The real platform: the `local` stack in render mode on the real upstream
 * charts (the offline mirror of test/helpers/real-charts.ts), side by side:
 *
 * (a) warm `pulumi preview` with the policy pack (a second and later run in
 *     the same project copy), median of BENCH_RUNS (default 3), after one
 *     cold run that is shown but not counted;
 * (b) `pulumi up --yes --skip-preview` with the policy pack into a fresh stack
 *     (a new file backend each run, in the same, warm, project copy), median
 *     of BENCH_UP_RUNS (default 1), and the resources in state afterwards
 *     (test/helpers/engine.ts runs a render as ./platform up does, without
 *     per-step checkpoints; with BENCH_WITH_CHECKPOINTS=1, also the same up
 *     with them, as an apply keeps them: the whole state written after
 *     every step, not once at the end);
 * (c) the same charts rendered alone by Helm (toolchain/helm-render: the
 *     Helm library the kubernetes provider links, client-side, Kubernetes
 *     1.35), with the values the program passes, collected under Pulumi's
 *     mocks: the lower bound, no engine, no Node.js.
 *
 * Usage (from bench/index.ts, inside the project's environment):
 *   await realPlatformBench();                 // prints its tables
 * This file is also the child process that collects the charts' inputs:
 *   node --import tsx bench/render.ts collect <mirror> <renderDir>
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseAllDocuments } from "yaml";

import { resolveChartSource } from "../components/shared/chart";
import { PLATFORM_CHARTS } from "../components/upstream";
import { readStackFile } from "../environments/stack-file";
import { fileBackendUrl } from "../scripts/stack-settings";
import { unwrapSecrets } from "../test/helpers/chart-values";
import { createEngineProject, EngineProject, PulumiResult, readTree, REPO_ROOT, requirePulumi } from "../test/helpers/engine";
import { defaultTestChartMirror } from "../test/helpers/real-charts";

/** The figures' targets, on 2 cores. */
export const PREVIEW_TARGET_MS = 60_000;
export const UP_TARGET_MS = 90_000;

const CHART_TYPE = "kubernetes:helm.sh/v4:Chart";
const POLICY_PACK = ["--policy-pack", "policies", "--policy-pack-config", "policies/config/local.json"];
/** Kubernetes version the charts are rendered for: the provider's render-mode default (toolchain/ensure.sh). */
const KUBE_VERSION = "1.35";

/** One chart the program installs, as helm-render reads it. */
export interface ChartInput {
    /** The Pulumi resource name of the chart. */
    resource: string;
    /** The packaged chart in the mirror. */
    chart: string;
    release: string;
    namespace: string;
    values: unknown;
}

/** What helm-render prints. */
interface HelmRenderOutput {
    kubeVersion: string;
    charts: { release: string; namespace: string; chart: string; objects: number; loadMs: number; renderMs: number; ms: number }[];
    objects: number;
    ms: number;
}

export interface UpFigures {
    ms: number[];
    medianMs: number;
    resources: number;
    kubernetesObjects: number;
    renderedObjects: number;
}

export interface RealPlatformFigures {
    cpus: number;
    charts: number;
    /** (a): the first, cold, run and the warm runs. */
    preview: { coldMs: number; warmMs: number[]; medianMs: number; toCreate?: number };
    /** (b): each run into a fresh stack; resources in state and objects in the render directory after the last. */
    up: UpFigures;
    /** (b) with per-step checkpoints (PULUMI_SKIP_CHECKPOINTS=false), when BENCH_WITH_CHECKPOINTS=1. */
    upWithCheckpoints?: UpFigures;
    /** (c): helm-render's wall time per run (process included) and its own total. */
    render: { wallMs: number[]; medianMs: number; inProcessMs: number; objects: number; perChart: HelmRenderOutput["charts"] };
}

function median(values: number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const progress = (text: string) => console.error(`[bench render] ${text}`);

/** The plain (non-secure) config of the committed local stack file, as Pulumi passes it (YAML numbers and booleans as text). */
function localStackConfig(): Record<string, string> {
    const config = readStackFile(REPO_ROOT, "local")?.config ?? {};
    return Object.fromEntries(Object.entries(config).filter((e): e is [string, string] => typeof e[1] === "string"));
}

/**
 * Every chart the local stack installs in render mode, with its values exactly
 * as the program passes them: the environment built under Pulumi's mocks (as
 * test/unit/chart-values.test.ts does), each `helm.v4.Chart` mapped to its
 * packaged chart in the mirror. Runs in this (child) process: the mock
 * runtime is process-wide.
 */
async function collectCharts(mirror: string, renderDir: string): Promise<ChartInput[]> {
    const { setupMocks, settle } = await import("../test/helpers/mocks");
    const session = await setupMocks({
        project: "platform",
        stack: "local",
        config: {
            ...localStackConfig(),
            // The engine runs' settings (test/engine/local-stack.test.ts): no cluster, so render.
            "platform:kubernetesTarget": "render",
            "platform:renderDirectory": renderDir,
            "platform:chartMirror": mirror,
        },
    });
    // Pulumi stacks a `new Error().stack` onto every promise it makes; the figures need none.
    Error.stackTraceLimit = 0;
    const { runEnvironment } = await import("../environments");
    await runEnvironment();
    await settle(session);
    return session.ofType(CHART_TYPE).map((r) => {
        const chart = PLATFORM_CHARTS.find((c) => resolveChartSource(c, mirror).chart === r.inputs.chart);
        if (!chart || typeof r.inputs.chart !== "string" || !r.inputs.chart.endsWith(".tgz")) {
            throw new Error(`chart ${r.name} installs ${String(r.inputs.chart)}, which is no packaged chart of PLATFORM_CHARTS in ${mirror}`);
        }
        const release = typeof r.inputs.name === "string" && r.inputs.name !== "" ? r.inputs.name : r.name;
        const namespace = typeof r.inputs.namespace === "string" ? r.inputs.namespace : "default";
        return { resource: r.name, chart: r.inputs.chart, release, namespace, values: unwrapSecrets(r.inputs.values ?? {}) };
    });
}

/** Runs `collectCharts` in a child process (the mock runtime would stay in this one). */
function chartInputs(mirror: string, workDir: string): ChartInput[] {
    const r = spawnSync(process.execPath, ["--import", "tsx", __filename, "collect", mirror, path.join(workDir, "rendered-under-mocks")], {
        cwd: REPO_ROOT,
        encoding: "utf8",
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, KUBECONFIG: path.join(workDir, "no-kubeconfig") },
    });
    if (r.status !== 0) {
        throw new Error(`collecting the charts' values under mocks failed:\n${r.stderr}`);
    }
    return JSON.parse(r.stdout.trim().split("\n").pop() ?? "[]") as ChartInput[];
}

/** toolchain/ensure-helm-render.sh: builds helm-render when missing, prints its path. */
function helmRenderBinary(): string {
    const r = spawnSync(path.join(REPO_ROOT, "toolchain", "ensure-helm-render.sh"), [], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    if (r.status !== 0) {
        throw new Error("toolchain/ensure-helm-render.sh failed (see above)");
    }
    return r.stdout.trim();
}

function renderAlone(binary: string, inputFile: string, runs: number): RealPlatformFigures["render"] {
    const walls: number[] = [];
    const outputs: HelmRenderOutput[] = [];
    for (let i = 0; i < runs; i++) {
        const start = process.hrtime.bigint();
        const r = spawnSync(binary, [inputFile, KUBE_VERSION], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
        walls.push(Number(process.hrtime.bigint() - start) / 1e6);
        if (r.status !== 0) {
            throw new Error(`helm-render failed:\n${r.stderr}`);
        }
        outputs.push(JSON.parse(r.stdout) as HelmRenderOutput);
    }
    const medianMs = median(walls);
    const typical = outputs[walls.indexOf(medianMs)];
    return { wallMs: walls, medianMs, inProcessMs: typical.ms, objects: typical.objects, perChart: typical.charts };
}

function check(what: string, r: PulumiResult): PulumiResult {
    if (r.status !== 0) {
        throw new Error(`${what} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
    }
    return r;
}

function timed(run: () => PulumiResult, what: string): { ms: number; result: PulumiResult } {
    const start = process.hrtime.bigint();
    const result = check(what, run());
    return { ms: Number(process.hrtime.bigint() - start) / 1e6, result };
}

/** The local stack in a project copy, as test/engine/local-stack.test.ts sets it up. */
function localProject(mirror: string): EngineProject {
    const project = createEngineProject();
    check("pulumi stack init local", project.pulumi(["stack", "init", "local"]));
    project.setConfig("local", "platform:renderDirectory", project.renderDir);
    project.setConfig("local", "platform:chartMirror", mirror);
    return project;
}

function previews(project: EngineProject, runs: number): RealPlatformFigures["preview"] {
    const args = ["preview", "--stack", "local", ...POLICY_PACK];
    progress("preview: cold run (not counted)");
    const cold = timed(() => project.pulumi(args), "cold preview of local");
    progress(`preview: cold ${seconds(cold.ms)}`);
    const warm: number[] = [];
    let last = cold.result;
    for (let i = 0; i < runs; i++) {
        const run = timed(() => project.pulumi(args), "warm preview of local");
        progress(`preview: warm run ${i + 1}/${runs} ${seconds(run.ms)}`);
        warm.push(run.ms);
        last = run.result;
    }
    const toCreate = /\+\s+(\d+)\s+to create/.exec(last.stdout)?.[1];
    return { coldMs: cold.ms, warmMs: warm, medianMs: median(warm), toCreate: toCreate === undefined ? undefined : Number(toCreate) };
}

interface StateResource {
    type: string;
}

function renderedObjectCount(dir: string): number {
    let n = 0;
    for (const text of readTree(dir).values()) {
        n += parseAllDocuments(text).filter((d) => d.contents !== null).length;
    }
    return n;
}

/** `up --skip-preview` into a fresh stack (a new, empty file backend) each run, in the warm project copy. */
function ups(project: EngineProject, runs: number, extraEnv: NodeJS.ProcessEnv = {}): UpFigures {
    const root = path.dirname(project.dir);
    const ms: number[] = [];
    let state: StateResource[] = [];
    for (let i = 0; i < runs; i++) {
        const backend = fs.mkdtempSync(path.join(root, "state-up-"));
        const env = { ...extraEnv, PULUMI_BACKEND_URL: fileBackendUrl(backend) };
        check("pulumi stack init local (fresh backend)", project.pulumi(["stack", "init", "local"], env));
        fs.rmSync(project.renderDir, { recursive: true, force: true });
        const label = `up${extraEnv.PULUMI_SKIP_CHECKPOINTS === "false" ? " with checkpoints" : ""}: run ${i + 1}/${runs}`;
        progress(label);
        const run = timed(() => project.pulumi(["up", "--yes", "--skip-preview", "--stack", "local", ...POLICY_PACK], env), "up of local");
        progress(`${label} ${seconds(run.ms)}`);
        ms.push(run.ms);
        const exported = JSON.parse(check("pulumi stack export", project.pulumi(["stack", "export", "--stack", "local"], env)).stdout) as {
            deployment?: { resources?: StateResource[] };
        };
        state = exported.deployment?.resources ?? [];
    }
    const kubernetesObjects = state.filter(
        (r) => r.type.startsWith("kubernetes:") && !r.type.startsWith("kubernetes:helm.sh/") && !r.type.startsWith("kubernetes:yaml/") && !r.type.startsWith("pulumi:providers:"),
    ).length;
    return { ms, medianMs: median(ms), resources: state.length, kubernetesObjects, renderedObjects: renderedObjectCount(project.renderDir) };
}

function targetCell(ms: number, target: number): string {
    return `<= ${target / 1000} s ${ms <= target ? "ok" : "OVER"}`;
}

function printTables(f: RealPlatformFigures, previewRuns: number, upRuns: number, renderRuns: number): void {
    console.log(`\nthe real platform: local stack, render mode, real charts (${f.charts} charts), policy pack; ${f.cpus} CPUs, load ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`);
    const upResources = (u: UpFigures) => `${u.resources} in state (${u.kubernetesObjects} k8s objects; ${u.renderedObjects} rendered)`;
    const rows: [string, string, string, string, string][] = [
        ["figure", "median ms", "runs", "target", "resources"],
        [
            "(a) warm preview",
            f.preview.medianMs.toFixed(0),
            String(previewRuns),
            targetCell(f.preview.medianMs, PREVIEW_TARGET_MS),
            f.preview.toCreate === undefined ? "" : `${f.preview.toCreate} to create`,
        ],
        ["    cold preview (first run, not counted)", f.preview.coldMs.toFixed(0), "1", "", ""],
        [
            "(b) up --skip-preview, fresh stack",
            f.up.medianMs.toFixed(0),
            String(upRuns),
            targetCell(f.up.medianMs, UP_TARGET_MS),
            upResources(f.up),
        ],
        ...(f.upWithCheckpoints
            ? [
                  [
                      "    the same, with per-step checkpoints",
                      f.upWithCheckpoints.medianMs.toFixed(0),
                      String(upRuns),
                      "",
                      upResources(f.upWithCheckpoints),
                  ] as [string, string, string, string, string],
              ]
            : []),
        ["(c) charts alone (helm-render, no engine)", f.render.medianMs.toFixed(0), String(renderRuns), "lower bound", `${f.render.objects} objects`],
    ];
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    for (const r of rows) {
        console.log(r.map((cell, i) => (i === 1 || i === 2 ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join("  ").trimEnd());
    }
    console.log(
        `runs (ms): preview ${f.preview.warmMs.map((t) => t.toFixed(0)).join(", ")}; up ${f.up.ms.map((t) => t.toFixed(0)).join(", ")}; ` +
            (f.upWithCheckpoints ? `up with checkpoints ${f.upWithCheckpoints.ms.map((t) => t.toFixed(0)).join(", ")}; ` : "") +
            `render ${f.render.wallMs.map((t) => t.toFixed(0)).join(", ")} (in-process ${f.render.inProcessMs.toFixed(0)})`,
    );
    console.log(`\ncharts rendered alone (helm-render, Kubernetes ${KUBE_VERSION}; the median run)`);
    const name = Math.max(7, ...f.render.perChart.map((c) => `${c.namespace}/${c.release}`.length));
    const chart = Math.max(5, ...f.render.perChart.map((c) => c.chart.length));
    console.log(`${"release".padEnd(name)}  ${"chart".padEnd(chart)}  ${"objects".padStart(7)}  ${"load ms".padStart(7)}  ${"render ms".padStart(9)}`);
    for (const c of [...f.render.perChart].sort((a, b) => b.ms - a.ms)) {
        console.log(
            `${`${c.namespace}/${c.release}`.padEnd(name)}  ${c.chart.padEnd(chart)}  ${String(c.objects).padStart(7)}  ${c.loadMs.toFixed(0).padStart(7)}  ${c.renderMs.toFixed(0).padStart(9)}`,
        );
    }
}

export interface RealPlatformOptions {
    /** Warm previews counted. Default: BENCH_RUNS, else 3. */
    previewRuns?: number;
    /** Ups into a fresh stack. Default: BENCH_UP_RUNS, else 1. */
    upRuns?: number;
    /** helm-render runs. Default: BENCH_RUNS, else 3. */
    renderRuns?: number;
    /** Also time the up with per-step checkpoints. Default: BENCH_WITH_CHECKPOINTS=1. */
    withCheckpoints?: boolean;
}

export async function realPlatformBench(options: RealPlatformOptions = {}): Promise<RealPlatformFigures> {
    requirePulumi();
    const previewRuns = options.previewRuns ?? Number(process.env.BENCH_RUNS ?? 3);
    const upRuns = options.upRuns ?? Number(process.env.BENCH_UP_RUNS ?? 1);
    const renderRuns = options.renderRuns ?? Number(process.env.BENCH_RUNS ?? 3);
    const mirror = defaultTestChartMirror();
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-render-"));
    try {
        // (c) first: it is quick, and fails early when a chart does not render.
        const binary = helmRenderBinary();
        progress("collecting the charts' values under mocks");
        const inputs = chartInputs(mirror, workDir);
        const inputFile = path.join(workDir, "charts.json");
        fs.writeFileSync(inputFile, JSON.stringify(inputs));
        progress(`rendering ${inputs.length} charts with ${binary}`);
        const render = renderAlone(binary, inputFile, renderRuns);

        const project = localProject(mirror);
        try {
            const preview = previews(project, previewRuns);
            const up = ups(project, upRuns);
            const checkpoints = options.withCheckpoints ?? process.env.BENCH_WITH_CHECKPOINTS === "1";
            const upWithCheckpoints = checkpoints ? ups(project, upRuns, { PULUMI_SKIP_CHECKPOINTS: "false" }) : undefined;
            const figures: RealPlatformFigures = { cpus: os.availableParallelism(), charts: inputs.length, preview, up, upWithCheckpoints, render };
            printTables(figures, previewRuns, upRuns, renderRuns);
            return figures;
        } finally {
            project.cleanup();
        }
    } finally {
        fs.rmSync(workDir, { recursive: true, force: true });
    }
}

async function collectMain(mirror: string | undefined, renderDir: string | undefined): Promise<void> {
    if (!mirror || !renderDir) {
        throw new Error("usage: render.ts collect <mirror> <renderDir>");
    }
    const charts = await collectCharts(mirror, renderDir);
    process.stdout.write(`${JSON.stringify(charts)}\n`);
    // The mock runtime keeps handles open; the inputs are out, leave now.
    process.exit(0);
}

if (require.main === module && process.argv[2] === "collect") {
    collectMain(process.argv[3], process.argv[4]).catch((e: unknown) => {
        console.error(e instanceof Error ? e.message : String(e));
        process.exit(1);
    });
}
