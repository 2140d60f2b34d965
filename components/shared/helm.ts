import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { ChartMirror, resolveChartSource, UpstreamChart } from "./chart";
import { HelmValues, mergeValues } from "./chart-values/merge";
import { Cluster } from "./cluster";
import { compactCrdTransform } from "./crd-schema";
import { ContainerResources } from "./kubernetes";
import { postRendererCommand } from "./post-render";

export interface PlatformChartArgs {
    /** The cluster the chart is installed in. */
    cluster: Cluster;
    /** The pinned upstream chart. */
    chart: UpstreamChart;
    /** Where charts are read from in this environment. Default: upstream. */
    mirror?: ChartMirror;
    /** Namespace of the release. */
    namespace: pulumi.Input<string>;
    /** Helm values: the component's own (its `charts.ts` values function). */
    values: HelmValues;
    /**
     * Values merged last over `values` (the environment's `platform:chartValues`
     * for this release): maps merge, lists and scalars replace. Default: none.
     */
    valuesOverride?: HelmValues;
    /** Labels added to every object the chart renders (the standard labels). */
    labels: Record<string, string>;
    /** Release name. Default: the chart name. */
    releaseName?: string;
    /** Resources the chart waits for (CRDs, namespaces). */
    dependsOn?: pulumi.Input<pulumi.Resource>[];
    /**
     * Requests and limits for containers the chart has no value for (by
     * container name): they are set on the rendered workloads. Default: none.
     */
    unconfigurableContainers?: Record<string, ContainerResources>;
    /** Protect the chart's PersistentVolumeClaims from deletion (prod: the data outlives a mistaken destroy). Default: false. */
    protectVolumeClaims?: boolean;
    /**
     * The chart renders `kubernetes.io/service-account-token` Secrets: create
     * each after its ServiceAccount, as Helm would (see `post-render.ts`).
     * Off by default: the post-renderer costs a Node start per render.
     */
    orderServiceAccountTokens?: boolean;
}

/** Types that are not Kubernetes objects and so take no labels. */
function isKubernetesObject(type: string): boolean {
    return type.startsWith("kubernetes:") && !type.startsWith("kubernetes:helm.sh/") && !type.startsWith("kubernetes:yaml/");
}

/**
 * Label keys the platform owns on every object, whatever a chart says: its
 * own keys, and managed-by (Pulumi manages the objects, not Helm).
 */
export function isPlatformOwnedLabel(key: string): boolean {
    return key.startsWith("platform.example.com/") || key === "app.kubernetes.io/managed-by";
}

/**
 * Adds the platform's labels to one object's labels. A chart's own labels win
 * (its Services, ServiceMonitors and PodDisruptionBudgets select on them:
 * overwriting `app.kubernetes.io/name` or `instance` made them select
 * nothing), except the keys the platform owns.
 */
export function mergePlatformLabels(chartLabels: Record<string, string> | undefined, labels: Record<string, string>): Record<string, string> {
    const merged: Record<string, string> = { ...(chartLabels ?? {}) };
    for (const [key, value] of Object.entries(labels)) {
        if (isPlatformOwnedLabel(key) || merged[key] === undefined) {
            merged[key] = value;
        }
    }
    return merged;
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
            props: { ...args.props, metadata: { ...props.metadata, labels: mergePlatformLabels(props.metadata?.labels, labels) } },
            opts: args.opts,
        };
    };
}

interface PodSpecLike {
    containers?: { name: string; resources?: unknown }[];
    initContainers?: { name: string; resources?: unknown }[];
}

/** The pod spec inside a workload's props (Deployment, StatefulSet, DaemonSet, Job: `spec.template.spec`). */
function podSpecOf(props: unknown): PodSpecLike | undefined {
    return (props as { spec?: { template?: { spec?: PodSpecLike } } }).spec?.template?.spec;
}

/**
 * A resource transform that gives the named containers of a chart's workloads
 * requests and limits, where the chart renders them without any and offers
 * no value to set them (an upstream gap, not a policy exception).
 */
export function containerResourcesTransform(byName: Record<string, ContainerResources>): pulumi.ResourceTransform {
    return (args) => {
        const pod = podSpecOf(args.props);
        if (!isKubernetesObject(args.type) || !pod) {
            return undefined;
        }
        const fill = <T extends { name: string; resources?: unknown }>(list: T[] | undefined) =>
            list?.map((c) => (byName[c.name] && !c.resources ? { ...c, resources: byName[c.name] } : c));
        const props = args.props as { spec: { template: { spec: PodSpecLike } } };
        return {
            props: {
                ...args.props,
                spec: {
                    ...props.spec,
                    template: {
                        ...props.spec.template,
                        spec: { ...pod, containers: fill(pod.containers), initContainers: fill(pod.initContainers) },
                    },
                },
            },
            opts: args.opts,
        };
    };
}

