import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { Cluster } from "../cluster/types";
import { ChartMirror, resolveChartSource, UpstreamChart } from "./chart";

export interface PlatformChartArgs {
    /** The cluster the chart is installed in. */
    cluster: Cluster;
    /** The pinned upstream chart. */
    chart: UpstreamChart;
    /** Where charts are read from in this environment. Default: upstream. */
    mirror?: ChartMirror;
    /** Namespace of the release. */
    namespace: pulumi.Input<string>;
    /** Helm values. */
    values: pulumi.Inputs;
    /** Labels added to every object the chart renders (the standard labels). */
    labels: Record<string, string>;
    /** Release name. Default: the chart name. */
    releaseName?: string;
    /** Resources the chart waits for (CRDs, namespaces). */
    dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/** Types that are not Kubernetes objects and so take no labels. */
function isKubernetesObject(type: string): boolean {
    return type.startsWith("kubernetes:") && !type.startsWith("kubernetes:helm.sh/") && !type.startsWith("kubernetes:yaml/");
}

/**
 * A resource transform that adds labels to every Kubernetes object a chart or
 * manifest renders. Upstream charts do not take arbitrary labels for all their
 * objects, and the policy pack requires the standard labels on every object.
 */
export function labelTransform(labels: Record<string, string>): pulumi.ResourceTransform {
    return (args) => {
        if (!isKubernetesObject(args.type)) {
            return undefined;
        }
        const props = args.props as { metadata?: { labels?: Record<string, string> } };
        return {
            props: { ...args.props, metadata: { ...props.metadata, labels: { ...(props.metadata?.labels ?? {}), ...labels } } },
            opts: args.opts,
        };
    };
}

/** The provider's annotation for taking fields back from other field managers. */
export const PATCH_FORCE_ANNOTATION = "pulumi.com/patchForce";

/**
 * The program is the source of truth for the objects it declares. Under
 * server-side apply a field changed with kubectl (edit, scale, patch) belongs
 * to kubectl afterwards, and the next `up` would stop on a conflict instead
 * of repairing the drift; with this annotation the provider forces the
 * declared values back. A stack transform, so that charts' objects get it too.
 */
export function driftRepairTransform(): pulumi.ResourceTransform {
    return (args) => {
        if (!isKubernetesObject(args.type)) {
            return undefined;
        }
        const props = args.props as { metadata?: { annotations?: Record<string, string> } };
        return {
            props: { ...args.props, metadata: { ...props.metadata, annotations: { ...(props.metadata?.annotations ?? {}), [PATCH_FORCE_ANNOTATION]: "true" } } },
            opts: args.opts,
        };
    };
}

/** Registers `driftRepairTransform` for the whole stack (not under mocks, which refuse transforms). */
export function registerDriftRepair(): void {
    if (pulumi.runtime.hasEngine()) {
        pulumi.runtime.registerResourceTransform(driftRepairTransform());
    }
}

/**
 * The label transform for a chart or manifest. Pulumi's mock runtime refuses
 * transforms (and never registers a chart's children), so under mocks, where
 * there is no engine, none is attached; the engine tests check the labels.
 */
export function labelTransforms(labels: Record<string, string>): pulumi.ResourceTransform[] {
    return pulumi.runtime.hasEngine() ? [labelTransform(labels)] : [];
}

/** Installs a pinned upstream chart (or its mirror copy) with the standard labels on every object. */
export function platformChart(name: string, args: PlatformChartArgs, opts: pulumi.ComponentResourceOptions): k8s.helm.v4.Chart {
    const source = resolveChartSource(args.chart, args.mirror);
    return new k8s.helm.v4.Chart(
        name,
        {
            name: args.releaseName ?? args.chart.name,
            chart: source.chart,
            version: source.version,
            repositoryOpts: source.repositoryOpts,
            namespace: args.namespace,
            values: args.values,
        },
        {
            ...opts,
            provider: args.cluster.provider,
            dependsOn: args.dependsOn,
            transforms: labelTransforms(args.labels),
        },
    );
}
