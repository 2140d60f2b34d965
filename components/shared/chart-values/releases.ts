/**
 * The Helm releases components install, as `platform:chartValues` names
 * them (`<component>/<release>`), and how an override is checked against the
 * release's real chart.
 */
import { resolveChartSource, UpstreamChart } from "../chart";
import { unknownValues } from "./check";
import { HelmValues, isPlainMap, ValuesOverride } from "./merge";
import { ChartModel, showPath } from "./model";
import { loadChartModel } from "./sources";

/** One release a component installs. */
export interface ChartRelease {
    /** `<component>/<release>`, e.g. `mesh/istiod`: the key of `platform:chartValues`. */
    key: string;
    /** The component's folder name, e.g. `mesh`. */
    component: string;
    /** The Helm release name, e.g. `istio-ingressgateway`: unique within the component. */
    release: string;
    chart: UpstreamChart;
    /**
     * Paths the chart hands to its application's configuration without
     * listing them in values.yaml (only for charts that pass all of `.Values`
     * on, see `ChartModel.passesAllValues`). Default: none.
     */
    applicationKeys?: readonly (readonly string[])[];
}

/** The releases of a component, from its release names and their charts. */
export function chartReleases(
    component: string,
    charts: Readonly<Record<string, UpstreamChart>>,
    applicationKeys: Readonly<Record<string, readonly (readonly string[])[]>> = {},
): ChartRelease[] {
    return Object.entries(charts).map(([release, chart]) => ({
        key: `${component}/${release}`,
        component,
        release,
        chart,
        ...(applicationKeys[release] ? { applicationKeys: applicationKeys[release] } : {}),
    }));
}

/** The overrides of one component's releases, by release name, from overrides keyed `<component>/<release>`. Undefined when there are none. */
export function overridesOf(component: string, chartValues: Readonly<Record<string, HelmValues>> | undefined): ValuesOverride | undefined {
    const prefix = `${component}/`;
    const own = Object.entries(chartValues ?? {}).filter(([key]) => key.startsWith(prefix));
    return own.length === 0 ? undefined : Object.fromEntries(own.map(([key, values]) => [key.slice(prefix.length), values]));
}

/**
 * Throws when a component's `valuesOverride` names a release it does not
 * install, or holds something other than a map of values for one.
 * `context` names the component, as its other validation messages do.
 */
export function checkValuesOverride(context: string, override: ValuesOverride | undefined, releases: readonly string[]): void {
    for (const [release, values] of Object.entries(override ?? {})) {
        if (!releases.includes(release)) {
            throw new Error(`${context}: valuesOverride has "${release}"; allowed: ${releases.join(", ")} (the releases it installs)`);
        }
        if (values !== undefined && !isPlainMap(values)) {
            throw new Error(`${context}: valuesOverride["${release}"] is ${JSON.stringify(values)}; allowed: a map of Helm values`);
        }
    }
}

/**
 * What is wrong with an override of `release`'s values, against the checker's
 * model of its chart: one line per unknown path, e.g. `grafana.persistance is
 * not a value of the chart kube-prometheus-stack 88.5.3
 * (charts/grafana/values.yaml:312 has grafana.persistence)`.
 */
export function overrideProblems(release: ChartRelease, model: ChartModel, values: HelmValues): string[] {
    return unknownValues(model, values, release.applicationKeys ?? []).map((u) => {
        const hint = u.hint ? `${u.hint.where} has ${showPath(u.hint.path)}` : "no similar key beside it";
        return `${showPath(u.path)} is not a value of the chart ${model.name} ${model.version} (${hint})`;
    });
}

/** One problem of an override, and the release it is for. */
export interface OverrideProblem {
    release: ChartRelease;
    problem: string;
}

/**
 * Checks overrides against the real charts in a directory mirror (the chart
 * helm would read there, packaged or unpacked; preflightCharts has checked it
 * is the pin). Each chart is read once, in-process.
 */
export function checkOverridesInMirror(overrides: readonly { release: ChartRelease; values: HelmValues }[], mirrorDir: string): OverrideProblem[] {
    const models = new Map<string, ChartModel | Error>();
    const problems: OverrideProblem[] = [];
    for (const { release, values } of overrides) {
        const source = resolveChartSource(release.chart, mirrorDir).chart;
        let model = models.get(source);
        if (model === undefined) {
            try {
                model = loadChartModel(source);
            } catch (e) {
                model = e instanceof Error ? e : new Error(String(e));
            }
            models.set(source, model);
        }
        if (model instanceof Error) {
            problems.push({ release, problem: `chart ${release.chart.name} ${release.chart.version} cannot be read from ${source} (${model.message})` });
            continue;
        }
        problems.push(...overrideProblems(release, model, values).map((problem) => ({ release, problem })));
    }
    return problems;
}
