/**
 * `./platform mirror <dir>`: fills a chart mirror directory from the
 * upstream repositories of every pin in components/upstream.ts, verifying
 * each download, so the directory can be handed to PLATFORM_CHART_MIRROR on a
 * machine that cannot reach the internet (README "Charts and mirrors").
 *
 *   HTTPS chart repository  `<repo>/index.yaml`, the pinned version's URL
 *                           (relative or absolute); the archive's sha256 must be
 *                           the index's `digest`
 *   oci:// registry         the OCI distribution API (anonymous bearer token on a
 *                           401); the layer of media type
 *                           application/vnd.cncf.helm.chart.content.v1.tar+gzip,
 *                           whose sha256 must be its digest
 *   release manifest        its URL; the sha256 must be the pin's (`sha256`)
 *
 * Every chart's Chart.yaml must also carry the pinned name and version. The
 * directory gets `<name>-<version>.tgz`, the manifest as
 * resolveManifestSource names it (`<name>-<version>.yaml`) and an `index.yaml`
 * (helm repo index format, with digests: preflightCharts checks the archives
 * against it). A file already there that verifies is skipped; a download that
 * does not verify is refused, naming both digests, and nothing is written
 * (files are written to a temporary name and renamed only once verified).
 *
 * Environment:
 *   PLATFORM_MIRROR_UPSTREAM_OVERRIDE  fetch from somewhere else than the upstream
 *       hosts (an internal proxy, or a test server). Either
 *       - one http(s) URL: a flat Helm repository holding every pinned chart in
 *         its index.yaml and every manifest as `<name>-<version>.yaml`, i.e. a
 *         mirror directory served over HTTP (OCI pins are read from it too); or
 *       - a JSON object {"<upstream prefix>": "<replacement>"}: a pinned
 *         repository or manifest URL that starts with a key (on a `/` boundary;
 *         the longest key wins) has that part replaced; others stay upstream.
 *         For an oci:// pin the replacement may be oci://host/path (HTTPS
 *         registry) or http(s)://host/path (the registry's scheme given), e.g.
 *         {"https://charts.jetstack.io": "https://nexus.internal/repository/jetstack",
 *          "oci://ghcr.io": "oci://harbor.internal/ghcr-proxy",
 *          "https://github.com": "https://nexus.internal/repository/github"}
 *       Manifests are still checked against their pinned sha256; charts against
 *       the digests the proxy's index or registry gives.
 *   PLATFORM_MIRROR_TIMEOUT_MS  per-request timeout (default 120000)
 *
 * Exit codes: 0 every artifact verified; 1 an artifact failed (listed); 2 bad usage.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";

import { chartMetadata } from "../components/shared/chart-archive";
import {
    findIndexEntry,
    normaliseDigest,
    parseRepositoryIndex,
    RepositoryIndex,
    resolveManifestSource,
    sha256Hex,
    UpstreamChart,
    UpstreamManifest,
} from "../components/shared/chart";
import { PLATFORM_CHARTS, PLATFORM_MANIFESTS } from "../components/upstream";

export const OVERRIDE_VARIABLE = "PLATFORM_MIRROR_UPSTREAM_OVERRIDE";
export const HELM_CHART_LAYER = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const DEFAULT_TIMEOUT_MS = 120_000;

/** Where the upstreams are read from instead (PLATFORM_MIRROR_UPSTREAM_OVERRIDE). */
export type UpstreamOverride = { kind: "none" } | { kind: "flat"; base: string } | { kind: "map"; prefixes: [string, string][] };

export class MirrorUsageError extends Error {}

const trimSlash = (u: string) => u.replace(/\/+$/, "");

