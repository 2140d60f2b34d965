/**
 * scripts/mirror.ts against loopback servers only: a static Helm repository
 * serving the real chart mirror (test/helpers/real-charts.ts; its index.yaml
 * URLs are relative) and a minimal OCI registry (anonymous token challenge,
 * manifest, blob) serving charts from the same archives.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";

import { preflightCharts, sha256Hex, UpstreamChart } from "../../components/shared/chart";
import { PLATFORM_CHARTS, PLATFORM_MANIFESTS } from "../../components/upstream";
import { chartOrigin, fillMirror, HELM_CHART_LAYER, MirrorReport, OVERRIDE_VARIABLE, parseOverride, run } from "../../scripts/mirror";
import { defaultTestChartMirror } from "../helpers/real-charts";

const realMirror = defaultTestChartMirror();
const TIMEOUT_MS = 10_000;
const TOKEN = "anonymous-pull-token";

interface Served {
    server: http.Server;
    base: string;
    requests: string[];
    /** Path (without the leading /) -> bytes served instead of the file's. */
    tampered: Map<string, Buffer>;
}

async function listen(handler: (req: http.IncomingMessage, res: http.ServerResponse, base: string) => void): Promise<Served> {
    const requests: string[] = [];
    const served: Partial<Served> = { requests, tampered: new Map() };
    const server = http.createServer((req, res) => {
        requests.push(`${req.method} ${req.url}`);
        handler(req, res, served.base ?? "");
    });
    server.keepAliveTimeout = 100;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    served.server = server;
    served.base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    return served as Served;
}

/** The real mirror as a flat Helm repository: `/<file>`. */
async function helmRepository(): Promise<Served> {
    const served: Served = await listen((req, res) => {
        const name = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname.slice(1));
        const file = path.join(realMirror, path.basename(name));
        const body = served.tampered.get(name) ?? (name !== "" && fs.existsSync(file) ? fs.readFileSync(file) : undefined);
        if (body === undefined) {
            res.writeHead(404).end();
            return;
        }
        res.writeHead(200, { "Content-Length": body.length }).end(body);
    });
    return served;
}

/**
 * A registry holding `charts/<name>:<version>` for every archive of the real
 * mirror. Manifests and blobs need the bearer token from `/token`; blobs are
 * served by a redirect to `/storage/<digest>`, as registries backed by object
 * storage do.
 */
async function ociRegistry(): Promise<Served> {
    const archives = new Map<string, Buffer>();
    for (const f of fs.readdirSync(realMirror).filter((n) => n.endsWith(".tgz"))) {
        archives.set(f.replace(/\.tgz$/, ""), fs.readFileSync(path.join(realMirror, f)));
    }
    const blobs = new Map([...archives.values()].map((b) => [`sha256:${sha256Hex(b)}`, b]));
    const served: Served = await listen((req, res, base) => {
        const url = new URL(req.url ?? "/", base);
        if (url.pathname === "/token") {
            const ok = url.searchParams.get("service") === "test-registry" && /^repository:charts\/[^:]+:pull$/.test(url.searchParams.get("scope") ?? "");
            res.writeHead(ok ? 200 : 400, { "Content-Type": "application/json" }).end(JSON.stringify(ok ? { token: TOKEN } : { error: "bad scope" }));
            return;
        }
        const storage = /^\/storage\/(sha256:[0-9a-f]+)$/.exec(url.pathname);
        if (storage !== null) {
            const body = served.tampered.get(storage[1]) ?? blobs.get(storage[1]);
            res.writeHead(body ? 200 : 404).end(body);
            return;
        }
        const m = /^\/v2\/(charts\/[^/]+)\/(manifests|blobs)\/(.+)$/.exec(url.pathname);
        if (m === null) {
            res.writeHead(404).end();
            return;
        }
        const [, repository, kind, ref] = m;
        if (req.headers.authorization !== `Bearer ${TOKEN}`) {
            res.writeHead(401, {
                "WWW-Authenticate": `Bearer realm="${base}/token",service="test-registry",scope="repository:${repository}:pull"`,
            }).end();
            return;
        }
        if (kind === "blobs") {
            res.writeHead(blobs.has(ref) ? 307 : 404, { Location: `${base}/storage/${ref}` }).end();
            return;
        }
        const archive = archives.get(`${repository.slice("charts/".length)}-${decodeURIComponent(ref)}`);
        if (archive === undefined || req.headers.accept !== "application/vnd.oci.image.manifest.v1+json") {
            res.writeHead(404).end();
            return;
        }
        const manifest = {
            schemaVersion: 2,
            mediaType: "application/vnd.oci.image.manifest.v1+json",
            config: { mediaType: "application/vnd.cncf.helm.config.v1+json", digest: `sha256:${"0".repeat(64)}`, size: 2 },
            layers: [{ mediaType: HELM_CHART_LAYER, digest: `sha256:${sha256Hex(archive)}`, size: archive.length }],
            annotations: { "org.opencontainers.image.created": "2026-01-01T00:00:00Z" },
        };
        res.writeHead(200, { "Content-Type": manifest.mediaType }).end(JSON.stringify(manifest));
    });
    return served;
}

