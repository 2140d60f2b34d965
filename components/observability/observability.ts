import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { MESH_NAMESPACES, OBSERVABILITY_NAMESPACE } from "../mesh";
import { PlatformNamespace } from "../namespace";
import { ChartMirror } from "../shared/chart";
import { checkValuesOverride, ValuesOverride } from "../shared/chart-values";
import { Cluster } from "../shared/cluster";
import { GeneratedSecret } from "../shared/generated-secret";
import { platformChart } from "../shared/helm";
import { ALLOW_KUBE_API, checkCount, checkDuration, checkQuantity, deliveredStatus, serviceHost, withDefaults } from "../shared/kubernetes";
import { ComponentType, namespaceRecordId, RECORD_IDS, RecordSource, ResourceRecord, resourceRecord } from "../shared/records";
import { StandardTags, standardLabels } from "../shared/tags";
import {
    FLUENT_BIT_CHART,
    fluentBitValues,
    JAEGER_CHART,
    jaegerValues,
    KIALI_CHART,
    kialiValues,
    KUBE_PROMETHEUS_STACK_CHART,
    kubePrometheusStackValues,
    LOKI_CHART,
    lokiValues,
    OBSERVABILITY_RELEASE_CHARTS,
    ObservabilityRelease,
} from "./charts";

export interface ObservabilityArgs {
    /** The cluster to observe. */
    cluster: Cluster;
    /** The environment's standard tags (become labels). */
    tags: StandardTags;
    /** Namespace of this instance. Default: the instance's name (the platform's `observability` instance: `observability`, OBSERVABILITY_NAMESPACE). */
    namespace?: string;
    /**
     * Prefix of every release name and of the charts' object names
     * (`<prefix>kube-prometheus-stack`, `<prefix>jaeger`, `<prefix>loki`,
     * `<prefix>fluent-bit`, `<prefix>kiali-server`), so that a second
     * instance's cluster-wide objects (ClusterRoles…) do not collide.
     * Default: `<name>-`; the platform's instance passes `""` (the chart names).
     */
    releasePrefix?: string;
    /** How long Prometheus keeps metrics. Default: `7d`. */
    metricsRetention?: string;
    /** Prometheus volume size. Default: `20Gi`. */
    metricsStorage?: string;
    /** How long Loki keeps logs. Default: `168h` (7 days). */
    logsRetention?: string;
    /** Loki volume size. Default: `20Gi`. */
    logsStorage?: string;
    /** Prometheus and Alertmanager replicas. Default: 1. */
    replicas?: number;
    /** Storage class for every volume. Default: the cluster's default class. */
    storageClass?: string;
    /** Chart mirror of the environment. Default: upstream repositories. */
    chartMirror?: ChartMirror;
    /** Protect the volumes the charts claim (Grafana's) from deletion. Default: false; true in prod. */
    protect?: boolean;
    /** What must exist first: cert-manager (the Prometheus operator's webhook certificate) and the mesh (whose CRDs Kiali reads). Default: nothing. */
    dependsOn?: pulumi.Input<pulumi.Resource>[];
    /**
     * Values merged last over the charts' (`charts.ts`), by release:
     * `kube-prometheus-stack`, `jaeger`, `kiali-server`, `loki`, `fluent-bit`. Default: none.
     */
    valuesOverride?: ValuesOverride<ObservabilityRelease>;
}

const defaults = {
    metricsRetention: "7d",
    metricsStorage: "20Gi",
    logsRetention: "168h",
    logsStorage: "20Gi",
    replicas: 1,
} as const;

/** Throws a message naming the setting and what is allowed. */
export function validateObservabilityArgs(name: string, args: ObservabilityArgs): void {
    const c = `observability "${name}"`;
    checkDuration(c, "metricsRetention", args.metricsRetention);
    checkDuration(c, "logsRetention", args.logsRetention);
    checkQuantity(c, "metricsStorage", args.metricsStorage);
    if (args.metricsStorage !== undefined && /^[0-9]+(Ki|Mi)$/.test(args.metricsStorage)) {
        throw new Error(`${c}: metricsStorage is "${args.metricsStorage}"; allowed: 1Gi or more`);
    }
    checkQuantity(c, "logsStorage", args.logsStorage);
    checkCount(c, "replicas", args.replicas, 1, 5);
    checkValuesOverride(c, args.valuesOverride, Object.keys(OBSERVABILITY_RELEASE_CHARTS));
}

/** Where the mesh sends traces (OTLP gRPC on Jaeger's collector) for an instance in `namespace` with `releasePrefix`. */
export function tracingEndpoint(namespace: string, releasePrefix: string): { host: string; port: number } {
    return { host: serviceHost(`${releasePrefix}jaeger`, namespace), port: 4317 };
}

