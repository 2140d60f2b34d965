import { UpstreamChart } from "../shared/chart";
import { chartReleases, HelmValues } from "../shared/chart-values";
import { containerResources } from "../shared/kubernetes";

/** Istio release the mesh runs; every Istio chart is pinned to it. */
export const ISTIO_VERSION = "1.30.3";
const ISTIO_REPOSITORY = "https://istio-release.storage.googleapis.com/charts";

export const ISTIO_BASE_CHART: UpstreamChart = { name: "base", version: ISTIO_VERSION, repository: ISTIO_REPOSITORY };
export const ISTIOD_CHART: UpstreamChart = { name: "istiod", version: ISTIO_VERSION, repository: ISTIO_REPOSITORY };
export const ISTIO_GATEWAY_CHART: UpstreamChart = { name: "gateway", version: ISTIO_VERSION, repository: ISTIO_REPOSITORY };

/** Namespaces of the mesh control plane and gateways. */
export const MESH_NAMESPACES = {
    control: "istio-system",
    ingress: "istio-ingress",
    egress: "istio-egress",
} as const;

/** The gateways the mesh runs; each is a release of the gateway chart, `istio-<role>gateway`. */
export type GatewayRole = "ingress" | "egress";
export const gatewayReleaseName = (role: GatewayRole) => `istio-${role}gateway` as const;

/** The releases IstioMesh installs, by release name (the keys of its `valuesOverride`). */
export const MESH_RELEASE_CHARTS = {
    base: ISTIO_BASE_CHART,
    istiod: ISTIOD_CHART,
    "istio-ingressgateway": ISTIO_GATEWAY_CHART,
    "istio-egressgateway": ISTIO_GATEWAY_CHART,
} as const;
export type MeshRelease = keyof typeof MESH_RELEASE_CHARTS;
/** `mesh/base`, `mesh/istiod`, `mesh/istio-ingressgateway`, `mesh/istio-egressgateway` in `platform:chartValues`. */
export const MESH_RELEASES = chartReleases("mesh", MESH_RELEASE_CHARTS);

/** The base chart's values (the CRDs, and which revision is the default). */
export function istioBaseValues(): HelmValues {
    return { defaultRevision: "default" };
}

/** What istiod's values depend on. */
export interface IstiodValuesArgs {
    /** Fewest istiods (it autoscales up to 5, or this if more). */
    replicas: number;
    outboundTrafficPolicy: string;
    /** The OTLP endpoint traces go to, registered as the extension provider `tracingProvider`. Default: no tracing. */
    tracing?: { host: string; port: number };
    tracingProvider: string;
}

/** The istiod chart's values: autoscaling, sidecar resources and the mesh config (access logs, egress, tracing). */
export function istiodValues(args: IstiodValuesArgs): HelmValues {
    return {
        // Top-level keys in this chart (`pilot.*` is only copied up, for old values files).
        // The autoscaler keeps at least `replicas` istiods; a fixed replica count has no effect with it on.
        autoscaleMin: args.replicas,
        autoscaleMax: Math.max(args.replicas, 5),
        resources: containerResources("100m", "256Mi", "1Gi"),
        global: {
            // Every injected sidecar gets requests and limits; the injection
            // template gives the istio-init container the same ones.
            proxy: { resources: containerResources("10m", "64Mi", "256Mi") },
        },
        meshConfig: {
            accessLogFile: "/dev/stdout",
            outboundTrafficPolicy: { mode: args.outboundTrafficPolicy },
            enableTracing: args.tracing !== undefined,
            extensionProviders: args.tracing
                ? [{ name: args.tracingProvider, opentelemetry: { service: args.tracing.host, port: args.tracing.port } }]
                : [],
        },
    };
}

/** A gateway release's values: its selector label `istio: <role>gateway`, its Service type, autoscaling from `replicas`. */
export function istioGatewayValues(args: { role: GatewayRole; serviceType: string; replicas: number }): HelmValues {
    return {
        labels: { istio: `${args.role}gateway` },
        service: { type: args.serviceType },
        autoscaling: { enabled: true, minReplicas: args.replicas, maxReplicas: Math.max(args.replicas, 5) },
        resources: containerResources("100m", "128Mi", "1Gi"),
    };
}
