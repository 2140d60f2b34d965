import * as fs from "node:fs";
import * as https from "node:https";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";

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
}

/** Where a manifest is read from: the upstream URL, or the mirror directory's copy. An OCI mirror holds charts only. */
export function resolveManifestSource(upstream: UpstreamManifest, mirror: ChartMirror): string {
    if (mirror === undefined || mirror === "" || mirror.startsWith("oci://")) {
        return upstream.url;
    }
    return path.resolve(mirror, `${upstream.name}-${upstream.version}.yaml`);
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
 * a mirror directory must hold it, an upstream repository must answer. The
 * error names each chart and the mirror setting, so an offline or air-gapped
 * run stops before touching anything.
 */
export async function preflightCharts(
    charts: UpstreamChart[],
    mirror: ChartMirror,
    options: { timeoutMs?: number; manifests?: UpstreamManifest[] } = {},
): Promise<void> {
    const problems: string[] = [];
    for (const manifest of options.manifests ?? []) {
        const source = resolveManifestSource(manifest, mirror);
        if (source !== manifest.url) {
            if (!fs.existsSync(source)) {
                problems.push(`manifest ${manifest.name} ${manifest.version} is not in the mirror (expected ${source})`);
            }
        } else if (!(await urlAnswers(new URL(manifest.url), options.timeoutMs ?? 3000))) {
            problems.push(`manifest ${manifest.name} ${manifest.version}: ${manifest.url} cannot be reached`);
        }
    }
    for (const chart of charts) {
        const source = resolveChartSource(chart, mirror);
        if (mirror && !mirror.startsWith("oci://")) {
            if (!fs.existsSync(source.chart)) {
                problems.push(
                    `chart ${chart.name} ${chart.version} is not in the mirror ${path.resolve(mirror)} ` +
                        `(expected ${chart.name}/ or ${chart.name}-${chart.version}.tgz)`,
                );
            }
        } else if (!mirror && !(await repositoryAnswers(chart.repository, options.timeoutMs ?? 3000))) {
            problems.push(`chart ${chart.name} ${chart.version}: its repository ${chart.repository} cannot be reached`);
        }
    }
    if (problems.length > 0) {
        throw new pulumi.RunError(
            `cannot read the Helm charts and manifests of this environment:\n${problems.map((p) => `  - ${p}`).join("\n")}\n` +
                `Set ${CHART_MIRROR_SETTING} to a directory or an oci:// registry that mirrors them.`,
        );
    }
}