/** Parses the override variable's value; throws MirrorUsageError on a malformed one. */
export function parseOverride(value: string | undefined): UpstreamOverride {
    const text = value?.trim() ?? "";
    if (text === "") {
        return { kind: "none" };
    }
    if (text.startsWith("{")) {
        let doc: unknown;
        try {
            doc = JSON.parse(text);
        } catch (e) {
            throw new MirrorUsageError(`${OVERRIDE_VARIABLE} is not valid JSON: ${(e as Error).message}`);
        }
        if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
            throw new MirrorUsageError(`${OVERRIDE_VARIABLE} must be a JSON object of upstream prefix to replacement URL`);
        }
        const prefixes: [string, string][] = [];
        for (const [from, to] of Object.entries(doc)) {
            if (typeof to !== "string" || !/^(https?|oci):\/\/[^/]/.test(to) || !/^(https?|oci):\/\/[^/]/.test(from)) {
                throw new MirrorUsageError(`${OVERRIDE_VARIABLE}: "${from}" -> ${JSON.stringify(to)}: both must be http(s):// or oci:// URLs`);
            }
            prefixes.push([trimSlash(from), trimSlash(to)]);
        }
        // Longest first, so a specific repository wins over its host.
        prefixes.sort((a, b) => b[0].length - a[0].length);
        return { kind: "map", prefixes };
    }
    if (!/^https?:\/\/[^/]/.test(text)) {
        throw new MirrorUsageError(`${OVERRIDE_VARIABLE} must be an http(s) URL or a JSON object, not "${text}"`);
    }
    return { kind: "flat", base: trimSlash(text) };
}

function replacePrefix(url: string, override: UpstreamOverride): string {
    if (override.kind !== "map") {
        return url;
    }
    for (const [from, to] of override.prefixes) {
        if (url === from || url.startsWith(`${from}/`)) {
            return to + url.slice(from.length);
        }
    }
    return url;
}

/** How one chart is fetched. */
export type ChartOrigin =
    | { kind: "repository"; /** the repository's index.yaml */ index: string }
    | { kind: "oci"; /** scheme://host[:port] */ registry: string; /** repository path, chart name included */ repository: string };

