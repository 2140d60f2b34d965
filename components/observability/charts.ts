import { MESH_NAMESPACES } from "../mesh/charts";
import { UpstreamChart } from "../shared/chart";
import { chartReleases, HelmValues } from "../shared/chart-values";
import { containerResources, serviceHost } from "../shared/kubernetes";

/** Prometheus, Alertmanager, Grafana and the Prometheus operator. */
export const KUBE_PROMETHEUS_STACK_CHART: UpstreamChart = {
    name: "kube-prometheus-stack",
    version: "88.5.3",
    repository: "https://prometheus-community.github.io/helm-charts",
};

/** Jaeger v2 (OpenTelemetry-based), the mesh's tracing backend. */
export const JAEGER_CHART: UpstreamChart = {
    name: "jaeger",
    version: "4.11.1",
    repository: "https://jaegertracing.github.io/helm-charts",
};

/** Kiali, the mesh console, as the server chart (no operator to run). */
export const KIALI_CHART: UpstreamChart = {
    name: "kiali-server",
    version: "2.29.0",
    repository: "https://kiali.org/helm-charts",
};

/** Loki, the log store. The OSS chart moved to grafana-community in 2026 (grafana's own repo now ships the enterprise one). */
export const LOKI_CHART: UpstreamChart = {
    name: "loki",
    version: "18.11.0",
    repository: "https://grafana-community.github.io/helm-charts",
};

/** Fluent Bit, shipping container logs from every node to Loki. */
export const FLUENT_BIT_CHART: UpstreamChart = {
    name: "fluent-bit",
    version: "0.58.1",
    repository: "https://fluent.github.io/helm-charts",
};

export const OBSERVABILITY_CHARTS = [KUBE_PROMETHEUS_STACK_CHART, JAEGER_CHART, KIALI_CHART, LOKI_CHART, FLUENT_BIT_CHART];

/** The releases Observability installs, by release name (the keys of its `valuesOverride`): each chart once, under its own name. */
export const OBSERVABILITY_RELEASE_CHARTS = {
    "kube-prometheus-stack": KUBE_PROMETHEUS_STACK_CHART,
    jaeger: JAEGER_CHART,
    "kiali-server": KIALI_CHART,
    loki: LOKI_CHART,
    "fluent-bit": FLUENT_BIT_CHART,
} as const;
export type ObservabilityRelease = keyof typeof OBSERVABILITY_RELEASE_CHARTS;

/**
 * Keys kiali-server hands to Kiali's configuration without listing them in
 * values.yaml: its templates/configmap.yaml writes `omit .Values
 * "kiali_route_url"` as Kiali's config.yaml, and the Prometheus URL is Kiali's
 * `external_services.prometheus.url` (kialis.kiali.io CR reference).
 */
export const KIALI_APPLICATION_KEYS: readonly (readonly string[])[] = [["external_services", "prometheus", "url"]];

/** `observability/kube-prometheus-stack`, `observability/jaeger`, `observability/kiali-server`, `observability/loki`, `observability/fluent-bit` in `platform:chartValues`. */
export const OBSERVABILITY_RELEASES = chartReleases("observability", OBSERVABILITY_RELEASE_CHARTS, { "kiali-server": KIALI_APPLICATION_KEYS });

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

/** A ReadWriteOnce volume claim spec. */
function volume(size: string, storageClass: string | undefined) {
    return { accessModes: ["ReadWriteOnce"], storageClassName: storageClass, resources: { requests: { storage: size } } };
}

/** What kube-prometheus-stack's values depend on. */
export interface KubePrometheusStackValuesArgs {
    /** Prometheus and Alertmanager replicas. */
    replicas: number;
    metricsRetention: string;
    metricsStorage: string;
    storageClass?: string;
    /** Secret with Grafana's `admin-user` and `admin-password`. */
    grafanaAdminSecret: string;
    /** Grafana's data sources. */
    lokiUrl: string;
    jaegerQueryUrl: string;
    /** Prefix of the release name and of the chart's object names (`<prefix>kube-prometheus-stack-…`). Default: none. */
    releasePrefix?: string;
}

