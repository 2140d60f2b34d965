import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as https from "node:https";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse as parseYaml } from "yaml";

import { chartMetadata, parseChartYaml } from "./chart-archive";

/** An upstream Helm chart, pinned: what a component deploys by default. */
export interface UpstreamChart {
    /** Chart name in its repository, e.g. `cert-manager`. */
    name: string;
    /** Exact chart version. */
    version: string;
    /** HTTPS chart repository URL, or an `oci://` registry path holding the chart. */
    repository: string;
}

/**
 * Where charts come from in an environment. Unset: the upstream repositories.
 * A directory: `<dir>/<name>/` (unpacked) or `<dir>/<name>-<version>.tgz`.
 * `oci://registry/path`: `<registry/path>/<name>:<version>` (a mirror registry).
 */
export type ChartMirror = string | undefined;

/** The `chart`/`version`/`repositoryOpts` inputs of a `helm.v4.Chart`. */
export interface ChartSource {
    chart: string;
    version?: string;
    repositoryOpts?: { repo: string };
    /** Human description for messages and records. */
    describe: string;
}

export const CHART_MIRROR_SETTING = "platform:chartMirror (or PLATFORM_CHART_MIRROR)";

/** The mirror's directory, when it is one (not unset, not an `oci://` registry): where the charts themselves can be read. */
export function mirrorDirectory(mirror: ChartMirror): string | undefined {
    return mirror !== undefined && mirror !== "" && !mirror.startsWith("oci://") ? mirror : undefined;
}

/** Resolves where a chart is read from, given the environment's mirror. */
export function resolveChartSource(upstream: UpstreamChart, mirror: ChartMirror): ChartSource {
    if (mirror === undefined || mirror === "") {
        if (upstream.repository.startsWith("oci://")) {
            return {
                chart: `${upstream.repository.replace(/\/$/, "")}/${upstream.name}`,
                version: upstream.version,
                describe: `${upstream.name} ${upstream.version} from ${upstream.repository}`,
            };
        }
        return {
            chart: upstream.name,
            version: upstream.version,
            repositoryOpts: { repo: upstream.repository },
            describe: `${upstream.name} ${upstream.version} from ${upstream.repository}`,
        };
    }
    if (mirror.startsWith("oci://")) {
        return {
            chart: `${mirror.replace(/\/$/, "")}/${upstream.name}`,
            version: upstream.version,
            describe: `${upstream.name} ${upstream.version} from mirror ${mirror}`,
        };
    }
    const packaged = path.resolve(mirror, `${upstream.name}-${upstream.version}.tgz`);
    if (fs.existsSync(packaged)) {
        return { chart: packaged, describe: `${upstream.name} ${upstream.version} from ${packaged}` };
    }
    const unpacked = path.resolve(mirror, upstream.name);
    return { chart: unpacked, describe: `${upstream.name} from ${unpacked}` };
}

/**
 * A pinned upstream manifest (a project's release YAML, for software that
 * ships no Helm chart). A mirror directory holds it as `<name>-<version>.yaml`.
 */
export interface UpstreamManifest {
    /** Name of the manifest, e.g. `rabbitmq-cluster-operator`. */
    name: string;
    /** Exact release version. */
    version: string;
    /** HTTPS URL of the release manifest. */
    url: string;
    /** sha256 (hex) of the release file: a mirror's copy must have it, and `./platform mirror` checks the download against it. */
    sha256: string;
}

/** Where a manifest is read from: the upstream URL, or the mirror directory's copy. An OCI mirror holds charts only. */
export function resolveManifestSource(upstream: UpstreamManifest, mirror: ChartMirror): string {
    if (mirror === undefined || mirror === "" || mirror.startsWith("oci://")) {
        return upstream.url;
    }
    return path.resolve(mirror, `${upstream.name}-${upstream.version}.yaml`);
}

/**
 * One chart version in a Helm repository index (`index.yaml`), as written:
 * every scalar a string (see parseRepositoryIndex).
 */
export interface RepositoryIndexEntry {
    name: string;
    version: string;
    /** sha256 (hex) of the packaged chart. */
    digest?: string;
    urls: string[];
    created?: string;
    [field: string]: unknown;
}

/** A Helm repository index, as `helm repo index` writes it. */
export interface RepositoryIndex {
    apiVersion: string;
    entries: Record<string, RepositoryIndexEntry[]>;
    generated?: string;
}

