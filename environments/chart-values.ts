/**
 * Checks `platform:chartValues` against the real charts, before any
 * resource is registered: every leaf path of an override must be a value of
 * the chart it is for (Helm drops keys it does not know without a word, so a
 * misspelt override would silently do nothing). The charts can be read when
 * they come from a mirror directory (preflightCharts has checked they are
 * the pins); from an upstream repository or an `oci://` mirror they are not
 * downloaded for this, and the check is skipped with a warning.
 */
import * as pulumi from "@pulumi/pulumi";

import { ChartMirror, mirrorDirectory } from "../components/shared/chart";
import { checkOverridesInMirror, ChartRelease, HelmValues } from "../components/shared/chart-values";
import { CHART_VALUES_SETTING, ChartValues, chartReleasesOf } from "./chart-values-schema";
import { ConfigError } from "./config-errors";
import { EnvironmentTemplate } from "./template-registry";

/** The lines of every problem of `chartValues` in the charts of `mirrorDir` (each names the setting, the release, the path and the chart). */
export function chartValuesProblems(chartValues: ChartValues | undefined, template: EnvironmentTemplate, mirrorDir: string): string[] {
    const releases = new Map(chartReleasesOf(template).map((r) => [r.key, r]));
    const overrides: { release: ChartRelease; values: HelmValues }[] = [];
    for (const [key, values] of Object.entries(chartValues ?? {})) {
        const release = releases.get(key);
        // The loader has refused keys the template does not install; one that got here anyway is named, not skipped.
        if (release === undefined) {
            return [`${CHART_VALUES_SETTING}[${JSON.stringify(key)}]: is not a release of the ${template} template`];
        }
        overrides.push({ release, values });
    }
    return checkOverridesInMirror(overrides, mirrorDir).map((p) => `${CHART_VALUES_SETTING}[${JSON.stringify(p.release.key)}]: ${p.problem}`);
}

/**
 * Throws a ConfigError naming every override path that is not a value of
 * its chart; the charts are read from the mirror directory. Without
 * overrides, nothing is read.
 */
export function checkChartValues(config: { template: EnvironmentTemplate; chartValues?: ChartValues; chartMirror?: ChartMirror }): void {
    if (Object.keys(config.chartValues ?? {}).length === 0) {
        return;
    }
    const directory = mirrorDirectory(config.chartMirror);
    if (directory === undefined) {
        const from = config.chartMirror ? `the registry ${config.chartMirror}` : "their upstream repositories";
        void pulumi.log.warn(`${CHART_VALUES_SETTING} is not checked against the charts: they are read from ${from}, not a mirror directory`);
        return;
    }
    const problems = chartValuesProblems(config.chartValues, config.template, directory);
    if (problems.length > 0) {
        throw new ConfigError(`invalid stack configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    }
}