/** Where a pinned chart is fetched from, the override applied. */
export function chartOrigin(chart: UpstreamChart, override: UpstreamOverride): ChartOrigin {
    if (override.kind === "flat") {
        return { kind: "repository", index: `${override.base}/index.yaml` };
    }
    const pinned = trimSlash(chart.repository);
    const target = replacePrefix(pinned, override);
    const oci = target.startsWith("oci://") || pinned.startsWith("oci://");
    if (!oci) {
        return { kind: "repository", index: `${target}/index.yaml` };
    }
    const url = new URL(target.replace(/^oci:\/\//, "https://"));
    const namespace = url.pathname.replace(/^\/+|\/+$/g, "");
    return { kind: "oci", registry: url.origin, repository: namespace === "" ? chart.name : `${namespace}/${chart.name}` };
}

/** The URL a pinned manifest is fetched from, the override applied. */
export function manifestOrigin(manifest: UpstreamManifest, override: UpstreamOverride): string {
    if (override.kind === "flat") {
        return `${override.base}/${path.basename(resolveManifestSource(manifest, "/"))}`;
    }
    return replacePrefix(manifest.url, override);
}

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

class VerificationError extends Error {}

/** What a verified chart download needs to be recorded in index.yaml. */
interface VerifiedChart {
    data: Buffer;
    sha256: string;
    source: string;
    created?: string;
}

/** A fetch with a deadline and a message naming the URL. */
async function get(url: string, init: { headers?: Record<string, string> }, timeoutMs: number): Promise<Response> {
    try {
        return await fetch(url, { headers: init.headers, redirect: "follow", signal: AbortSignal.timeout(timeoutMs) });
    } catch (e) {
        const cause = (e as { cause?: { message?: string } }).cause?.message;
        throw new Error(`GET ${url} failed: ${(e as Error).message}${cause ? ` (${cause})` : ""}`);
    }
}

async function getOk(url: string, timeoutMs: number, headers?: Record<string, string>): Promise<Buffer> {
    const res = await get(url, { headers }, timeoutMs);
    if (!res.ok) {
        await res.body?.cancel();
        throw new Error(`GET ${url}: HTTP ${res.status}`);
    }
    return Buffer.from(await res.arrayBuffer());
}

/** The OCI distribution API, pull only, with the anonymous bearer-token flow. */
class OciClient {
    private readonly tokens = new Map<string, string>();

    constructor(private readonly timeoutMs: number) {}

    /** GET a registry URL; on a 401 with a Bearer challenge, fetch a token and try once more. */
    async get(registry: string, repository: string, url: string, accept?: string): Promise<Response> {
        const headers = (): Record<string, string> => {
            const h: Record<string, string> = accept ? { Accept: accept } : {};
            const token = this.tokens.get(`${registry} ${repository}`);
            return token ? { ...h, Authorization: `Bearer ${token}` } : h;
        };
        const first = await get(url, { headers: headers() }, this.timeoutMs);
        if (first.status !== 401) {
            return first;
        }
        await first.body?.cancel();
        const challenge = first.headers.get("www-authenticate") ?? "";
        if (!/^bearer\s/i.test(challenge)) {
            throw new Error(`GET ${url}: HTTP 401 without a Bearer challenge (${challenge || "no WWW-Authenticate"})`);
        }
        const params = new Map<string, string>();
        for (const m of challenge.matchAll(/(\w+)="([^"]*)"/g)) {
            params.set(m[1].toLowerCase(), m[2]);
        }
        const realm = params.get("realm");
        if (realm === undefined) {
            throw new Error(`GET ${url}: the registry's Bearer challenge has no realm`);
        }
        const tokenUrl = new URL(realm);
        if (params.has("service")) {
            tokenUrl.searchParams.set("service", params.get("service") ?? "");
        }
        tokenUrl.searchParams.set("scope", params.get("scope") ?? `repository:${repository}:pull`);
        const body = JSON.parse((await getOk(tokenUrl.toString(), this.timeoutMs)).toString("utf8")) as { token?: unknown; access_token?: unknown };
        const token = typeof body.token === "string" ? body.token : typeof body.access_token === "string" ? body.access_token : undefined;
        if (token === undefined) {
            throw new Error(`token endpoint ${tokenUrl.origin}${tokenUrl.pathname} returned no token`);
        }
        this.tokens.set(`${registry} ${repository}`, token);
        const retry = await get(url, { headers: headers() }, this.timeoutMs);
        if (retry.status === 401) {
            await retry.body?.cancel();
            throw new Error(`GET ${url}: HTTP 401 with an anonymous token (the repository needs credentials)`);
        }
        return retry;
    }

    /** The chart layer of `<repository>:<version>`: its digest and the blob's bytes. */
    async pullChart(registry: string, repository: string, version: string): Promise<{ digest: string; data: Buffer; created?: string; source: string }> {
        // OCI tags cannot hold `+`; helm pushes `1.0.0+build` as `1.0.0_build`.
        const tag = version.replace(/\+/g, "_");
        const manifestUrl = `${registry}/v2/${repository}/manifests/${encodeURIComponent(tag)}`;
        const res = await this.get(registry, repository, manifestUrl, OCI_MANIFEST);
        if (!res.ok) {
            await res.body?.cancel();
            throw new Error(`GET ${manifestUrl}: HTTP ${res.status}${res.status === 404 ? " (no such chart version in the registry)" : ""}`);
        }
        const manifest = (await res.json()) as { layers?: { mediaType?: string; digest?: string }[]; annotations?: Record<string, string> };
        const layer = (manifest.layers ?? []).find((l) => l.mediaType === HELM_CHART_LAYER);
        if (layer?.digest === undefined || !/^sha256:[0-9a-f]{64}$/i.test(layer.digest)) {
            throw new Error(`${manifestUrl}: no ${HELM_CHART_LAYER} layer with a sha256 digest (is it a Helm chart?)`);
        }
        const blobUrl = `${registry}/v2/${repository}/blobs/${layer.digest}`;
        const blob = await this.get(registry, repository, blobUrl);
        if (!blob.ok) {
            await blob.body?.cancel();
            throw new Error(`GET ${blobUrl}: HTTP ${blob.status}`);
        }
        return {
            digest: layer.digest,
            data: Buffer.from(await blob.arrayBuffer()),
            created: manifest.annotations?.["org.opencontainers.image.created"],
            source: `${registry}/v2/${repository}:${tag}`,
        };
    }

    /** The chart layer's digest only (to check a file already in the mirror without downloading it). */
    async chartDigest(registry: string, repository: string, version: string): Promise<string | undefined> {
        const tag = version.replace(/\+/g, "_");
        const res = await this.get(registry, repository, `${registry}/v2/${repository}/manifests/${encodeURIComponent(tag)}`, OCI_MANIFEST);
        if (!res.ok) {
            await res.body?.cancel();
            return undefined;
        }
        const manifest = (await res.json()) as { layers?: { mediaType?: string; digest?: string }[] };
        return manifest.layers?.find((l) => l.mediaType === HELM_CHART_LAYER)?.digest;
    }
}

/** Writes through a temporary name in the same directory, so a file is either whole or absent. */
function writeAtomically(file: string, data: Buffer | string): void {
    const tmp = path.join(path.dirname(file), `.${path.basename(file)}.partial-${process.pid}-${crypto.randomBytes(4).toString("hex")}`);
    try {
        fs.writeFileSync(tmp, data);
        fs.renameSync(tmp, file);
    } finally {
        fs.rmSync(tmp, { force: true });
    }
}

const short = (hex: string) => `${hex.slice(0, 12)}…`;

/** Fills `options.dir` with every pinned chart and manifest, verified; see the file's header. */
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

/** Why a chart archive is not the pinned chart, or undefined when it is. */
function pinnedChartYaml(chart: UpstreamChart, data: Buffer): string | undefined {
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
function writeIndex(dir: string, charts: { chart: UpstreamChart; file: string; sha256: string; created?: string }[]): number {
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

const USAGE = `usage: ./platform mirror <dir>
Fills <dir> with every pinned chart and manifest (components/upstream.ts), verified.
${OVERRIDE_VARIABLE}=<url> or ='{"<upstream prefix>": "<replacement>"}' reads from an internal proxy instead.`;

/** The command line: returns the exit code. */
export async function run(argv: string[], env: NodeJS.ProcessEnv, io: { out: (t: string) => void; err: (t: string) => void }): Promise<number> {
    if (argv.includes("-h") || argv.includes("--help")) {
        io.out(`${USAGE}\n`);
        return 0;
    }
    if (argv.length !== 1 || argv[0].startsWith("-")) {
        io.err(`${USAGE}\n`);
        return 2;
    }
    try {
        const timeout = env.PLATFORM_MIRROR_TIMEOUT_MS;
        const report = await fillMirror({
            dir: argv[0],
            override: env[OVERRIDE_VARIABLE] ?? "",
            timeoutMs: timeout !== undefined && /^\d+$/.test(timeout) ? Number(timeout) : undefined,
            log: (line) => io.out(`${line}\n`),
        });
        if (report.failed.length > 0) {
            io.err(`[mirror] ${report.failed.length} artifact(s) failed:\n${report.failed.map((r) => `  - ${r.kind} ${r.name} ${r.version}: ${r.error}`).join("\n")}\n`);
            return 1;
        }
        return 0;
    } catch (e) {
        io.err(`[mirror] ${(e as Error).message}\n`);
        return e instanceof MirrorUsageError ? 2 : 1;
    }
}

if (require.main === module) {
    run(process.argv.slice(2), process.env, { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) }).then(
        (code) => process.exit(code),
        (e: unknown) => {
            process.stderr.write(`[mirror] ${String(e)}\n`);
            process.exit(1);
        },
    );
}
