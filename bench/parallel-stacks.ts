/**
 * Previewing several stacks one after another vs. in parallel (what
 * `./platform stacks preview --workers N` does), in the same run: four copies
 * of the local stack in a throwaway engine project, each preview with the
 * policy pack, after one warm-up preview that is not counted.
 *
 * Usage (from bench/index.ts, inside the project's environment):
 *   const figures = await parallelStacksBench();        // prints its table too
 */
import * as os from "node:os";

import { pulumiTask, runStacks, RunSummary } from "../scripts/parallel-stacks";
import { defaultTestChartMirror } from "../test/helpers/real-charts";
import { createEngineProject, requirePulumi } from "../test/helpers/engine";
import { writeLocalStacks } from "../test/helpers/local-stacks";

export interface ParallelStacksFigures {
    stacks: number;
    cpus: number;
    /** Wall time of all previews with one worker, and each stack's own time. */
    sequential: { ms: number; perStackMs: number[] };
    /** Wall time with 2, 4… workers; speedup = sequential / parallel. */
    parallel: { workers: number; ms: number; speedup: number; perStackMs: number[] }[];
}

export interface ParallelStacksOptions {
    /** How many copies of the local stack. Default: 4. */
    stacks?: number;
    /** Worker counts to compare with one worker. Default: [2, 4]. */
    workers?: number[];
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export async function parallelStacksBench(options: ParallelStacksOptions = {}): Promise<ParallelStacksFigures> {
    requirePulumi();
    const count = options.stacks ?? 4;
    const workerCounts = options.workers ?? [2, 4];
    const project = createEngineProject();
    try {
        const stacks = Array.from({ length: count }, (_, i) => (i === 0 ? "local" : `local-${i + 1}`));
        writeLocalStacks(project, stacks, defaultTestChartMirror());
        for (const stack of stacks) {
            const init = project.pulumi(["stack", "init", "--no-select", "--secrets-provider", "passphrase", stack]);
            if (init.status !== 0) {
                throw new Error(`stack init ${stack}: ${init.stderr}`);
            }
        }
        const tasks = stacks.map((stack) => pulumiTask("preview", stack, { projectDir: project.dir, env: project.env }));
        const run = async (workers: number, which = tasks): Promise<RunSummary> => {
            const summary = await runStacks(which, { workers });
            const failed = summary.results.find((r) => r.status !== 0);
            if (failed) {
                throw new Error(`preview of ${failed.stack} failed:\n${failed.output}`);
            }
            return summary;
        };

        await run(1, tasks.slice(0, 1)); // warm-up: file and tsx caches
        const sequential = await run(1);
        const parallel: ParallelStacksFigures["parallel"] = [];
        for (const workers of workerCounts) {
            const summary = await run(workers);
            parallel.push({ workers, ms: summary.wallMs, speedup: sequential.wallMs / summary.wallMs, perStackMs: summary.results.map((r) => r.ms) });
        }

        const figures: ParallelStacksFigures = {
            stacks: count,
            cpus: os.availableParallelism(),
            sequential: { ms: sequential.wallMs, perStackMs: sequential.results.map((r) => r.ms) },
            parallel,
        };
        console.log(`\npreview of ${count} stacks (copies of local, with the policy pack) on ${figures.cpus} CPUs, same run`);
        console.log(`${"sequential, 1 worker".padEnd(22)} ${seconds(figures.sequential.ms).padStart(8)}  (per stack: ${figures.sequential.perStackMs.map(seconds).join(", ")})`);
        for (const p of parallel) {
            console.log(
                `${`parallel, ${p.workers} workers`.padEnd(22)} ${seconds(p.ms).padStart(8)}  ${p.speedup.toFixed(2)}x  (per stack: ${p.perStackMs.map(seconds).join(", ")})`,
            );
        }
        return figures;
    } finally {
        project.cleanup();
    }
}