let repo: Served;
let registry: Served;
beforeAll(async () => {
    [repo, registry] = await Promise.all([helmRepository(), ociRegistry()]);
});
const tmpDirs: string[] = [];
afterAll(async () => {
    for (const d of tmpDirs) {
        fs.rmSync(d, { recursive: true, force: true });
    }
    for (const s of [repo, registry]) {
        s?.server.closeAllConnections();
        await new Promise<void>((r) => (s ? s.server.close(() => r()) : r()));
    }
});

const tmp = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "platform-mirror-"));
    tmpDirs.push(dir);
    return dir;
};
const manifest = PLATFORM_MANIFESTS[0];
const manifestFile = `${manifest.name}-${manifest.version}.yaml`;

/** Every file of the directory, hidden ones (partial downloads) included. */
const listing = (dir: string) => fs.readdirSync(dir).sort();

function expectVerifiedMirror(dir: string, charts: UpstreamChart[], report: MirrorReport) {
    expect(report.failed).toEqual([]);
    const index = parseYaml(fs.readFileSync(path.join(dir, "index.yaml"), "utf8")) as {
        apiVersion: string;
        entries: Record<string, { version: string; digest: string; urls: string[] }[]>;
    };
    expect(index.apiVersion).toBe("v1");
    for (const chart of charts) {
        const file = `${chart.name}-${chart.version}.tgz`;
        const data = fs.readFileSync(path.join(dir, file));
        expect(sha256Hex(data), file).toBe(sha256Hex(fs.readFileSync(path.join(realMirror, file))));
        expect(index.entries[chart.name], chart.name).toEqual([expect.objectContaining({ version: chart.version, digest: sha256Hex(data), urls: [file] })]);
    }
    expect(sha256Hex(fs.readFileSync(path.join(dir, manifestFile)))).toBe(manifest.sha256);
    expect(listing(dir).filter((f) => f.startsWith("."))).toEqual([]);
}

