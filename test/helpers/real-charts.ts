/**
 * The offline Helm repository of the REAL upstream charts (not the test
 * doubles of chart-mirror.ts): `<name>-<version>.tgz` as `helm pull` gives
 * them, the operator's release manifest and a `helm repo index`. Tests that
 * check pins, archives and mirror verification read it; they fail, never
 * skip, when it is missing.
 */
import * as fs from "node:fs";
import * as path from "node:path";

const repoRoot = path.resolve(__dirname, "../..");

/** `PLATFORM_CHART_MIRROR`, else `<repo>/../shared/charts`. Throws when the directory does not exist. */
export function defaultTestChartMirror(): string {
    const dir = process.env.PLATFORM_CHART_MIRROR ?? path.resolve(repoRoot, "../shared/charts");
    if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
        throw new Error(
            `the real chart mirror ${dir} does not exist: these tests need the upstream charts offline. ` +
                `Set PLATFORM_CHART_MIRROR to a directory filled by ./platform mirror <dir>.`,
        );
    }
    return dir;
}
