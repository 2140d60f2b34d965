/** Fills a mirror directory with every pinned chart and manifest, verified (see scripts/mirror.ts's header). */
import * as fs from "node:fs";
import * as path from "node:path";

import { findIndexEntry, normaliseDigest, parseRepositoryIndex, RepositoryIndex, resolveManifestSource, sha256Hex, UpstreamChart, UpstreamManifest } from "../../components/shared/chart";
import { PLATFORM_CHARTS, PLATFORM_MANIFESTS } from "../../components/upstream";
import { getOk } from "./http";
import { OciClient } from "./oci";
import { ChartOrigin, chartOrigin, manifestOrigin, OVERRIDE_VARIABLE, parseOverride } from "./override";
import { pinnedChartYaml, VerificationError, VerifiedChart, writeAtomically, writeIndex } from "./verify";

const DEFAULT_TIMEOUT_MS = 120_000;

export type ArtifactStatus = "fetched" | "skipped" | "failed";

export interface ArtifactResult {
    kind: "chart" | "manifest";
    name: string;
    version: string;
    /** The file in the mirror directory. */
    file: string;
    status: ArtifactStatus;
    /** Where it came from (or would have). */
    source?: string;
    /** sha256 of the file in the mirror, when verified. */
    sha256?: string;
    /** Why it failed. */
    error?: string;
}

export interface MirrorOptions {
    dir: string;
    charts?: UpstreamChart[];
    manifests?: UpstreamManifest[];
    /** The override variable's value; default: the environment's. */
    override?: string;
    timeoutMs?: number;
    /** One line per artifact, and the summary. */
    log?: (line: string) => void;
}

export interface MirrorReport {
    dir: string;
    results: ArtifactResult[];
    failed: ArtifactResult[];
    summary: string;
}

const short = (hex: string) => `${hex.slice(0, 12)}…`;

