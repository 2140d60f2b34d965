import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { PlatformNamespace } from "../namespace";
import { ChartMirror } from "../shared/chart";
import { checkValuesOverride, ValuesOverride } from "../shared/chart-values";
import { Cluster } from "../shared/cluster";
import { platformChart } from "../shared/helm";
import { ALLOW_KUBE_API, deliveredStatus, withDefaults } from "../shared/kubernetes";
import { ComponentType, namespaceRecordId, RECORD_IDS, RecordSource, ResourceRecord, resourceRecord } from "../shared/records";
import { StandardTags, standardLabels } from "../shared/tags";
import {
    gatewayReleaseName,
    GatewayRole,
    ISTIO_BASE_CHART,
    ISTIO_GATEWAY_CHART,
    istioBaseValues,
    ISTIOD_CHART,
    istiodValues,
    istioGatewayValues,
    MESH_NAMESPACES,
    MESH_RELEASE_CHARTS,
    MeshRelease,
} from "./charts";
import { OBSERVABILITY_NAMESPACE } from "./network";

export const OUTBOUND_TRAFFIC_POLICIES = ["ALLOW_ANY", "REGISTRY_ONLY"] as const;
export const GATEWAY_SERVICE_TYPES = ["LoadBalancer", "NodePort", "ClusterIP"] as const;

/** The cluster's one mesh (Istio is cluster-wide: one IstioMesh per cluster, not per instance of a service). */
export interface IstioMeshArgs {
    /** The cluster the mesh runs in. */
    cluster: Cluster;
    /** The environment's standard tags (become labels). */
    tags: StandardTags;
    /** ClusterIssuer that signs the ingress gateway's certificate (see CertManager). */
    issuerName: string;
    /** Host names the ingress gateway serves over TLS, e.g. `*.dev.example.com`. */
    ingressHosts: string[];
    /** Where pods may send traffic: anywhere (`ALLOW_ANY`) or only to registered services (`REGISTRY_ONLY`). Default: `ALLOW_ANY`. */
    outboundTrafficPolicy?: (typeof OUTBOUND_TRAFFIC_POLICIES)[number];
    /** Service type of the ingress gateway. Default: `LoadBalancer` (`NodePort` suits kind and k3d). */
    ingressServiceType?: (typeof GATEWAY_SERVICE_TYPES)[number];
    /** Minimum replicas of istiod and each gateway (they autoscale above it). Default: 1. */
    replicas?: number;
    /** OTLP (gRPC) endpoint the mesh sends traces to, e.g. Jaeger's collector. Default: no tracing. */
    tracing?: { host: string; port: number; samplingPercent?: number };
    /** Namespace of the Prometheus that scrapes istiod (the Observability instance's). Default: `observability`. */
    observabilityNamespace?: string;
    /** Chart mirror of the environment. Default: upstream repositories. */
    chartMirror?: ChartMirror;
    /** What must exist first (cert-manager, so the certificate can be issued). Default: nothing. */
    dependsOn?: pulumi.Input<pulumi.Resource>[];
    /**
     * Values merged last over the charts' (`charts.ts`), by release: `base`,
     * `istiod`, `istio-ingressgateway`, `istio-egressgateway`. Default: none.
     */
    valuesOverride?: ValuesOverride<MeshRelease>;
}

