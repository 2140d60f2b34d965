/** Checks on downloads, and writing the mirror directory's files (archives, manifests, index.yaml). */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";

import { chartMetadata } from "../../components/shared/chart-archive";
import { UpstreamChart } from "../../components/shared/chart";

export class VerificationError extends Error {}

/** What a verified chart download needs to be recorded in index.yaml. */
export interface VerifiedChart {
    data: Buffer;
    sha256: string;
    source: string;
    created?: string;
}

/** Writes through a temporary name in the same directory, so a file is either whole or absent. */
export function writeAtomically(file: string, data: Buffer | string): void {
    const tmp = path.join(path.dirname(file), `.${path.basename(file)}.partial-${process.pid}-${crypto.randomBytes(4).toString("hex")}`);
    try {
        fs.writeFileSync(tmp, data);
        fs.renameSync(tmp, file);
    } finally {
        fs.rmSync(tmp, { force: true });
    }
}

/** Why a chart archive is not the pinned chart, or undefined when it is. */
export function pinnedChartYaml(chart: UpstreamChart, data: Buffer): string | undefined {
    try {
        const meta = chartMetadata(data);
        if (meta.name !== chart.name || meta.version !== chart.version) {
            return `Chart.yaml says ${meta.name} ${meta.version}, pinned ${chart.name} ${chart.version}`;
        }
        return undefined;
    } catch (e) {
        return `not a chart archive (${(e as Error).message})`;
    }
}

/**
 * Writes `<dir>/index.yaml`: an entry per verified chart (its Chart.yaml,
 * `urls`, `digest`, `created`), keeping entries of other charts an earlier
 * index had. Returns how many chart versions it lists.
 */
export function writeIndex(dir: string, charts: { chart: UpstreamChart; file: string; sha256: string; created?: string }[]): number {
    const file = path.join(dir, "index.yaml");
    let entries: Record<string, Record<string, unknown>[]> = {};
    if (fs.existsSync(file)) {
        try {
            const old = parseYaml(fs.readFileSync(file, "utf8")) as { entries?: unknown } | null;
            if (old !== null && typeof old === "object" && old.entries !== null && typeof old.entries === "object" && !Array.isArray(old.entries)) {
                entries = old.entries as Record<string, Record<string, unknown>[]>;
            }
        } catch {
            // An unreadable index is replaced by one listing what this run verified.
        }
    }
    const now = new Date().toISOString();
    for (const c of charts) {
        const meta = chartMetadata(fs.readFileSync(c.file));
        const previous = (entries[c.chart.name] ?? []).filter((e) => String(e.version) !== c.chart.version);
        // Chart.yaml as helm repo index copies it; name and version as written, not as YAML numbers.
        const entry = { ...meta.raw, name: meta.name, version: meta.version, ...(meta.appVersion ? { appVersion: meta.appVersion } : {}), created: c.created ?? now, digest: c.sha256, urls: [path.basename(c.file)] };
        entries[c.chart.name] = [entry, ...previous];
    }
    const sorted = Object.fromEntries(Object.entries(entries).sort(([a], [b]) => a.localeCompare(b)));
    // YAML 1.1 quoting: helm reads the index with a YAML 1.1 parser, where `on` or `1.10` unquoted are not strings.
    writeAtomically(file, stringifyYaml({ apiVersion: "v1", entries: sorted, generated: now }, { version: "1.1" }));
    return Object.values(sorted).reduce((n, versions) => n + (Array.isArray(versions) ? versions.length : 0), 0);
}
