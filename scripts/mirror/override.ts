/** PLATFORM_MIRROR_UPSTREAM_OVERRIDE, and where each pin is fetched from with it applied (scripts/mirror.ts). */
import * as path from "node:path";

import { resolveManifestSource, UpstreamChart, UpstreamManifest } from "../../components/shared/chart";

export const OVERRIDE_VARIABLE = "PLATFORM_MIRROR_UPSTREAM_OVERRIDE";

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
