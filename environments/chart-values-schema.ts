/**
 * `platform:chartValues`: Helm values an environment merges last over a
 * component's own, keyed by the release they are for, `<component>/<release>`
 * (`mesh/istiod`, `observability/kube-prometheus-stack`; the releases are in
 * each component's charts.ts, listed in components/upstream.ts). In a stack
 * file, a map:
 *
 *     platform:chartValues:
 *       observability/kube-prometheus-stack:
 *         grafana:
 *           replicas: 2
 *
 * Pulumi passes it to the program as JSON. The keys are checked here (a
 * release the template does not install is refused, naming the ones it
 * does); the values' paths against the real charts when the program runs
 * (chart-values.ts), where the charts can be read.
 */
import { z } from "zod";

import { ChartRelease, HelmValues, isPlainMap } from "../components/shared/chart-values";
import { IN_CLUSTER_POSTGRES_RELEASES, IN_CLUSTER_RELEASES } from "../components/upstream";
import { editDistance } from "./edit-distance";
import { EnvironmentTemplate, isCloudTemplate } from "./template-registry";

/** The setting, as messages name it. */
export const CHART_VALUES_SETTING = "platform:chartValues";

/** Overrides by `<component>/<release>`. */
export type ChartValues = Readonly<Record<string, HelmValues>>;

/**
 * The releases a template installs, which `platform:chartValues` may name:
 * every in-cluster component's (the Barman Cloud plugin only comes with
 * backups, which no template turns on); the cloud templates' Postgres is a
 * managed server, so they install no CloudNativePG.
 */
export function chartReleasesOf(template: EnvironmentTemplate): ChartRelease[] {
    return isCloudTemplate(template) ? IN_CLUSTER_RELEASES.filter((r) => !IN_CLUSTER_POSTGRES_RELEASES.includes(r)) : IN_CLUSTER_RELEASES;
}

const SHAPE = 'must be a map of <component>/<release> to Helm values, such as {"mesh/istiod": {"autoscaleMin": 2}}';

/** The setting's value: a map (JSON text as Pulumi passes it, or the map itself) of maps. The keys are checked per template (chartValuesKeyIssues). */
export const chartValuesSetting = z.unknown().transform((value, ctx): ChartValues => {
    let parsed: unknown = value;
    if (typeof value === "string") {
        try {
            parsed = JSON.parse(value);
        } catch (e) {
            ctx.addIssue({ code: "custom", message: `${SHAPE} (not JSON: ${(e as Error).message})` });
            return z.NEVER;
        }
    }
    if (!isPlainMap(parsed)) {
        ctx.addIssue({ code: "custom", message: SHAPE });
        return z.NEVER;
    }
    for (const [key, values] of Object.entries(parsed)) {
        if (!isPlainMap(values)) {
            ctx.addIssue({ code: "custom", path: [key], message: `must be a map of Helm values (got ${JSON.stringify(values)})` });
        }
    }
    return parsed as ChartValues;
});

/** What is wrong with the keys of `chartValues` for `template`: each key that names no release the template installs. */
export function chartValuesKeyIssues(chartValues: ChartValues | undefined, template: EnvironmentTemplate): { key: string; message: string }[] {
    const allowed = chartReleasesOf(template).map((r) => r.key);
    const listed = `allowed: ${allowed.join(", ")}`;
    return Object.keys(chartValues ?? {})
        .filter((key) => !allowed.includes(key))
        .map((key) => {
            const known = IN_CLUSTER_RELEASES.some((r) => r.key === key) || IN_CLUSTER_POSTGRES_RELEASES.some((r) => r.key === key);
            if (known) {
                return { key, message: `the ${template} template does not install this release; ${listed}` };
            }
            const near = closestRelease(key, allowed);
            return { key, message: `is not a release of the ${template} template (keys are <component>/<release>); ${near ? `did you mean ${near}? ` : ""}${listed}` };
        });
}

/** The allowed key a misspelt one was probably meant to be: the one with the same release name, or one at most 3 edits away. */
function closestRelease(key: string, allowed: readonly string[]): string | undefined {
    const release = key.slice(key.indexOf("/") + 1);
    const sameRelease = allowed.filter((k) => k.slice(k.indexOf("/") + 1) === release);
    if (sameRelease.length === 1) {
        return sameRelease[0];
    }
    let best: { key: string; distance: number } | undefined;
    for (const candidate of allowed) {
        const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
        if (distance <= 3 && (best === undefined || distance < best.distance)) {
            best = { key: candidate, distance };
        }
    }
    return best?.key;
}