/** A resource transform that protects the PersistentVolumeClaims a chart renders. */
export function protectVolumeClaimsTransform(): pulumi.ResourceTransform {
    return (args) => (args.type === "kubernetes:core/v1:PersistentVolumeClaim" ? { props: args.props, opts: { ...args.opts, protect: true } } : undefined);
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

const RBAC_ROLE_TYPES = ["kubernetes:rbac.authorization.k8s.io/v1:Role", "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"];

/**
 * Charts declare `rules: []` on Roles they fill only on some platforms
 * (consul's server Role). The API server stores an empty list as no list,
 * so the refreshed object differs from the state and every drift check
 * reports the Role. Declaring no rules instead means the same and reads back
 * the same.
 */
export function omitEmptyRulesTransform(): pulumi.ResourceTransform {
    return (args) => {
        const props = args.props as { rules?: unknown };
        if (!RBAC_ROLE_TYPES.includes(args.type) || !Array.isArray(props.rules) || props.rules.length > 0) {
            return undefined;
        }
        const { rules: _empty, ...rest } = args.props as Record<string, unknown>;
        return { props: rest, opts: args.opts };
    };
}

/**
 * One transform doing what `transforms` do in turn, each seeing the previous
 * one's result; undefined when none changed anything. Pulumi calls every
 * registered transform of every resource over gRPC with the resource's whole
 * props, so one composed transform, not one per concern, keeps a program run
 * from shipping each object (CRD schemas included) back and forth several
 * times (README "Performance").
 */
export function composeTransforms(transforms: pulumi.ResourceTransform[]): pulumi.ResourceTransform {
    return async (args) => {
        let current = args;
        let changed = false;
        for (const transform of transforms) {
            const result = await transform(current);
            if (result) {
                current = { ...current, props: result.props, opts: result.opts ?? current.opts };
                changed = true;
            }
        }
        return changed ? { props: current.props, opts: current.opts } : undefined;
    };
}

/**
 * What the objects of one chart or manifest get besides the stack's transform
 * (their labels, resources for containers the chart cannot configure, PVC
 * protection), by the name of the Chart or ConfigFile that renders them. The
 * stack transform applies it: as a `transforms` option of the chart it would
 * be a second gRPC round trip of each object's props.
 */
const renderedObjectTransforms = new Map<string, pulumi.ResourceTransform>();

/**
 * Gives the objects that the Chart or ConfigFile named `parentName` renders
 * these transforms, in order (run before the stack's own). Nothing under
 * mocks, which refuse transforms and never register a chart's children.
 */
export function transformRenderedObjects(parentName: string, transforms: pulumi.ResourceTransform[]): void {
    if (!pulumi.runtime.hasEngine() || transforms.length === 0) {
        return;
    }
    if (renderedObjectTransforms.has(parentName)) {
        throw new Error(`two charts or manifests are named ${parentName}: their objects' transforms would be mixed up`);
    }
    renderedObjectTransforms.set(parentName, composeTransforms(transforms));
    // The stack transform is what applies them: a program that did not register it yet (it should, first) must not lose them.
    registerStackTransforms();
}

/** A resource's URN, once known (a chart child's parent is a reference the engine passed back). */
function urnOf(resource: pulumi.Resource): Promise<string> {
    return new Promise((resolve) => resource.urn.apply(resolve));
}

/**
 * The transform of a chart's or manifest's object, if `args` is one: the
 * provider names each `<parent name>:<namespace>/<object>`, and its parent is
 * the resource of that name.
 */
async function renderedObjectTransformOf(args: pulumi.ResourceTransformArgs): Promise<pulumi.ResourceTransform | undefined> {
    const colon = args.name.indexOf(":");
    const transform = colon > 0 ? renderedObjectTransforms.get(args.name.slice(0, colon)) : undefined;
    if (!transform || !args.opts.parent) {
        return undefined;
    }
    return (await urnOf(args.opts.parent)).endsWith(`::${args.name.slice(0, colon)}`) ? transform : undefined;
}

/**
 * The one transform of every resource of the stack: a chart's or manifest's
 * own first (`transformRenderedObjects`), then `compactCrdTransform`
 * (crd-schema.ts: CRDs without schema prose keep the state, rewritten at
 * every step, a third of its size; and the later steps handle the smaller
 * object), `omitEmptyRulesTransform` and `driftRepairTransform`.
 */
export function stackTransform(): pulumi.ResourceTransform {
    const own = composeTransforms([compactCrdTransform(), omitEmptyRulesTransform(), driftRepairTransform()]);
    return async (args) => {
        const rendered = await renderedObjectTransformOf(args);
        return rendered ? composeTransforms([rendered, own])(args) : own(args);
    };
}

let stackTransformRegistered = false;

/**
 * Registers `stackTransform`, once per program (not under mocks, which refuse
 * transforms). A program calls it before its first resource: it applies only
 * to resources registered after it.
 */
export function registerStackTransforms(): void {
    if (pulumi.runtime.hasEngine() && !stackTransformRegistered) {
        pulumi.runtime.registerResourceTransform(stackTransform());
        stackTransformRegistered = true;
    }
}

/** What a chart's objects get besides the stack's transform: its labels, then the resources of containers it has no value for, then PVC protection. */
function chartTransforms(args: PlatformChartArgs): pulumi.ResourceTransform[] {
    const transforms = [labelTransform(args.labels)];
    if (args.unconfigurableContainers) {
        transforms.push(containerResourcesTransform(args.unconfigurableContainers));
    }
    if (args.protectVolumeClaims) {
        transforms.push(protectVolumeClaimsTransform());
    }
    return transforms;
}

/** Installs a pinned upstream chart (or its mirror copy) with the standard labels on every object. */
export function platformChart(name: string, args: PlatformChartArgs, opts: pulumi.ComponentResourceOptions): k8s.helm.v4.Chart {
    const source = resolveChartSource(args.chart, args.mirror);
    transformRenderedObjects(name, chartTransforms(args));
    return new k8s.helm.v4.Chart(
        name,
        {
            name: args.releaseName ?? args.chart.name,
            chart: source.chart,
            version: source.version,
            repositoryOpts: source.repositoryOpts,
            namespace: args.namespace,
            values: mergeValues(args.values, args.valuesOverride),
            postRenderer: args.orderServiceAccountTokens ? pulumi.output(args.namespace).apply(postRendererCommand) : undefined,
        },
        {
            ...opts,
            provider: args.cluster.provider,
            dependsOn: args.dependsOn,
        },
    );
}
