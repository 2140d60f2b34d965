import { defineConfig } from "vitest/config";

export default defineConfig({
    test: {
        projects: [
            {
                test: {
                    name: "unit",
                    include: ["components/**/*.test.ts", "environments/**/*.test.ts", "policies/**/*.test.ts", "test/unit/**/*.test.ts"],
                    environment: "node",
                    // Pulumi's mock runtime is process-global: one file per process.
                    pool: "forks",
                    testTimeout: 20_000,
                },
            },
            {
                test: {
                    name: "engine",
                    include: ["test/engine/**/*.test.ts"],
                    environment: "node",
                    pool: "forks",
                    // Real `pulumi` runs: one file at a time on a 2-core machine.
                    poolOptions: { forks: { singleFork: true } },
                    testTimeout: 300_000,
                    hookTimeout: 300_000,
                },
            },
        ],
    },
});