/** The platform's instance's tracing endpoint (`observability` namespace, the charts' own release names). */
export const TRACING_ENDPOINT = tracingEndpoint(OBSERVABILITY_NAMESPACE, "");

const TYPE: ComponentType = "platform:observability:Observability";

/**
 * Metrics, traces and logs for the whole platform: kube-prometheus-stack
 * (Prometheus, Alertmanager, Grafana), Jaeger as the mesh's tracing backend,
 * Kiali on top of both, and Fluent Bit shipping every container's logs to
 * Loki. The namespace stays outside the mesh: Prometheus scrapes sidecars on
 * their plaintext metrics port, which STRICT mTLS would otherwise refuse.
 */
export class Observability extends pulumi.ComponentResource implements RecordSource {
    /** Namespace of this instance (`args.namespace`, default the instance's name). */
    public readonly namespaceName: string;
    /** Prefix of the release names (`args.releasePrefix`, default `<name>-`). */
    public readonly releasePrefix: string;
    /** Where the mesh sends traces to this instance's Jaeger. */
    public readonly tracingEndpoint: { host: string; port: number };
    public readonly grafanaUrl: string;
    public readonly prometheusUrl: string;
    public readonly lokiUrl: string;
    public readonly jaegerQueryUrl: string;
    /** The chart that installs the Prometheus operator's CRDs (ServiceMonitor, PodMonitor); depend on it to create monitors. */
    public readonly monitoringCrds: k8s.helm.v4.Chart;
    public readonly records: ResourceRecord[];