describe("fillMirror from an HTTPS-style Helm repository (one override URL)", () => {
    it("fetches every pinned chart and the manifest, verified, and the result passes preflight", async () => {
        const dir = tmp();
        const lines: string[] = [];
        const report = await fillMirror({ dir, override: repo.base, timeoutMs: TIMEOUT_MS, log: (l) => lines.push(l) });
        expectVerifiedMirror(dir, PLATFORM_CHARTS, report);
        expect(report.results.map((r) => r.status)).toEqual(Array(PLATFORM_CHARTS.length + 1).fill("fetched"));
        expect(lines).toHaveLength(PLATFORM_CHARTS.length + 2);
        const first = PLATFORM_CHARTS[0];
        const firstFile = `${first.name}-${first.version}.tgz`;
        expect(lines[0]).toBe(
            `fetched  chart ${first.name} ${first.version} -> ${firstFile}, ` +
                `sha256 ${sha256Hex(fs.readFileSync(path.join(realMirror, firstFile))).slice(0, 12)}… verified against ${repo.base}/index.yaml`,
        );
        expect(lines.at(-1)).toContain(`${PLATFORM_CHARTS.length + 1} fetched, 0 skipped (already verified), 0 failed; index.yaml lists ${PLATFORM_CHARTS.length} chart version(s)`);
        // One index download for the whole run (every pin reads the same repository).
        expect(repo.requests.filter((r) => r === "GET /index.yaml")).toHaveLength(1);
        await expect(preflightCharts(PLATFORM_CHARTS, dir, { manifests: PLATFORM_MANIFESTS })).resolves.toBeUndefined();

        // A second run downloads no archive again: everything already verifies.
        repo.requests.length = 0;
        const again = await fillMirror({ dir, override: repo.base, timeoutMs: TIMEOUT_MS });
        expect(again.results.map((r) => r.status)).toEqual(Array(PLATFORM_CHARTS.length + 1).fill("skipped"));
        expect(repo.requests).toEqual(["GET /index.yaml"]);
        expectVerifiedMirror(dir, PLATFORM_CHARTS, again);
    });

    it("refuses a served archive with other bytes, naming both digests, and writes nothing for it", async () => {
        const consul = PLATFORM_CHARTS.find((c) => c.name === "consul") ?? PLATFORM_CHARTS[0];
        const file = `${consul.name}-${consul.version}.tgz`;
        const real = fs.readFileSync(path.join(realMirror, file));
        const bad = Buffer.concat([real, Buffer.from("tampered")]);
        repo.tampered.set(file, bad);
        try {
            const dir = tmp();
            const report = await fillMirror({ dir, charts: [consul], manifests: [], override: repo.base, timeoutMs: TIMEOUT_MS });
            expect(report.failed).toHaveLength(1);
            expect(report.failed[0].error).toBe(
                `${repo.base}/${file} has sha256 ${sha256Hex(bad)}, ${repo.base}/index.yaml lists digest ${sha256Hex(real)}; nothing written`,
            );
            expect(listing(dir)).toEqual(["index.yaml"]);
            expect(parseYaml(fs.readFileSync(path.join(dir, "index.yaml"), "utf8"))).toMatchObject({ entries: {} });
        } finally {
            repo.tampered.clear();
        }
    });

    it("replaces a file already in the directory that does not verify", async () => {
        const vault = PLATFORM_CHARTS.find((c) => c.name === "vault") ?? PLATFORM_CHARTS[0];
        const file = `${vault.name}-${vault.version}.tgz`;
        const dir = tmp();
        fs.writeFileSync(path.join(dir, file), "stale");
        const report = await fillMirror({ dir, charts: [vault], manifests: [], override: repo.base, timeoutMs: TIMEOUT_MS });
        expect(report.results.map((r) => r.status)).toEqual(["fetched"]);
        expect(sha256Hex(fs.readFileSync(path.join(dir, file)))).toBe(sha256Hex(fs.readFileSync(path.join(realMirror, file))));
    });

    it("refuses a manifest whose bytes are not the pin's", async () => {
        const bad = Buffer.from("apiVersion: v1\nkind: Namespace\nmetadata: { name: evil }\n");
        repo.tampered.set(manifestFile, bad);
        try {
            const dir = tmp();
            const report = await fillMirror({ dir, charts: [], override: repo.base, timeoutMs: TIMEOUT_MS });
            expect(report.failed.map((r) => r.error)).toEqual([`${repo.base}/${manifestFile} has sha256 ${sha256Hex(bad)}, pinned ${manifest.sha256}; nothing written`]);
            expect(listing(dir)).toEqual(["index.yaml"]);
        } finally {
            repo.tampered.clear();
        }
    });

    it("refuses a chart whose archive is another chart, even with the index's digest", async () => {
        const vault = fs.readFileSync(path.join(realMirror, "vault-0.34.1.tgz"));
        const index = `apiVersion: v1\nentries:\n  consul:\n  - name: consul\n    version: 2.0.3\n    digest: ${sha256Hex(vault)}\n    urls: [vault-0.34.1.tgz]\n`;
        repo.tampered.set("index.yaml", Buffer.from(index));
        try {
            const dir = tmp();
            const consul: UpstreamChart = { name: "consul", version: "2.0.3", repository: "https://helm.releases.hashicorp.com" };
            const report = await fillMirror({ dir, charts: [consul], manifests: [], override: repo.base, timeoutMs: TIMEOUT_MS });
            expect(report.failed[0].error).toBe(`${repo.base}/index.yaml: Chart.yaml says vault 0.34.1, pinned consul 2.0.3; nothing written`);
            expect(listing(dir)).toEqual(["index.yaml"]);
        } finally {
            repo.tampered.clear();
        }
    });

    it("names the versions a repository has when it lacks the pin", async () => {
        const dir = tmp();
        const report = await fillMirror({ dir, charts: [{ name: "consul", version: "9.9.9", repository: "https://x.example" }], manifests: [], override: repo.base, timeoutMs: TIMEOUT_MS });
        expect(report.failed[0].error).toBe(`${repo.base}/index.yaml does not list it (it has 2.0.3, …)`);
    });
});