/** Fills `options.dir` with every pinned chart and manifest, verified; see scripts/mirror.ts's header. */
export async function fillMirror(options: MirrorOptions): Promise<MirrorReport> {
    const dir = path.resolve(options.dir);
    const charts = options.charts ?? PLATFORM_CHARTS;
    const manifests = options.manifests ?? PLATFORM_MANIFESTS;
    const override = parseOverride(options.override ?? process.env[OVERRIDE_VARIABLE]);
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const log = options.log ?? (() => undefined);
    fs.mkdirSync(dir, { recursive: true });

    const indexes = new Map<string, Promise<RepositoryIndex>>();
    const repositoryIndex = (url: string) => {
        // One download per repository, however many pins it holds.
        let index = indexes.get(url);
        if (index === undefined) {
            index = getOk(url, timeoutMs).then((data) => {
                try {
                    return parseRepositoryIndex(data.toString("utf8"));
                } catch (e) {
                    throw new Error(`${url}: ${(e as Error).message}`);
                }
            });
            indexes.set(url, index);
        }
        return index;
    };
    const oci = new OciClient(timeoutMs);
    const results: ArtifactResult[] = [];
    const indexed: { chart: UpstreamChart; file: string; sha256: string; created?: string }[] = [];

    const record = (r: ArtifactResult) => {
        results.push(r);
        const what = `${r.kind} ${r.name} ${r.version}`;
        if (r.status === "failed") {
            log(`failed   ${what}: ${r.error}`);
        } else if (r.status === "skipped") {
            log(`skipped  ${what}: ${path.basename(r.file)} already there, sha256 ${short(r.sha256 ?? "")} verified against ${r.source}`);
        } else {
            log(`fetched  ${what} -> ${path.basename(r.file)}, sha256 ${short(r.sha256 ?? "")} verified against ${r.source}`);
        }
    };

    for (const chart of charts) {
        const file = path.join(dir, `${chart.name}-${chart.version}.tgz`);
        const base = { kind: "chart" as const, name: chart.name, version: chart.version, file };
        let origin: ChartOrigin | undefined;
        try {
            origin = chartOrigin(chart, override);
            const existing = fs.existsSync(file) ? fs.readFileSync(file) : undefined;
            let verified: VerifiedChart;
            if (origin.kind === "repository") {
                const index = await repositoryIndex(origin.index);
                const entry = findIndexEntry(index, chart.name, chart.version);
                if (entry === undefined) {
                    const available = (index.entries[chart.name] ?? []).map((e) => e.version).slice(0, 8);
                    throw new Error(`${origin.index} does not list it${available.length > 0 ? ` (it has ${available.join(", ")}, …)` : ""}`);
                }
                if (entry.digest === undefined || entry.urls[0] === undefined) {
                    throw new Error(`${origin.index} gives no ${entry.digest === undefined ? "digest" : "URL"} for it: it cannot be verified`);
                }
                const expected = normaliseDigest(entry.digest);
                if (existing !== undefined && sha256Hex(existing) === expected && pinnedChartYaml(chart, existing) === undefined) {
                    indexed.push({ chart, file, sha256: expected, created: entry.created });
                    record({ ...base, status: "skipped", source: origin.index, sha256: expected });
                    continue;
                }
                const url = new URL(entry.urls[0], origin.index).toString();
                const data = await getOk(url, timeoutMs);
                const actual = sha256Hex(data);
                if (actual !== expected) {
                    throw new VerificationError(`${url} has sha256 ${actual}, ${origin.index} lists digest ${expected}; nothing written`);
                }
                verified = { data, sha256: actual, source: origin.index, created: entry.created };
            } else {
                const { registry, repository } = origin;
                if (existing !== undefined) {
                    const digest = await oci.chartDigest(registry, repository, chart.version);
                    if (digest !== undefined && `sha256:${sha256Hex(existing)}` === digest.toLowerCase() && pinnedChartYaml(chart, existing) === undefined) {
                        indexed.push({ chart, file, sha256: sha256Hex(existing) });
                        record({ ...base, status: "skipped", source: `${registry}/v2/${repository}`, sha256: sha256Hex(existing) });
                        continue;
                    }
                }
                const pulled = await oci.pullChart(registry, repository, chart.version);
                const actual = sha256Hex(pulled.data);
                if (actual !== normaliseDigest(pulled.digest)) {
                    throw new VerificationError(
                        `blob ${pulled.digest} of ${pulled.source} has sha256 ${actual}, its manifest lists digest ${normaliseDigest(pulled.digest)}; nothing written`,
                    );
                }
                verified = { data: pulled.data, sha256: actual, source: pulled.source, created: pulled.created };
            }
            const wrong = pinnedChartYaml(chart, verified.data);
            if (wrong !== undefined) {
                throw new VerificationError(`${verified.source}: ${wrong}; nothing written`);
            }
            writeAtomically(file, verified.data);
            indexed.push({ chart, file, sha256: verified.sha256, created: verified.created });
            record({ ...base, status: "fetched", source: verified.source, sha256: verified.sha256 });
        } catch (e) {
            record({ ...base, status: "failed", source: origin?.kind === "oci" ? `${origin.registry}/v2/${origin.repository}` : origin?.index, error: (e as Error).message });
        }
    }

    for (const manifest of manifests) {
        const file = resolveManifestSource(manifest, dir);
        const expected = normaliseDigest(manifest.sha256);
        const url = manifestOrigin(manifest, override);
        const base = { kind: "manifest" as const, name: manifest.name, version: manifest.version, file, source: url };
        try {
            if (fs.existsSync(file) && sha256Hex(fs.readFileSync(file)) === expected) {
                record({ ...base, status: "skipped", source: "the pin", sha256: expected });
                continue;
            }
            const data = await getOk(url, timeoutMs);
            const actual = sha256Hex(data);
            if (actual !== expected) {
                throw new VerificationError(`${url} has sha256 ${actual}, pinned ${expected}; nothing written`);
            }
            writeAtomically(file, data);
            record({ ...base, status: "fetched", source: "the pin", sha256: actual });
        } catch (e) {
            record({ ...base, status: "failed", error: (e as Error).message });
        }
    }

    const listed = writeIndex(dir, indexed);
    const failed = results.filter((r) => r.status === "failed");
    const count = (s: ArtifactStatus) => results.filter((r) => r.status === s).length;
    const summary =
        `mirror ${dir}: ${charts.length} chart(s), ${manifests.length} manifest(s): ` +
        `${count("fetched")} fetched, ${count("skipped")} skipped (already verified), ${failed.length} failed; ` +
        `index.yaml lists ${listed} chart version(s)`;
    log(summary);
    return { dir, results, failed, summary };
}
