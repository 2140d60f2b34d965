/**
 * Chart values: the checker that says whether a path of Helm values is a
 * value of a chart (Helm ignores keys it does not know, so a misspelt or
 * renamed value is silently dropped), the releases components install, and
 * the per-environment overrides merged last over a component's values.
 *
 * A leaf path of the values is a value of the chart when
 *
 * - values.yaml has it (Istio's charts: under `_internal_defaults_do_not_set`,
 *   which their templates/zzz_profile.yaml merges into the top level);
 * - its nearest ancestor in values.yaml is free-form: `{}`, null or a list, a
 *   map of user-chosen keys (`*annotations`, `*labels`, `*nodeSelector`,
 *   `*env`, `*selector`), or a Kubernetes object the chart copies into its
 *   pods as it is (`resources`, `affinity`, `securityContext`, `tolerations`…);
 * - the templates (templates/, files/, `_helpers.tpl`, subcharts') reference
 *   `.Values.<path>` (`$.Values`, `index .Values "a" "b"`, `((.Values.a).b)`),
 *   or a prefix of it that values.yaml leaves open, or pass a prefix of it on
 *   whole (`toYaml`, `toJson`, `omit`, merged last over the chart's settings);
 * - values.schema.json declares it (or an object of it without properties);
 * - it is under a subchart's key (alias or name) and a value of the subchart,
 *   or under `global` and a value of any chart of the release, or under a key
 *   the templates merge into the top level (istiod's `pilot.*`).
 */
export { chartValueReason, describeUnknown, isChartValue, unknownValues } from "./check";
export type { UnknownValue } from "./check";
export { isPlainMap, mergeValues } from "./merge";
export type { HelmValues, ValuesOverride } from "./merge";
export { chartFromSources, showPath, templateReferences } from "./model";
export type { ChartModel, ChartSources, JsonSchema, TemplateReference } from "./model";
export { chartReleases, checkOverridesInMirror, checkValuesOverride, overrideProblems, overridesOf } from "./releases";
export type { ChartRelease, OverrideProblem } from "./releases";
export { leafPaths, loadChartModel, readChartDirectory, readChartPackage } from "./sources";