    constructor(name: string, args: ObservabilityArgs, opts?: pulumi.ComponentResourceOptions) {
        validateObservabilityArgs(name, args);
        super(TYPE, name, {}, opts);
        const a = withDefaults(defaults, args);
        const ns = args.namespace ?? name;
        const p = args.releasePrefix ?? `${name}-`;
        this.namespaceName = ns;
        this.releasePrefix = p;
        this.tracingEndpoint = tracingEndpoint(ns, p);
        this.grafanaUrl = `http://${serviceHost(`${p}kube-prometheus-stack-grafana`, ns)}`;
        this.prometheusUrl = `http://${serviceHost(`${p}kube-prometheus-stack-prometheus`, ns)}:9090`;
        this.lokiUrl = `http://${serviceHost(`${p}loki`, ns)}:3100`;
        this.jaegerQueryUrl = `http://${serviceHost(`${p}jaeger`, ns)}:16686`;
        const labels = (component: string) => standardLabels(a.tags, { name: "observability", instance: name, component });

        const namespace = new PlatformNamespace(
            `${name}-ns`,
            {
                cluster: a.cluster,
                namespaceName: ns,
                tags: a.tags,
                allowIngress: [
                    // Sidecars and gateways in every namespace send spans over OTLP.
                    { name: "otlp", ports: [{ port: 4317 }, { port: 4318 }], peers: "anywhere" },
                    // The UIs are published through the ingress gateway.
                    { name: "ingress-gateway", peers: { namespaces: [MESH_NAMESPACES.ingress] } },
                    { name: "webhook", podSelector: { app: `${p}kube-prometheus-stack-operator` }, ports: [{ port: 10250 }], peers: "anywhere" },
                ],
                // Prometheus scrapes every namespace and node; Fluent Bit and Kiali read the API server.
                allowEgress: [ALLOW_KUBE_API, { name: "scrape", peers: "anywhere" }],
            },
            { parent: this },
        );

        const grafanaAdmin = new GeneratedSecret(
            `${name}-grafana-admin`,
            {
                namespace: ns,
                secretName: "grafana-admin",
                generatedKeys: ["admin-password"],
                fixed: { "admin-user": "admin" },
                labels: labels("grafana"),
                provider: a.cluster.provider,
                rendered: a.cluster.deliveryMode === "render",
            },
            { parent: this, dependsOn: [namespace] },
        );

        // Kiali signs its login tokens with this key. Unset, the chart renders a
        // new random key into its ConfigMap on every run: never the same twice,
        // and in a ConfigMap. Kiali mounts it from the Secret instead.
        const kialiSigningKey = new GeneratedSecret(
            `${name}-kiali-signing-key`,
            {
                namespace: ns,
                secretName: "kiali-signing-key",
                generatedKeys: ["key"],
                labels: labels("mesh-console"),
                provider: a.cluster.provider,
                rendered: a.cluster.deliveryMode === "render",
            },
            { parent: this, dependsOn: [namespace] },
        );

        const chartArgs = { cluster: a.cluster, mirror: a.chartMirror, namespace: ns };
        this.monitoringCrds = platformChart(
            `${name}-prometheus`,
            {
                ...chartArgs,
                chart: KUBE_PROMETHEUS_STACK_CHART,
                releaseName: `${p}${KUBE_PROMETHEUS_STACK_CHART.name}`,
                labels: labels("metrics"),
                values: kubePrometheusStackValues({
                    replicas: a.replicas,
                    metricsRetention: a.metricsRetention,
                    metricsStorage: a.metricsStorage,
                    storageClass: a.storageClass,
                    grafanaAdminSecret: grafanaAdmin.secretName,
                    lokiUrl: this.lokiUrl,
                    jaegerQueryUrl: this.jaegerQueryUrl,
                    releasePrefix: p,
                }),
                valuesOverride: a.valuesOverride?.["kube-prometheus-stack"],
                // cert-manager first: the operator's webhook certificate is a cert-manager Certificate.
                dependsOn: [namespace, grafanaAdmin, ...(a.dependsOn ?? [])],
                protectVolumeClaims: a.protect,
            },
            { parent: this },
        );

        platformChart(
            `${name}-jaeger`,
            {
                ...chartArgs,
                chart: JAEGER_CHART,
                releaseName: `${p}${JAEGER_CHART.name}`,
                labels: labels("tracing"),
                values: jaegerValues({ releasePrefix: p }),
                valuesOverride: a.valuesOverride?.jaeger,
                dependsOn: [namespace],
            },
            { parent: this },
        );

        platformChart(
            `${name}-kiali`,
            {
                ...chartArgs,
                chart: KIALI_CHART,
                releaseName: `${p}${KIALI_CHART.name}`,
                labels: labels("mesh-console"),
                values: kialiValues({
                    namespace: ns,
                    signingKeySecret: kialiSigningKey.secretName,
                    prometheusUrl: this.prometheusUrl,
                    grafanaUrl: this.grafanaUrl,
                    releasePrefix: p,
                }),
                valuesOverride: a.valuesOverride?.["kiali-server"],
                dependsOn: [namespace, kialiSigningKey, ...(a.dependsOn ?? [])],
            },
            { parent: this },
        );

        platformChart(
            `${name}-loki`,
            {
                ...chartArgs,
                chart: LOKI_CHART,
                releaseName: `${p}${LOKI_CHART.name}`,
                labels: labels("logs"),
                values: lokiValues({ logsRetention: a.logsRetention, logsStorage: a.logsStorage, storageClass: a.storageClass, releasePrefix: p }),
                valuesOverride: a.valuesOverride?.loki,
                dependsOn: [namespace],
            },
            { parent: this },
        );

        platformChart(
            `${name}-fluent-bit`,
            {
                ...chartArgs,
                chart: FLUENT_BIT_CHART,
                releaseName: `${p}${FLUENT_BIT_CHART.name}`,
                labels: labels("log-shipping"),
                values: fluentBitValues({ namespace: ns, environment: a.tags.environment, releasePrefix: p }),
                valuesOverride: a.valuesOverride?.["fluent-bit"],
                dependsOn: [namespace],
            },
            { parent: this },
        );

        const status = deliveredStatus(a.cluster);
        const record = (id: string, count: number, statusEndpoints: string[], dependsOn: string[], entrypoints: string[] = []) =>
            resourceRecord(TYPE, {
                id: `observability/${id}`,
                count,
                status,
                entrypoints,
                statusEndpoints,
                dependsOn: [namespaceRecordId(ns), ...dependsOn],
            });
        this.records = [
            ...namespace.records,
            record("prometheus", a.replicas, [`${this.prometheusUrl}/-/ready`], []),
            record("grafana", 1, [`${this.grafanaUrl}/api/health`], ["observability/prometheus", "observability/loki", "observability/jaeger"], [this.grafanaUrl]),
            record("jaeger", 1, [`http://${serviceHost(`${p}jaeger`, ns)}:13133/status`], [], [this.jaegerQueryUrl]),
            record("kiali", 1, [`http://${serviceHost("kiali", ns)}:20001/kiali/healthz`], ["observability/prometheus", "observability/jaeger", RECORD_IDS.istiod]),
            record("loki", 1, [`${this.lokiUrl}/ready`], []),
            record("fluent-bit", 1, [`http://${serviceHost(`${p}fluent-bit`, ns)}:2020/api/v1/health`], ["observability/loki"]),
        ];
        this.registerOutputs({ namespaceName: this.namespaceName, grafanaUrl: this.grafanaUrl, prometheusUrl: this.prometheusUrl });
    }
}