const defaults = { outboundTrafficPolicy: "ALLOW_ANY", ingressServiceType: "LoadBalancer", replicas: 1 } as const;
const HOST_PATTERN = /^(\*\.)?([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,63}$|^localhost$/;

/** Throws a message naming the setting and what is allowed. */
export function validateIstioMeshArgs(name: string, args: IstioMeshArgs): void {
    const prefix = `istio mesh "${name}"`;
    if (args.outboundTrafficPolicy !== undefined && !OUTBOUND_TRAFFIC_POLICIES.includes(args.outboundTrafficPolicy)) {
        throw new Error(`${prefix}: outboundTrafficPolicy is "${args.outboundTrafficPolicy}"; allowed: ${OUTBOUND_TRAFFIC_POLICIES.join(", ")}`);
    }
    if (args.ingressServiceType !== undefined && !GATEWAY_SERVICE_TYPES.includes(args.ingressServiceType)) {
        throw new Error(`${prefix}: ingressServiceType is "${args.ingressServiceType}"; allowed: ${GATEWAY_SERVICE_TYPES.join(", ")}`);
    }
    if (args.ingressHosts.length === 0) {
        throw new Error(`${prefix}: ingressHosts is empty; allowed: one or more host names such as app.example.com`);
    }
    for (const host of args.ingressHosts) {
        if (!HOST_PATTERN.test(host)) {
            throw new Error(`${prefix}: ingressHosts has "${host}"; allowed: DNS names (a leading "*." is allowed)`);
        }
    }
    const replicas = args.replicas ?? defaults.replicas;
    if (!Number.isInteger(replicas) || replicas < 1 || replicas > 10) {
        throw new Error(`${prefix}: replicas is ${replicas}; allowed: an integer from 1 to 10`);
    }
    const sampling = args.tracing?.samplingPercent;
    if (sampling !== undefined && !(sampling >= 0 && sampling <= 100)) {
        throw new Error(`${prefix}: tracing.samplingPercent is ${sampling}; allowed: 0 to 100`);
    }
    checkValuesOverride(prefix, args.valuesOverride, Object.keys(MESH_RELEASE_CHARTS));
}

const TYPE: ComponentType = "platform:mesh:IstioMesh";

/**
 * Istio from the upstream charts: CRDs (base), istiod, an ingress gateway
 * with TLS from cert-manager, and an egress gateway. Mesh-wide mTLS is
 * STRICT: plaintext traffic between workloads is refused. Cluster-wide (its
 * namespaces are MESH_NAMESPACES, `istio-system`…): one per cluster, not per instance.
 */
export class IstioMesh extends pulumi.ComponentResource implements RecordSource {
    /** Selector labels of the ingress gateway (for Gateway objects of applications). */
    public readonly ingressGatewaySelector = { istio: "ingressgateway" };
    /** Name of the shared Istio Gateway applications attach their VirtualServices to. */
    public readonly gatewayName = `${MESH_NAMESPACES.ingress}/platform-gateway`;
    public readonly istiod: k8s.helm.v4.Chart;
    public readonly records: ResourceRecord[];

    constructor(name: string, args: IstioMeshArgs, opts?: pulumi.ComponentResourceOptions) {
        validateIstioMeshArgs(name, args);
        super(TYPE, name, {}, opts);
        const a = withDefaults(defaults, args);
        const labels = (component: string) => standardLabels(a.tags, { name: "istio", instance: name, component });
        const ns = (role: keyof typeof MESH_NAMESPACES, extra: Partial<ConstructorParameters<typeof PlatformNamespace>[1]>) =>
            new PlatformNamespace(`${name}-${role}`, { cluster: a.cluster, tags: a.tags, namespaceName: MESH_NAMESPACES[role], ...extra }, { parent: this });

        const control = ns("control", {
            allowIngress: [
                // Sidecars in every namespace fetch config (15012); the API server calls the injection webhook (15017).
                { name: "xds-and-webhook", ports: [{ port: 15012 }, { port: 15017 }], peers: "anywhere" },
                { name: "metrics", ports: [{ port: 15014 }], peers: { namespaces: [a.observabilityNamespace ?? OBSERVABILITY_NAMESPACE] } },
            ],
            allowEgress: [ALLOW_KUBE_API],
        });
        // Gateways face the outside (ingress) or are the way out (egress); their namespaces allow that explicitly.
        const ingress = ns("ingress", {
            allowIngress: [{ name: "gateway-traffic", peers: "anywhere" }],
            allowEgress: [{ name: "to-mesh", peers: "anywhere" }],
        });
        const egress = ns("egress", {
            allowIngress: [{ name: "from-mesh", peers: "anywhere" }],
            allowEgress: [{ name: "to-outside", peers: "anywhere" }],
        });

        const chartArgs = { cluster: a.cluster, mirror: a.chartMirror };
        const base = platformChart(
            `${name}-base`,
            {
                ...chartArgs,
                chart: ISTIO_BASE_CHART,
                namespace: MESH_NAMESPACES.control,
                labels: labels("crds"),
                values: istioBaseValues(),
                valuesOverride: a.valuesOverride?.base,
                dependsOn: [control],
            },
            { parent: this },
        );

        const tracingProvider = "otel-tracing";
        this.istiod = platformChart(
            `${name}-istiod`,
            {
                ...chartArgs,
                chart: ISTIOD_CHART,
                namespace: MESH_NAMESPACES.control,
                labels: labels("control-plane"),
                values: istiodValues({
                    replicas: a.replicas,
                    outboundTrafficPolicy: a.outboundTrafficPolicy,
                    tracing: a.tracing,
                    tracingProvider,
                }),
                valuesOverride: a.valuesOverride?.istiod,
                dependsOn: [base],
            },
            { parent: this },
        );

        const gateway = (role: GatewayRole, serviceType: string, namespaceDep: pulumi.Resource) =>
            platformChart(
                `${name}-${role}-gateway`,
                {
                    ...chartArgs,
                    chart: ISTIO_GATEWAY_CHART,
                    releaseName: gatewayReleaseName(role),
                    namespace: MESH_NAMESPACES[role],
                    labels: labels(`${role}-gateway`),
                    values: istioGatewayValues({ role, serviceType, replicas: a.replicas }),
                    valuesOverride: a.valuesOverride?.[gatewayReleaseName(role)],
                    dependsOn: [this.istiod, namespaceDep],
                },
                { parent: this },
            );
        const ingressGateway = gateway("ingress", a.ingressServiceType, ingress);
        gateway("egress", "ClusterIP", egress);

        const crOpts = { parent: this, provider: a.cluster.provider, dependsOn: [base, this.istiod] };
        // Mesh-wide: a PeerAuthentication named `default` in the root namespace applies to every workload.
        new k8s.apiextensions.CustomResource(
            `${name}-strict-mtls`,
            {
                apiVersion: "security.istio.io/v1",
                kind: "PeerAuthentication",
                metadata: { name: "default", namespace: MESH_NAMESPACES.control, labels: labels("security") },
                spec: { mtls: { mode: "STRICT" } },
            },
            crOpts,
        );
        if (a.tracing) {
            new k8s.apiextensions.CustomResource(
                `${name}-tracing`,
                {
                    apiVersion: "telemetry.istio.io/v1",
                    kind: "Telemetry",
                    metadata: { name: "mesh-default", namespace: MESH_NAMESPACES.control, labels: labels("telemetry") },
                    spec: {
                        tracing: [
                            { providers: [{ name: tracingProvider }], randomSamplingPercentage: a.tracing.samplingPercent ?? 10 },
                        ],
                    },
                },
                crOpts,
            );
        }

        const tlsSecret = "ingress-tls";
        const certificate = new k8s.apiextensions.CustomResource(
            `${name}-ingress-certificate`,
            {
                apiVersion: "cert-manager.io/v1",
                kind: "Certificate",
                metadata: { name: "ingress-gateway", namespace: MESH_NAMESPACES.ingress, labels: labels("ingress-gateway") },
                spec: {
                    secretName: tlsSecret,
                    dnsNames: a.ingressHosts,
                    privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" },
                    issuerRef: { name: a.issuerName, kind: "ClusterIssuer", group: "cert-manager.io" },
                },
            },
            { parent: this, provider: a.cluster.provider, dependsOn: [ingress, ...(a.dependsOn ?? [])] },
        );
        new k8s.apiextensions.CustomResource(
            `${name}-gateway`,
            {
                apiVersion: "networking.istio.io/v1",
                kind: "Gateway",
                metadata: { name: "platform-gateway", namespace: MESH_NAMESPACES.ingress, labels: labels("ingress-gateway") },
                spec: {
                    selector: this.ingressGatewaySelector,
                    servers: [
                        {
                            port: { number: 443, name: "https", protocol: "HTTPS" },
                            hosts: a.ingressHosts,
                            tls: { mode: "SIMPLE", credentialName: tlsSecret, minProtocolVersion: "TLSV1_2" },
                        },
                        {
                            port: { number: 80, name: "http", protocol: "HTTP" },
                            hosts: a.ingressHosts,
                            tls: { httpsRedirect: true },
                        },
                    ],
                },
            },
            { ...crOpts, dependsOn: [ingressGateway, certificate] },
        );

        const status = deliveredStatus(a.cluster);
        const nsRecords = [control, ingress, egress].flatMap((n) => n.records);
        this.records = [
            ...nsRecords,
            resourceRecord(TYPE, {
                id: RECORD_IDS.istiod,
                count: a.replicas,
                status,
                entrypoints: [],
                statusEndpoints: [`http://istiod.${MESH_NAMESPACES.control}.svc.cluster.local:15014/ready`],
                dependsOn: [RECORD_IDS.cluster, namespaceRecordId(MESH_NAMESPACES.control)],
            }),
            resourceRecord(TYPE, {
                id: "mesh/ingress-gateway",
                count: a.replicas,
                status,
                entrypoints: a.ingressHosts.map((h) => `https://${h.replace(/^\*\./, "")}`),
                statusEndpoints: [],
                dependsOn: [RECORD_IDS.istiod, namespaceRecordId(MESH_NAMESPACES.ingress), RECORD_IDS.certManager],
            }),
            resourceRecord(TYPE, {
                id: "mesh/egress-gateway",
                count: a.replicas,
                status,
                entrypoints: [],
                statusEndpoints: [],
                dependsOn: [RECORD_IDS.istiod, namespaceRecordId(MESH_NAMESPACES.egress)],
            }),
        ];
        this.registerOutputs({ gatewayName: this.gatewayName });
    }
}
