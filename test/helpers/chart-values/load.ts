/**
 * The tests' side of the chart-values checker (components/shared/chart-values):
 * the real chart mirror, its archives unpacked with `tar` in other processes
 * (beside the test's own work), values as the mock monitor records them.
 */
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";

import { chartFromSources, ChartModel, readChartDirectory } from "../../../components/shared/chart-values";
import { isRecord } from "../../../components/shared/chart-values/model";
import { isSecretInput } from "../mocks";

/** The chart mirror the tests read: PLATFORM_CHART_MIRROR, else `../shared/charts` beside the repository. Throws if it is missing. */
export function chartMirrorDirectory(repoRoot: string): string {
    const dir = process.env.PLATFORM_CHART_MIRROR ?? path.resolve(repoRoot, "../shared/charts");
    if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
        throw new Error(
            `the chart mirror ${dir} does not exist: set PLATFORM_CHART_MIRROR to a directory of <name>-<version>.tgz charts ` +
                `(the real upstream charts the components pin), or put them in ${path.resolve(repoRoot, "../shared/charts")}`,
        );
    }
    return dir;
}

function mirroredArchive(mirror: string, name: string, version: string): string {
    const tgz = path.join(mirror, `${name}-${version}.tgz`);
    if (!fs.existsSync(tgz)) {
        throw new Error(`chart ${name} ${version} is not in the mirror ${mirror} (expected ${tgz})`);
    }
    return tgz;
}

/** Reads the chart `tar` unpacked into `into`, checking it is `name` `version`. */
function readUnpacked(tgz: string, into: string, name: string, version: string): ChartModel {
    const top = fs.readdirSync(into, { withFileTypes: true }).filter((e) => e.isDirectory());
    if (top.length !== 1) {
        throw new Error(`${tgz} does not hold one chart directory (found: ${top.map((e) => e.name).join(", ") || "none"})`);
    }
    const model = chartFromSources(readChartDirectory(path.join(into, top[0].name)));
    if (model.name !== name || model.version !== version) {
        throw new Error(`${tgz} holds chart ${model.name} ${model.version}, not ${name} ${version}`);
    }
    return model;
}

/** Unpacks `<mirror>/<name>-<version>.tgz` under `workDir` and reads it. Throws if the mirror lacks it. */
export function loadMirroredChart(mirror: string, name: string, version: string, workDir: string): ChartModel {
    const tgz = mirroredArchive(mirror, name, version);
    const into = fs.mkdtempSync(path.join(workDir, `${name}-`));
    execFileSync("tar", ["xzf", tgz, "-C", into]);
    return readUnpacked(tgz, into, name, version);
}

/**
 * `loadMirroredChart` in two steps: `tar` runs in the background (call this
 * early, its processes run beside the test's own work), the returned function
 * reads the unpacked chart once `tar` has finished.
 */
export async function unpackMirroredChart(mirror: string, name: string, version: string, workDir: string): Promise<() => ChartModel> {
    const tgz = mirroredArchive(mirror, name, version);
    const into = await fs.promises.mkdtemp(path.join(workDir, `${name}-`));
    await promisify(execFile)("tar", ["xzf", tgz, "-C", into]);
    return () => readUnpacked(tgz, into, name, version);
}

/** A recorded input with every secret wrapper removed, at any depth. */
export function unwrapSecrets(value: unknown): unknown {
    if (isSecretInput(value)) {
        return unwrapSecrets((value as { value: unknown }).value);
    }
    if (Array.isArray(value)) {
        return value.map(unwrapSecrets);
    }
    if (isRecord(value)) {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
    }
    return value;
}
