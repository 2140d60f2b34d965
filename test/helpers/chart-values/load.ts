/** Reading charts: unpacked chart directories and the chart mirror's archives; values as the tests record them. */
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { parseDocument } from "yaml";

import { isSecretInput } from "../mocks";
import { chartFromSources, ChartModel, ChartSources, isRecord } from "./model";

function filesUnder(dir: string, base: string): string[] {
    if (!fs.existsSync(dir)) {
        return [];
    }
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const full = path.join(dir, e.name);
        return e.isDirectory() ? filesUnder(full, base) : [path.relative(base, full)];
    });
}

interface ChartYaml {
    name: string;
    version: string;
    dependencies?: { name: string; alias?: string }[];
}

/** Reads an unpacked chart directory (with its `charts/` subcharts) into `ChartSources`. */
export function readChartDirectory(dir: string): ChartSources {
    const meta = parseDocument(fs.readFileSync(path.join(dir, "Chart.yaml"), "utf8")).toJS() as ChartYaml;
    const read = (rel: string) => fs.readFileSync(path.join(dir, rel), "utf8");
    const templates: Record<string, string> = {};
    // files/ holds templates some charts render with `tpl` (istiod's injection templates read `.Values`).
    for (const rel of [...filesUnder(path.join(dir, "templates"), dir), ...filesUnder(path.join(dir, "files"), dir)]) {
        if (fs.statSync(path.join(dir, rel)).size < 4_000_000) {
            templates[rel] = read(rel);
        }
    }
    const subcharts: Record<string, ChartSources> = {};
    const chartsDir = path.join(dir, "charts");
    if (fs.existsSync(chartsDir)) {
        for (const entry of fs.readdirSync(chartsDir, { withFileTypes: true })) {
            let subDir = path.join(chartsDir, entry.name);
            if (!entry.isDirectory()) {
                if (!entry.name.endsWith(".tgz")) {
                    continue;
                }
                const into = `${subDir}.unpacked`;
                fs.mkdirSync(into, { recursive: true });
                execFileSync("tar", ["xzf", subDir, "-C", into]);
                subDir = path.join(into, fs.readdirSync(into)[0]);
            }
            const sub = readChartDirectory(subDir);
            const deps = (meta.dependencies ?? []).filter((d) => d.name === sub.name);
            for (const key of deps.length > 0 ? deps.map((d) => d.alias ?? d.name) : [sub.name]) {
                subcharts[key] = sub;
            }
        }
    }
    const valuesFile = path.join(dir, "values.yaml");
    const schemaFile = path.join(dir, "values.schema.json");
    return {
        name: meta.name,
        version: String(meta.version),
        valuesYaml: fs.existsSync(valuesFile) ? fs.readFileSync(valuesFile, "utf8") : "",
        templates,
        schemaJson: fs.existsSync(schemaFile) ? fs.readFileSync(schemaFile, "utf8") : undefined,
        subcharts,
    };
}

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

/** Every leaf path of Helm values: objects are walked, anything else (lists, scalars, empty objects) is a leaf. */
export function leafPaths(values: unknown, prefix: string[] = []): string[][] {
    if (!isRecord(values) || (Object.keys(values).length === 0 && prefix.length > 0)) {
        return prefix.length > 0 ? [prefix] : [];
    }
    return Object.entries(values).flatMap(([k, v]) => (v === undefined ? [] : leafPaths(v, [...prefix, k])));
}
