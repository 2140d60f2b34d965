/** Pulls Helm charts from an OCI registry (the distribution API, anonymous bearer tokens). */
import { get, getOk } from "./http";

export const HELM_CHART_LAYER = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";

/** The OCI distribution API, pull only, with the anonymous bearer-token flow. */
export class OciClient {
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