/**
 * Parses an `index.yaml`; throws when it is not a Helm repository index.
 * Scalars are read as written (YAML's failsafe schema): helm reads versions
 * as strings, where YAML 1.2 would make `version: 1.10` the number 1.1.
 */
export function parseRepositoryIndex(text: string): RepositoryIndex {
    const doc: unknown = parseYaml(text, { schema: "failsafe" });
    const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
    if (!isMap(doc) || !isMap(doc.entries)) {
        throw new Error("not a Helm repository index (no entries)");
    }
    const str = (x: unknown) => (typeof x === "string" ? x : undefined);
    const entries: Record<string, RepositoryIndexEntry[]> = {};
    for (const [name, versions] of Object.entries(doc.entries)) {
        if (!Array.isArray(versions)) {
            throw new Error(`entries.${name} is not a list`);
        }
        entries[name] = versions.map((v: unknown, i: number) => {
            if (!isMap(v)) {
                throw new Error(`entries.${name}[${i}] is not a mapping`);
            }
            const urls = Array.isArray(v.urls) ? v.urls.filter((u): u is string => typeof u === "string") : [];
            return { ...v, name: str(v.name) ?? name, version: str(v.version) ?? "", digest: str(v.digest), created: str(v.created), urls };
        });
    }
    return { apiVersion: str(doc.apiVersion) ?? "v1", entries, generated: str(doc.generated) };
}

/** The index entry of one chart version, if the index lists it. */
export function findIndexEntry(index: RepositoryIndex, name: string, version: string): RepositoryIndexEntry | undefined {
    return index.entries[name]?.find((e) => e.version === version);
}

/** Lower-case hex sha256 of some bytes. */
export function sha256Hex(data: Buffer): string {
    return crypto.createHash("sha256").update(data).digest("hex");
}

/** An index or OCI digest (`<hex>` or `sha256:<hex>`) as lower-case hex. */
export function normaliseDigest(digest: string): string {
    return digest.trim().replace(/^sha256:/i, "").toLowerCase();
}

/**
 * What is wrong with a chart in a mirror directory, if anything: the chart
 * helm would read (resolveChartSource) must be there, its Chart.yaml must
 * carry the pinned name and version, and a packaged chart listed in the
 * mirror's index.yaml must have the digest the index gives. A mirror filled
 * by hand or by an older run must not deploy a chart other than the pin.
 */
export function checkMirrorChart(chart: UpstreamChart, mirrorDir: string, index?: RepositoryIndex): string[] {
    const dir = path.resolve(mirrorDir);
    const source = resolveChartSource(chart, dir);
    if (!fs.existsSync(source.chart)) {
        return [`chart ${chart.name} ${chart.version} is not in the mirror ${dir} (expected ${chart.name}/ or ${chart.name}-${chart.version}.tgz)`];
    }
    const where = `chart ${chart.name} in mirror ${dir}`;
    const file = path.basename(source.chart);
    const packaged = source.chart.endsWith(".tgz");
    let meta: { name: string; version: string };
    try {
        if (packaged) {
            meta = chartMetadata(source.chart);
        } else {
            const chartYaml = path.join(source.chart, "Chart.yaml");
            if (!fs.existsSync(chartYaml)) {
                return [`${where}: ${file}/ has no Chart.yaml`];
            }
            meta = parseChartYaml(fs.readFileSync(chartYaml), file);
        }
    } catch (e) {
        return [`${where}: ${packaged ? file : `${file}/Chart.yaml`} cannot be read as a chart (${(e as Error).message})`];
    }
    const problems: string[] = [];
    const shown = packaged ? file : `${file}/`;
    if (meta.name !== chart.name) {
        problems.push(`${where}: Chart.yaml in ${shown} says name ${meta.name}, pinned ${chart.name}`);
    }
    if (meta.version !== chart.version) {
        problems.push(`${where}: Chart.yaml in ${shown} says version ${meta.version}, pinned ${chart.version}`);
    }
    const listed = index && findIndexEntry(index, chart.name, chart.version);
    if (packaged && listed && listed.digest !== undefined) {
        const actual = sha256Hex(fs.readFileSync(source.chart));
        if (actual !== normaliseDigest(listed.digest)) {
            problems.push(
                `chart ${chart.name} ${chart.version} in mirror ${dir}: ${file} has sha256 ${actual}, ` +
                    `the mirror's index.yaml lists digest ${normaliseDigest(listed.digest)}`,
            );
        }
    }
    return problems;
}

