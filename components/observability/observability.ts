import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { MESH_NAMESPACES, OBSERVABILITY_NAMESPACE } from "../mesh";
import { PlatformNamespace } from "../namespace";
import { ChartMirror } from "../shared/chart";
import { Cluster } from "../shared/cluster";
import { GeneratedSecret } from "../shared/generated-secret";
import { platformChart } from "../shared/helm";
import {
    ALLOW_KUBE_API,
    checkCount,
    checkDuration,
    checkQuantity,
    containerResources,
    deliveredStatus,
    serviceHost,
    withDefaults,
} from "../shared/kubernetes";
import { ComponentType, namespaceRecordId, RECORD_IDS, RecordSource, ResourceRecord, resourceRecord } from "../shared/records";
import { StandardTags, standardLabels } from "../shared/tags";
import { FLUENT_BIT_CHART, JAEGER_CHART, KIALI_CHART, KUBE_PROMETHEUS_STACK_CHART, LOKI_CHART } from "./charts";

export interface ObservabilityArgs {
    /** The cluster to observe. */
    cluster: Cluster;
    /** The environment's standard tags (become labels). */
    tags: StandardTags;
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
}

/**
 * Prometheus's size-based retention for a volume: 85% of it, so old blocks
 * are dropped before the disk fills (Prometheus's "GB" is 2^30 bytes).
 */
export function retentionSizeFor(volume: string): string {
    const match = /^([0-9]+)(Ki|Mi|Gi|Ti)$/.exec(volume);
    if (!match) {
        throw new Error(`retentionSizeFor: "${volume}" is not a size such as 20Gi`);
    }
    const mib = parseInt(match[1], 10) * { Ki: 1 / 1024, Mi: 1, Gi: 1024, Ti: 1024 * 1024 }[match[2] as "Ki" | "Mi" | "Gi" | "Ti"];
    return `${Math.floor(mib * 0.85)}MB`;
}

/** Where the mesh sends traces (OTLP gRPC on Jaeger's collector). */
export const TRACING_ENDPOINT = { host: serviceHost("jaeger", OBSERVABILITY_NAMESPACE), port: 4317 };

const TYPE: ComponentType = "platform:observability:Observability";

/**
 * Metrics, traces and logs for the whole platform: kube-prometheus-stack
 * (Prometheus, Alertmanager, Grafana), Jaeger as the mesh's tracing backend,
 * Kiali on top of both, and Fluent Bit shipping every container's logs to
 * Loki. The namespace stays outside the mesh: Prometheus scrapes sidecars on
 * their plaintext metrics port, which STRICT mTLS would otherwise refuse.
 */
export class Observability extends pulumi.ComponentResource implements RecordSource {
    public readonly namespaceName = OBSERVABILITY_NAMESPACE;
    public readonly grafanaUrl = `http://${serviceHost("kube-prometheus-stack-grafana", OBSERVABILITY_NAMESPACE)}`;
    public readonly prometheusUrl = `http://${serviceHost("kube-prometheus-stack-prometheus", OBSERVABILITY_NAMESPACE)}:9090`;
    public readonly lokiUrl = `http://${serviceHost("loki", OBSERVABILITY_NAMESPACE)}:3100`;
    public readonly jaegerQueryUrl = `http://${serviceHost("jaeger", OBSERVABILITY_NAMESPACE)}:16686`;
    /** The chart that installs the Prometheus operator's CRDs (ServiceMonitor, PodMonitor); depend on it to create monitors. */
    public readonly monitoringCrds: k8s.helm.v4.Chart;
    public readonly records: ResourceRecord[];

