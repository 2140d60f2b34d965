/**
 * The order test files start in (vitest's `sequence.sequencer`). With two
 * workers a file starts when one is free, so the order decides which files
 * share the machine. Measured on 2 cores: the two files that deploy the whole
 * platform on a throwaway API server in apply mode took 2.5-2.7 times as
 * long beside each other as alone (test-cluster 578 s alone, 1356 s beside
 * delivery-jobs; delivery-jobs 554 s and 1516 s; before their destroys lost
 * their checkpoints), because each step of an apply rewrites the whole state
 * and their control planes run beside it. So: the longest engine files
 * first, one of the two at the start and the other once the files before it
 * have had about its time (in the full run of 16ead0d, test-cluster 669 s
 * beside them; the four before delivery-jobs 859 s); the rest of the engine
 * files by size; the unit files (seconds each) last, where they fill the
 * other worker while the last long file runs. The two also take `clusterDeploySlot`
 * (test/helpers/cluster-deploy-slot.ts), so that a slower machine cannot put
 * them side by side.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/** Engine files that take minutes, in the order they start (paths from the repository root). */
export const LONG_ENGINE_FILES = [
    "test/engine/test-cluster.test.ts",
    "manager/test/manager-e2e.test.ts",
    "test/engine/catalog.test.ts",
    "test/engine/gitlab-pipeline.test.ts",
    "test/engine/local-stack.test.ts",
    "test/engine/delivery-jobs.test.ts",
    "test/engine/malformed-config.test.ts",
    "test/engine/azblob-backend.test.ts",
];

export class PlatformSequencer extends BaseSequencer {
    override sort(files: TestSpecification[]): Promise<TestSpecification[]> {
        const root = this.ctx.config.root;
        // [group, order within it]: each file ranked once, not per comparison.
        const ranks = new Map(
            files.map((spec) => {
                const file = path.relative(root, spec.moduleId).split(path.sep).join("/");
                const long = LONG_ENGINE_FILES.indexOf(file);
                const rank: [number, number] = long >= 0 ? [0, long] : [spec.project.name === "engine" ? 1 : 2, -fs.statSync(spec.moduleId).size];
                return [spec, rank] as const;
            }),
        );
        return Promise.resolve(
            [...files].sort((a, b) => {
                const [groupA, orderA] = ranks.get(a)!;
                const [groupB, orderB] = ranks.get(b)!;
                return groupA - groupB || orderA - orderB;
            }),
        );
    }
}
