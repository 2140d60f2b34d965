import { defineConfig } from "vitest/config";

import { PlatformSequencer } from "./test/helpers/sequencer";

/** Test files run at once (unit and engine alike); PLATFORM_TEST_WORKERS=1 runs the engine files one by one. */
const WORKERS = Math.max(1, Number(process.env.PLATFORM_TEST_WORKERS ?? "2"));

export default defineConfig({
    test: {
        maxWorkers: WORKERS,
        minWorkers: 1,
        // Which files share the machine (test/helpers/sequencer.ts).
        sequence: { sequencer: PlatformSequencer },
        projects: [
            {
                test: {
                    name: "unit",
                    include: ["components/**/*.test.ts", "environments/**/*.test.ts", "policies/**/*.test.ts", "test/unit/**/*.test.ts", "manager/src/**/*.test.ts"],
                    environment: "node",
                    // Pulumi's mock runtime is process-global: one file per process.
                    pool: "forks",
                    // Safety nets: a whole program under mocks runs in a hook, and the
                    // pipeline test runs this project inside a job beside engine runs.
                    testTimeout: 60_000,
                    hookTimeout: 60_000,
                },
            },
            {
                test: {
                    name: "engine",
                    include: ["test/engine/**/*.test.ts", "manager/test/**/*.test.ts"],
                    environment: "node",
                    pool: "forks",
                    // Real `pulumi` runs, two files at a time; which files share
                    // the machine is test/helpers/sequencer.ts's to decide.
                    poolOptions: { forks: { singleFork: WORKERS === 1 } },
                    // Safety nets for a loaded machine, not speed targets (those are in `pnpm bench`).
                    testTimeout: 900_000,
                    hookTimeout: 900_000,
                },
            },
        ],
    },
});