describe("fillMirror from an OCI registry and per-upstream overrides (JSON map)", () => {
    const oci = (c: UpstreamChart): UpstreamChart => ({ ...c, repository: "oci://registry.example.com/charts" });
    const vault = oci(PLATFORM_CHARTS.find((c) => c.name === "vault") ?? PLATFORM_CHARTS[0]);
    const loki = oci(PLATFORM_CHARTS.find((c) => c.name === "loki") ?? PLATFORM_CHARTS[0]);
    const https = PLATFORM_CHARTS.filter((c) => c.name !== vault.name && c.name !== loki.name);
    const override = () =>
        JSON.stringify({
            "oci://registry.example.com": registry.base,
            ...Object.fromEntries(https.map((c) => [c.repository, repo.base])),
            [manifest.url]: `${repo.base}/${manifestFile}`,
        });

    it("pulls charts through the token challenge, verifies their layer digests, and fills the rest from the map", async () => {
        const dir = tmp();
        const charts = [...https, vault, loki];
        const report = await fillMirror({ dir, charts, override: override(), timeoutMs: TIMEOUT_MS });
        expectVerifiedMirror(dir, charts, report);
        const pulled = report.results.find((r) => r.name === vault.name);
        expect(pulled).toMatchObject({ status: "fetched", source: `${registry.base}/v2/charts/vault:${vault.version}` });
        // Challenged once, then the token; the blob through the storage redirect.
        expect(registry.requests).toEqual(
            expect.arrayContaining([
                `GET /v2/charts/vault/manifests/${vault.version}`,
                `GET /token?service=test-registry&scope=repository%3Acharts%2Fvault%3Apull`,
                `GET /v2/charts/vault/blobs/sha256:${sha256Hex(fs.readFileSync(path.join(realMirror, `vault-${vault.version}.tgz`)))}`,
            ]),
        );
        await expect(preflightCharts(charts, dir, { manifests: PLATFORM_MANIFESTS })).resolves.toBeUndefined();

        // Again: the registry's manifest is read to check the file, the blob is not downloaded.
        registry.requests.length = 0;
        const again = await fillMirror({ dir, charts: [vault], manifests: [], override: override(), timeoutMs: TIMEOUT_MS });
        expect(again.results.map((r) => r.status)).toEqual(["skipped"]);
        expect(registry.requests.filter((r) => r.includes("/blobs/"))).toEqual([]);
        expectVerifiedMirror(dir, charts, again);
    });

    it("refuses a blob whose bytes do not have the manifest's digest, and writes nothing for it", async () => {
        const real = fs.readFileSync(path.join(realMirror, `vault-${vault.version}.tgz`));
        const bad = Buffer.from(real);
        bad[bad.length - 10] ^= 0xff;
        registry.tampered.set(`sha256:${sha256Hex(real)}`, bad);
        try {
            const dir = tmp();
            const report = await fillMirror({ dir, charts: [vault], manifests: [], override: override(), timeoutMs: TIMEOUT_MS });
            expect(report.failed.map((r) => r.error)).toEqual([
                `blob sha256:${sha256Hex(real)} of ${registry.base}/v2/charts/vault:${vault.version} has sha256 ${sha256Hex(bad)}, ` +
                    `its manifest lists digest ${sha256Hex(real)}; nothing written`,
            ]);
            expect(listing(dir)).toEqual(["index.yaml"]);
        } finally {
            registry.tampered.clear();
        }
    });

    it("reports a version the registry does not have", async () => {
        const report = await fillMirror({ dir: tmp(), charts: [{ ...vault, version: "9.9.9" }], manifests: [], override: override(), timeoutMs: TIMEOUT_MS });
        expect(report.failed[0].error).toBe(`GET ${registry.base}/v2/charts/vault/manifests/9.9.9: HTTP 404 (no such chart version in the registry)`);
    });
});

