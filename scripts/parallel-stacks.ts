/**
 * Runs one command per stack (a `pulumi preview` or `up`) with at most
 * `workers` at a time, keeps each stack's output together, and ends with one
 * summary. Used by `./platform stacks` (scripts/stacks.ts), the GitLab
 * pipeline for the affected stacks, and `pnpm bench`.
 *
 * Stacks run in separate processes and each takes its own backend lock, so
 * parallel runs of different stacks never touch each other's state; the
 * `pulumi` CLI reads but does not write the workspace's current stack when
 * given `--stack`.
 */
import { ChildProcess, spawn } from "node:child_process";

import { policyArgs, publishUpEvent, publishWarning, StackOperation, stackCommandArgs } from "./stack-lifecycle";

export interface StackTask {
    stack: string;
    command: string;
    args: string[];
    cwd: string;
    env: NodeJS.ProcessEnv;
    /**
     * Runs once the command succeeded (an up's change event); what it returns,
     * or the message it fails with, is added to the stack's output.
     */
    afterSuccess?: () => Promise<string>;
}

export interface StackResult {
    stack: string;
    /** Exit code; -1 when the process could not start or was killed by a signal. */
    status: number;
    ms: number;
    /** stdout and stderr, interleaved as written. */
    output: string;
}

export interface RunOptions {
    /** Most processes at a time (at least 1). */
    workers: number;
    /** Called as each stack finishes, in finishing order (print its output here). */
    onDone?: (result: StackResult) => void;
    /** When aborted, running processes get SIGINT (pulumi then cancels and releases its lock) and no new one starts. */
    signal?: AbortSignal;
}

export interface RunSummary {
    results: StackResult[];
    wallMs: number;
    /** The most processes that ran at once. */
    peak: number;
}

function runOne(task: StackTask, started: (child: ChildProcess) => void): Promise<StackResult> {
    const start = process.hrtime.bigint();
    const elapsed = () => Number(process.hrtime.bigint() - start) / 1e6;
    return new Promise((resolve) => {
        const child = spawn(task.command, task.args, { cwd: task.cwd, env: task.env, stdio: ["ignore", "pipe", "pipe"] });
        started(child);
        let output = "";
        child.stdout.on("data", (d: Buffer) => (output += d.toString()));
        child.stderr.on("data", (d: Buffer) => (output += d.toString()));
        child.on("error", (e) => resolve({ stack: task.stack, status: -1, ms: elapsed(), output: `${output}${e.message}\n` }));
        child.on("close", (code) => resolve({ stack: task.stack, status: code ?? -1, ms: elapsed(), output }));
    });
}

/** Runs every task, at most `workers` at once; results come back in the tasks' order. */
export async function runStacks(tasks: StackTask[], options: RunOptions): Promise<RunSummary> {
    const workers = Math.max(1, Math.floor(options.workers));
    const results: StackResult[] = new Array(tasks.length);
    const running = new Set<ChildProcess>();
    let next = 0;
    let peak = 0;
    const start = process.hrtime.bigint();
    const abort = () => running.forEach((child) => child.kill("SIGINT"));
    options.signal?.addEventListener("abort", abort);

    const worker = async () => {
        while (next < tasks.length) {
            const index = next++;
            const task = tasks[index];
            if (options.signal?.aborted) {
                results[index] = { stack: task.stack, status: -1, ms: 0, output: "not started: cancelled\n" };
                continue;
            }
            let child: ChildProcess | undefined;
            const result = await runOne(task, (c) => {
                child = c;
                running.add(c);
                peak = Math.max(peak, running.size);
            });
            if (child) {
                running.delete(child);
            }
            if (result.status === 0 && task.afterSuccess) {
                // The command's result stands whatever the step after it does.
                result.output += await task.afterSuccess().catch((e: unknown) => `${e instanceof Error ? e.message : String(e)}\n`);
            }
            results[index] = result;
            options.onDone?.(result);
        }
    };
    await Promise.all(Array.from({ length: Math.min(workers, tasks.length) }, worker));
    options.signal?.removeEventListener("abort", abort);
    return { results, wallMs: Number(process.hrtime.bigint() - start) / 1e6, peak };
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The closing summary: one line per stack, then the totals. */
export function formatSummary(operation: string, summary: RunSummary, workers: number): string {
    const width = Math.max(5, ...summary.results.map((r) => r.stack.length));
    const failed = summary.results.filter((r) => r.status !== 0);
    const lines = [
        `${operation} of ${summary.results.length} stack(s), ${workers} worker(s), ${seconds(summary.wallMs)} in all:`,
        ...summary.results.map(
            (r) => `  ${r.stack.padEnd(width)}  ${r.status === 0 ? "ok    " : "FAILED"}  ${seconds(r.ms).padStart(7)}${r.status === 0 ? "" : `  (exit ${r.status})`}`,
        ),
        `${summary.results.length - failed.length} ok, ${failed.length} failed`,
    ];
    return lines.join("\n");
}

/** The block printed for one finished stack: a header, then its whole output. */
export function formatStackOutput(operation: string, result: StackResult): string {
    const state = result.status === 0 ? "ok" : `FAILED (exit ${result.status})`;
    return `\n===== ${operation} ${result.stack}: ${state}, ${seconds(result.ms)}\n${result.output.trimEnd()}\n`;
}

// Kept importable from here for scripts/capture-preview-fixtures.ts.
export { policyArgs };

export interface PulumiTaskOptions {
    projectDir: string;
    env: NodeJS.ProcessEnv;
    /** More pulumi flags (after the project's own). */
    extraArgs?: readonly string[];
    /** A terminal is attached (`./platform up|preview|refresh`): pulumi may ask and draw progress. Default: no. */
    interactive?: boolean;
}

/**
 * One stack operation, as every path runs it (`./platform up|preview|refresh`
 * through scripts/cli/run-stack.ts, `./platform stacks`, CI): the arguments of
 * stackCommandArgs (the policy pack on every preview and up, no option turns
 * it off), and after a successful up its change event (scripts/stack-lifecycle.ts).
 */
export function pulumiTask(operation: StackOperation, stack: string, options: PulumiTaskOptions): StackTask {
    const afterSuccess =
        operation === "up"
            ? () => publishUpEvent(stack, { projectDir: options.projectDir, env: options.env }).catch(publishWarning)
            : undefined;
    return {
        stack,
        command: "pulumi",
        args: stackCommandArgs(operation, stack, options.projectDir, options.extraArgs ?? [], options.interactive ?? false),
        cwd: options.projectDir,
        env: options.env,
        ...(afterSuccess ? { afterSuccess } : {}),
    };
}