    constructor(name: string, args: ObservabilityArgs, opts?: pulumi.ComponentResourceOptions) {
        validateObservabilityArgs(name, args);
        super(TYPE, name, {}, opts);
        const a = withDefaults(defaults, args);
        const ns = OBSERVABILITY_NAMESPACE;
        const labels = (component: string) => standardLabels(a.tags, { name: "observability", instance: name, component });
        const volume = (size: string) => ({
            accessModes: ["ReadWriteOnce"],
            storageClassName: a.storageClass,
            resources: { requests: { storage: size } },
        });

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
                    { name: "webhook", podSelector: { app: "kube-prometheus-stack-operator" }, ports: [{ port: 10250 }], peers: "anywhere" },
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
                labels: labels("metrics"),
                values: {
                    fullnameOverride: "kube-prometheus-stack",
                    prometheusOperator: {
                        resources: containerResources("50m", "128Mi", "512Mi"),
                        // The chart's certificate jobs are Helm hooks, which the platform does not run:
                        // cert-manager issues the admission webhook's certificate instead.
                        admissionWebhooks: { certManager: { enabled: true } },
                        prometheusConfigReloader: { resources: containerResources("10m", "32Mi", "64Mi") },
                    },
                    prometheus: {
                        prometheusSpec: {
                            replicas: a.replicas,
                            retention: a.metricsRetention,
                            retentionSize: retentionSizeFor(a.metricsStorage),
                            storageSpec: { volumeClaimTemplate: { spec: volume(a.metricsStorage) } },
                            resources: containerResources("200m", "1Gi", "4Gi"),
                            // Pick up every ServiceMonitor/PodMonitor, not only the chart's own.
                            serviceMonitorSelectorNilUsesHelmValues: false,
                            podMonitorSelectorNilUsesHelmValues: false,
                            ruleSelectorNilUsesHelmValues: false,
                        },
                    },
                    alertmanager: {
                        alertmanagerSpec: {
                            replicas: a.replicas,
                            storage: { volumeClaimTemplate: { spec: volume("2Gi") } },
                            resources: containerResources("10m", "64Mi", "256Mi"),
                        },
                    },
                    grafana: {
                        admin: { existingSecret: grafanaAdmin.secretName, userKey: "admin-user", passwordKey: "admin-password" },
                        resources: containerResources("50m", "256Mi", "512Mi"),
                        // lookupVolumeName asks the cluster, which render mode has not got.
                        persistence: { enabled: true, size: "5Gi", storageClassName: a.storageClass, lookupVolumeName: false },
                        initChownData: { resources: containerResources("10m", "16Mi", "32Mi") },
                        sidecar: { resources: containerResources("10m", "64Mi", "128Mi") },
                        additionalDataSources: [
                            { name: "Loki", type: "loki", uid: "loki", url: this.lokiUrl, access: "proxy" },
                            { name: "Jaeger", type: "jaeger", uid: "jaeger", url: this.jaegerQueryUrl, access: "proxy" },
                        ],
                    },
                    "kube-state-metrics": { resources: containerResources("10m", "64Mi", "256Mi") },
                    "prometheus-node-exporter": { resources: containerResources("10m", "32Mi", "128Mi") },
                },
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
                labels: labels("tracing"),
                values: {
                    fullnameOverride: "jaeger",
                    // Jaeger v2's built-in configuration: all in one, in-memory storage.
                    jaeger: { resources: containerResources("100m", "256Mi", "1Gi") },
                },
                dependsOn: [namespace],
            },
            { parent: this },
        );

        platformChart(
            `${name}-kiali`,
            {
                ...chartArgs,
                chart: KIALI_CHART,
                labels: labels("mesh-console"),
                values: {
                    auth: { strategy: "token" },
                    login_token: { signing_key: `secret:${kialiSigningKey.secretName}:key` },
                    // Autodetecting remote clusters lists Secrets through lookup, which render mode cannot answer.
                    clustering: { autodetect_secrets: { enabled: false } },
                    deployment: { resources: containerResources("10m", "128Mi", "1Gi") },
                    external_services: {
                        istio: { root_namespace: MESH_NAMESPACES.control },
                        prometheus: { url: this.prometheusUrl },
                        grafana: { enabled: true, internal_url: this.grafanaUrl },
                        tracing: { enabled: true, provider: "jaeger", use_grpc: true, internal_url: `http://${serviceHost("jaeger", ns)}:16685` },
                    },
                },
                dependsOn: [namespace, kialiSigningKey, ...(a.dependsOn ?? [])],
            },
            { parent: this },
        );

        platformChart(
            `${name}-loki`,
            {
                ...chartArgs,
                chart: LOKI_CHART,
                labels: labels("logs"),
                values: {
                    fullnameOverride: "loki",
                    deploymentMode: "SingleBinary",
                    loki: {
                        auth_enabled: false,
                        commonConfig: { replication_factor: 1 },
                        storage: { type: "filesystem" },
                        schemaConfig: {
                            configs: [
                                {
                                    from: "2025-01-01",
                                    store: "tsdb",
                                    object_store: "filesystem",
                                    schema: "v13",
                                    index: { prefix: "index_", period: "24h" },
                                },
                            ],
                        },
                        limits_config: { retention_period: a.logsRetention },
                        compactor: { retention_enabled: true, delete_request_store: "filesystem" },
                    },
                    singleBinary: {
                        replicas: 1,
                        persistence: { size: a.logsStorage, storageClass: a.storageClass },
                        resources: containerResources("100m", "256Mi", "1Gi"),
                    },
                    // Single-binary mode: the scalable targets, caches and canary are off.
                    read: { replicas: 0 },
                    write: { replicas: 0 },
                    backend: { replicas: 0 },
                    gateway: { enabled: false },
                    chunksCache: { enabled: false },
                    resultsCache: { enabled: false },
                    lokiCanary: { enabled: false },
                    sidecar: { resources: containerResources("10m", "64Mi", "128Mi") },
                    test: { enabled: false },
                },
                dependsOn: [namespace],
            },
            { parent: this },
        );

        platformChart(
            `${name}-fluent-bit`,
            {
                ...chartArgs,
                chart: FLUENT_BIT_CHART,
                labels: labels("log-shipping"),
                values: {
                    fullnameOverride: "fluent-bit",
                    resources: containerResources("20m", "64Mi", "256Mi"),
                    config: {
                        outputs: [
                            "[OUTPUT]",
                            "    Name loki",
                            "    Match kube.*",
                            `    Host ${serviceHost("loki", ns)}`,
                            "    Port 3100",
                            `    Labels job=fluent-bit, environment=${a.tags.environment}`,
                            "    Auto_Kubernetes_Labels on",
                        ].join("\n"),
                    },
                },
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
            record("jaeger", 1, [`http://${serviceHost("jaeger", ns)}:13133/status`], [], [this.jaegerQueryUrl]),
            record("kiali", 1, [`http://${serviceHost("kiali", ns)}:20001/kiali/healthz`], ["observability/prometheus", "observability/jaeger", RECORD_IDS.istiod]),
            record("loki", 1, [`${this.lokiUrl}/ready`], []),
            record("fluent-bit", 1, [`http://${serviceHost("fluent-bit", ns)}:2020/api/v1/health`], ["observability/loki"]),
        ];
        this.registerOutputs({ grafanaUrl: this.grafanaUrl, prometheusUrl: this.prometheusUrl });
    }
}