/** What is wrong with a manifest in a mirror directory, if anything: it must be there, with the pinned sha256. */
export function checkMirrorManifest(manifest: UpstreamManifest, mirrorDir: string): string[] {
    const file = resolveManifestSource(manifest, path.resolve(mirrorDir));
    if (!fs.existsSync(file)) {
        return [`manifest ${manifest.name} ${manifest.version} is not in the mirror (expected ${file})`];
    }
    const actual = sha256Hex(fs.readFileSync(file));
    if (actual !== normaliseDigest(manifest.sha256)) {
        return [
            `manifest ${manifest.name} ${manifest.version} in mirror ${path.dirname(file)}: ${path.basename(file)} has sha256 ${actual}, ` +
                `pinned ${normaliseDigest(manifest.sha256)}`,
        ];
    }
    return [];
}

/** The mirror directory's index.yaml, when it has one; a problem when it cannot be parsed. */
function readMirrorIndex(mirrorDir: string): { index?: RepositoryIndex; problem?: string } {
    const file = path.resolve(mirrorDir, "index.yaml");
    if (!fs.existsSync(file)) {
        return {};
    }
    try {
        return { index: parseRepositoryIndex(fs.readFileSync(file, "utf8")) };
    } catch (e) {
        return { problem: `mirror ${path.resolve(mirrorDir)}: index.yaml cannot be read (${(e as Error).message})` };
    }
}

/** True when the chart repository's index answers (HTTPS only; OCI registries are not probed). */
function repositoryAnswers(repository: string, timeoutMs: number): Promise<boolean> {
    if (!repository.startsWith("https://")) {
        return Promise.resolve(true);
    }
    return urlAnswers(new URL("index.yaml", repository.endsWith("/") ? repository : `${repository}/`), timeoutMs);
}

function urlAnswers(url: URL, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
        const req = https.request(url, { method: "HEAD", timeout: timeoutMs }, (res) => {
            res.resume();
            resolve((res.statusCode ?? 500) < 500);
        });
        req.on("timeout", () => req.destroy());
        req.on("error", () => resolve(false));
        req.end();
    });
}

/**
 * Checks, before any resource is registered, that every chart can be read:
 * a mirror directory must hold it (the pinned version, verified as
 * checkMirrorChart and checkMirrorManifest say), an upstream repository must
 * answer. The error names each chart and the mirror setting, so an offline
 * or air-gapped run stops before touching anything.
 */
export async function preflightCharts(
    charts: UpstreamChart[],
    mirror: ChartMirror,
    options: { timeoutMs?: number; manifests?: UpstreamManifest[] } = {},
): Promise<void> {
    const problems: string[] = [];
    const directory = mirrorDirectory(mirror);
    for (const manifest of options.manifests ?? []) {
        if (directory !== undefined) {
            problems.push(...checkMirrorManifest(manifest, directory));
        } else if (!(await urlAnswers(new URL(manifest.url), options.timeoutMs ?? 3000))) {
            problems.push(`manifest ${manifest.name} ${manifest.version}: ${manifest.url} cannot be reached`);
        }
    }
    const { index, problem } = directory !== undefined ? readMirrorIndex(directory) : {};
    if (problem !== undefined) {
        problems.push(problem);
    }
    for (const chart of charts) {
        if (directory !== undefined) {
            problems.push(...checkMirrorChart(chart, directory, index));
        } else if (!mirror && !(await repositoryAnswers(chart.repository, options.timeoutMs ?? 3000))) {
            problems.push(`chart ${chart.name} ${chart.version}: its repository ${chart.repository} cannot be reached`);
        }
    }
    if (problems.length > 0) {
        throw new pulumi.RunError(
            `cannot read the Helm charts and manifests of this environment:\n${problems.map((p) => `  - ${p}`).join("\n")}\n` +
                `Set ${CHART_MIRROR_SETTING} to a directory or an oci:// registry that mirrors them; ` +
                `./platform mirror <dir> fills and verifies a directory (README "Charts and mirrors").`,
        );
    }
}
