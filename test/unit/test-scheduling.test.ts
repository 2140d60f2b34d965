/** The order test files start in, and the slot that keeps the two whole-platform applies apart. */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import type { TestSpecification, Vitest } from "vitest/node";

import { clusterDeploySlot } from "../helpers/cluster-deploy-slot";
import { LONG_ENGINE_FILES, PlatformSequencer } from "../helpers/sequencer";
import { tempDir } from "../helpers/temp-dir";

const ROOT = path.resolve(__dirname, "..", "..");

function spec(file: string, project: "unit" | "engine"): TestSpecification {
    return { moduleId: path.join(ROOT, file), project: { name: project } } as unknown as TestSpecification;
}

describe("PlatformSequencer", () => {
    const sequencer = new PlatformSequencer({ config: { root: ROOT } } as unknown as Vitest);

    it("starts the long engine files first, in their order, then the other engine files, then the unit files", async () => {
        const files = [
            spec("test/unit/chart-pins.test.ts", "unit"),
            spec("test/engine/events.test.ts", "engine"),
            spec("test/engine/delivery-jobs.test.ts", "engine"),
            spec("components/manager/manager.test.ts", "unit"),
            spec("test/engine/test-cluster.test.ts", "engine"),
            spec("test/engine/policy-pack.test.ts", "engine"),
        ];
        const sorted = (await sequencer.sort(files)).map((s) => path.relative(ROOT, s.moduleId));
        expect(sorted.slice(0, 2)).toEqual(["test/engine/test-cluster.test.ts", "test/engine/delivery-jobs.test.ts"]);
        expect(new Set(sorted.slice(2, 4))).toEqual(new Set(["test/engine/events.test.ts", "test/engine/policy-pack.test.ts"]));
        // The larger unit file first.
        expect(sorted.slice(4)).toEqual(["components/manager/manager.test.ts", "test/unit/chart-pins.test.ts"]);
    });

    it("names only engine files that exist, and puts the two whole-platform applies apart", () => {
        for (const file of LONG_ENGINE_FILES) {
            expect(fs.existsSync(path.join(ROOT, file)), file).toBe(true);
        }
        expect(LONG_ENGINE_FILES[0]).toBe("test/engine/test-cluster.test.ts");
        expect(LONG_ENGINE_FILES.indexOf("test/engine/delivery-jobs.test.ts")).toBeGreaterThan(2);
    });
});

describe("clusterDeploySlot", () => {
    // Not the run's own slot, which an engine file may hold while this runs.
    const slot = () => path.join(tempDir("slot-test-"), "slot");
    it("lets one holder in at a time", async () => {
        const dir = slot();
        const events: string[] = [];
        const release = await clusterDeploySlot("first", dir);
        const second = clusterDeploySlot("second", dir).then((r) => {
            events.push("second in");
            return r;
        });
        await new Promise((r) => setTimeout(r, 1500));
        events.push("first out");
        release();
        (await second)();
        expect(events).toEqual(["first out", "second in"]);
    });

    it("takes the slot over from a holder whose process is gone", async () => {
        const dir = slot();
        const release = await clusterDeploySlot("crashed", dir);
        // Rewrite the holder as a process that has exited.
        const gone = spawnSync("true").pid;
        fs.writeFileSync(path.join(dir, "holder"), `${gone} crashed\n`);
        const started = Date.now();
        const next = await clusterDeploySlot("next", dir);
        expect(Date.now() - started).toBeLessThan(5000);
        expect(fs.readFileSync(path.join(dir, "holder"), "utf8")).toBe(`${process.pid} next\n`);
        next();
        release(); // already removed: harmless
    });
});
