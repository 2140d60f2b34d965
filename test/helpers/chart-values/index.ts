/**
 * The chart-values checker (components/shared/chart-values, where production
 * code checks a stack's `platform:chartValues` with it), and what only the
 * tests use: the real chart mirror, unpacked with `tar`, and recorded values
 * without their secret wrappers. components/shared/chart-values/index.ts says
 * what counts as a value of a chart.
 */
export {
    chartFromSources,
    chartValueReason,
    describeUnknown,
    isChartValue,
    leafPaths,
    readChartDirectory,
    showPath,
    templateReferences,
    unknownValues,
} from "../../../components/shared/chart-values";
export type { ChartModel, ChartSources, JsonSchema, TemplateReference, UnknownValue } from "../../../components/shared/chart-values";
export { chartMirrorDirectory, loadMirroredChart, unpackMirroredChart, unwrapSecrets } from "./load";