describe("the override and the command line", () => {
    it("maps repositories by the longest prefix, keeping OCI paths and explicit registry schemes", () => {
        const map = parseOverride(JSON.stringify({ "https://charts.example.com": "https://proxy/a", "https://charts.example.com/sub": "https://proxy/b", "oci://ghcr.io": "http://127.0.0.1:5000/ghcr" }));
        const chart = (repository: string): UpstreamChart => ({ name: "c", version: "1", repository });
        expect(chartOrigin(chart("https://charts.example.com/"), map)).toEqual({ kind: "repository", index: "https://proxy/a/index.yaml" });
        expect(chartOrigin(chart("https://charts.example.com/sub"), map)).toEqual({ kind: "repository", index: "https://proxy/b/index.yaml" });
        expect(chartOrigin(chart("https://charts.example.com.evil/x"), map)).toEqual({ kind: "repository", index: "https://charts.example.com.evil/x/index.yaml" });
        expect(chartOrigin(chart("oci://ghcr.io/org/charts"), map)).toEqual({ kind: "oci", registry: "http://127.0.0.1:5000", repository: "ghcr/org/charts/c" });
        expect(chartOrigin(chart("oci://quay.io/org"), map)).toEqual({ kind: "oci", registry: "https://quay.io", repository: "org/c" });
        expect(chartOrigin(chart("oci://quay.io/org"), parseOverride("https://flat.example/mirror/"))).toEqual({ kind: "repository", index: "https://flat.example/mirror/index.yaml" });
    });

    it("refuses a malformed override", () => {
        expect(() => parseOverride("{not json")).toThrow(`${OVERRIDE_VARIABLE} is not valid JSON`);
        expect(() => parseOverride('{"https://a.example": 3}')).toThrow("both must be http(s):// or oci:// URLs");
        expect(() => parseOverride("ftp://proxy")).toThrow("must be an http(s) URL or a JSON object");
    });

    it("prints one line per artifact and the summary, exits 1 on a failure and 2 on bad usage", async () => {
        const out: string[] = [];
        const err: string[] = [];
        const io = { out: (t: string) => out.push(t), err: (t: string) => err.push(t) };
        expect(await run([], {}, io)).toBe(2);
        expect(err.join("")).toContain("usage: ./platform mirror <dir>");
        expect(await run([tmp()], { [OVERRIDE_VARIABLE]: "ftp://x" }, io)).toBe(2);

        const dir = tmp();
        out.length = 0;
        expect(await run([dir], { [OVERRIDE_VARIABLE]: repo.base, PLATFORM_MIRROR_TIMEOUT_MS: String(TIMEOUT_MS) }, io)).toBe(0);
        expect(out.join("").trim().split("\n")).toHaveLength(PLATFORM_CHARTS.length + 2);

        repo.tampered.set(manifestFile, Buffer.from("other"));
        fs.rmSync(path.join(dir, manifestFile));
        try {
            err.length = 0;
            expect(await run([dir], { [OVERRIDE_VARIABLE]: repo.base, PLATFORM_MIRROR_TIMEOUT_MS: String(TIMEOUT_MS) }, io)).toBe(1);
            expect(err.join("")).toContain(`1 artifact(s) failed:\n  - manifest ${manifest.name} ${manifest.version}: ${repo.base}/${manifestFile} has sha256`);
        } finally {
            repo.tampered.clear();
        }
    });
});