/** kube-prometheus-stack's values: the operator (webhook certificate from cert-manager), Prometheus, Alertmanager and Grafana. */
export function kubePrometheusStackValues(args: KubePrometheusStackValuesArgs): HelmValues {
    return {
        fullnameOverride: `${args.releasePrefix ?? ""}kube-prometheus-stack`,
        prometheusOperator: {
            resources: containerResources("50m", "128Mi", "512Mi"),
            // The chart's certificate jobs are Helm hooks, which the platform does not run:
            // cert-manager issues the admission webhook's certificate instead.
            admissionWebhooks: { certManager: { enabled: true } },
            prometheusConfigReloader: { resources: containerResources("10m", "32Mi", "64Mi") },
        },
        prometheus: {
            prometheusSpec: {
                replicas: args.replicas,
                retention: args.metricsRetention,
                retentionSize: retentionSizeFor(args.metricsStorage),
                storageSpec: { volumeClaimTemplate: { spec: volume(args.metricsStorage, args.storageClass) } },
                resources: containerResources("200m", "1Gi", "4Gi"),
                // Pick up every ServiceMonitor/PodMonitor, not only the chart's own.
                serviceMonitorSelectorNilUsesHelmValues: false,
                podMonitorSelectorNilUsesHelmValues: false,
                ruleSelectorNilUsesHelmValues: false,
            },
        },
        alertmanager: {
            alertmanagerSpec: {
                replicas: args.replicas,
                storage: { volumeClaimTemplate: { spec: volume("2Gi", args.storageClass) } },
                resources: containerResources("10m", "64Mi", "256Mi"),
            },
        },
        grafana: {
            admin: { existingSecret: args.grafanaAdminSecret, userKey: "admin-user", passwordKey: "admin-password" },
            resources: containerResources("50m", "256Mi", "512Mi"),
            // lookupVolumeName asks the cluster, which render mode has not got.
            persistence: { enabled: true, size: "5Gi", storageClassName: args.storageClass, lookupVolumeName: false },
            initChownData: { resources: containerResources("10m", "16Mi", "32Mi") },
            sidecar: { resources: containerResources("10m", "64Mi", "128Mi") },
            additionalDataSources: [
                { name: "Loki", type: "loki", uid: "loki", url: args.lokiUrl, access: "proxy" },
                { name: "Jaeger", type: "jaeger", uid: "jaeger", url: args.jaegerQueryUrl, access: "proxy" },
            ],
        },
        "kube-state-metrics": { resources: containerResources("10m", "64Mi", "256Mi") },
        "prometheus-node-exporter": { resources: containerResources("10m", "32Mi", "128Mi") },
    };
}

/** Jaeger's values: v2's built-in configuration, all in one, in-memory storage. */
export function jaegerValues(args: { releasePrefix?: string } = {}): HelmValues {
    return {
        fullnameOverride: `${args.releasePrefix ?? ""}jaeger`,
        jaeger: { resources: containerResources("100m", "256Mi", "1Gi") },
    };
}

/** What kiali-server's values depend on. */
export interface KialiValuesArgs {
    /** Namespace of Jaeger (and Kiali). */
    namespace: string;
    /** Secret whose `key` signs Kiali's login tokens. */
    signingKeySecret: string;
    prometheusUrl: string;
    grafanaUrl: string;
    /** Prefix of the release names (Jaeger's Service is `<prefix>jaeger`). Default: none. */
    releasePrefix?: string;
}

/** kiali-server's values: token login, a signing key from a Secret, and where Istio, Prometheus, Grafana and Jaeger are. */
export function kialiValues(args: KialiValuesArgs): HelmValues {
    return {
        auth: { strategy: "token" },
        login_token: { signing_key: `secret:${args.signingKeySecret}:key` },
        // Autodetecting remote clusters lists Secrets through lookup, which render mode cannot answer.
        clustering: { autodetect_secrets: { enabled: false } },
        deployment: { resources: containerResources("10m", "128Mi", "1Gi") },
        external_services: {
            istio: { root_namespace: MESH_NAMESPACES.control },
            prometheus: { url: args.prometheusUrl },
            grafana: { enabled: true, internal_url: args.grafanaUrl },
            tracing: { enabled: true, provider: "jaeger", use_grpc: true, internal_url: `http://${serviceHost(`${args.releasePrefix ?? ""}jaeger`, args.namespace)}:16685` },
        },
    };
}

/** Loki's values: single binary on a filesystem volume, retention on, the scalable targets, caches and canary off. */
export function lokiValues(args: { logsRetention: string; logsStorage: string; storageClass?: string; releasePrefix?: string }): HelmValues {
    return {
        fullnameOverride: `${args.releasePrefix ?? ""}loki`,
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
            limits_config: { retention_period: args.logsRetention },
            compactor: { retention_enabled: true, delete_request_store: "filesystem" },
        },
        singleBinary: {
            replicas: 1,
            persistence: { size: args.logsStorage, storageClass: args.storageClass },
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
    };
}

/** Fluent Bit's values: every container's logs to Loki in `namespace`, labelled with the environment. */
export function fluentBitValues(args: { namespace: string; environment: string; releasePrefix?: string }): HelmValues {
    const prefix = args.releasePrefix ?? "";
    return {
        fullnameOverride: `${prefix}fluent-bit`,
        resources: containerResources("20m", "64Mi", "256Mi"),
        config: {
            outputs: [
                "[OUTPUT]",
                "    Name loki",
                "    Match kube.*",
                `    Host ${serviceHost(`${prefix}loki`, args.namespace)}`,
                "    Port 3100",
                `    Labels job=fluent-bit, environment=${args.environment}`,
                "    Auto_Kubernetes_Labels on",
            ].join("\n"),
        },
    };
}
