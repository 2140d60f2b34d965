import { UpstreamChart } from "../shared/chart";

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
