/**
 * A vitest reporter for bench/unit-suite.ts: writes each test file's phases
 * (vitest's module diagnostic: environment, prepare, setup, collect = importing
 * the file, tests = tests and hooks) as JSON to $UNIT_SUITE_PHASES_FILE, which
 * vitest's JSON reporter does not carry (its file times cover tests only).
 */
import * as fs from "node:fs";

import type { Reporter, TestModule } from "vitest/node";

export interface FilePhases {
    moduleId: string;
    environmentMs: number;
    prepareMs: number;
    setupMs: number;
    collectMs: number;
    testsMs: number;
}

export default class UnitSuitePhasesReporter implements Reporter {
    onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
        const out = process.env.UNIT_SUITE_PHASES_FILE;
        if (!out) {
            return;
        }
        const phases: FilePhases[] = testModules.map((m) => {
            const d = m.diagnostic();
            return {
                moduleId: m.moduleId,
                environmentMs: d.environmentSetupDuration,
                prepareMs: d.prepareDuration,
                setupMs: d.setupDuration,
                collectMs: d.collectDuration,
                testsMs: d.duration,
            };
        });
        fs.writeFileSync(out, JSON.stringify(phases));
    }
}
