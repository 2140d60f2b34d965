import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { OBSERVABILITY_NAMESPACE } from "../mesh/network";
import { PlatformNamespace } from "../namespace";
import { ChartMirror } from "../shared/chart";
import { checkValuesOverride, ValuesOverride } from "../shared/chart-values";
import { Cluster } from "../shared/cluster";
import { GeneratedSecret } from "../shared/generated-secret";
import { platformChart } from "../shared/helm";
import { ALLOW_KUBE_API, checkCount, checkQuantity, containerResources, deliveredStatus, serviceHost } from "../shared/kubernetes";
import { ComponentType, namespaceRecordId, RECORD_IDS, RecordSource, ResourceRecord, resourceRecord } from "../shared/records";
import { StandardTags, standardLabels } from "../shared/tags";
import { CONSUL_CHART, CONSUL_NAMESPACE, CONSUL_RELEASE_CHARTS, CONSUL_SECRETS, ConsulRelease, consulValues } from "./charts";

// The pin, namespace and Secret names live in charts.ts; importable from here too.
export { CONSUL_CHART, CONSUL_NAMESPACE, CONSUL_SECRETS } from "./charts";

export interface ConsulServerArgs {
    /** The cluster Consul runs in. */
    cluster: Cluster;
    /** The environment's standard tags (become labels; the environment is the datacenter name). */
    tags: StandardTags;
    /**
     * Namespace of this instance. Default: the instance's name (the
     * platform's `consul` instance: `consul`, CONSUL_NAMESPACE). The Helm
     * release, and the chart's object names (`global.name`), are the
     * instance's name too, so two instances in one cluster do not collide.
     */
    namespace?: string;
    /** Namespace of the Prometheus that scrapes Consul (the Observability instance's `namespaceName`). Default: `observability`. */
    observabilityNamespace?: string;
    /** Consul servers (Raft voters). Default: 1; 3 in production-like environments. */
    replicas?: number;
    /** Volume per server. Default: `10Gi`. */
    storageSize?: string;
    /** Storage class. Default: the cluster's default class. */
    storageClass?: string;
    /** Keep the servers' data on `pulumi destroy`. Default: false. */
    protect?: boolean;
    /** Chart mirror of the environment. Default: upstream repositories. */
    chartMirror?: ChartMirror;
    /** What must exist first: cert-manager, whose CRDs the servers' certificates need. */
    dependsOn?: pulumi.Input<pulumi.Resource>[];
    /** Values merged last over the chart's (`consulValues`), by release: `consul`. Default: none. */
    valuesOverride?: ValuesOverride<ConsulRelease>;
}

/**
 * Names the servers' certificate answers to: Consul's own (`server.<dc>.consul`)
 * and the Service's (`<release>-server` in the instance's namespace).
 */
export function consulServerDnsNames(datacenter: string, namespace: string = CONSUL_NAMESPACE, release: string = CONSUL_NAMESPACE): string[] {
    const svc = `${release}-server`;
    return [
        `server.${datacenter}.consul`,
        `*.server.${datacenter}.consul`,
        svc,
        `${svc}.${namespace}`,
        `${svc}.${namespace}.svc`,
        `*.${svc}.${namespace}.svc`,
        "localhost",
    ];
}

/** Throws a message naming the setting and what is allowed. */
export function validateConsulServerArgs(name: string, args: ConsulServerArgs): void {
    const c = `consul "${name}"`;
    checkCount(c, "replicas", args.replicas, 1, 7);
    if (args.replicas !== undefined && args.replicas % 2 === 0) {
        throw new Error(`${c}: replicas is ${args.replicas}; allowed: an odd number (1, 3, 5 or 7) so Raft keeps a quorum`);
    }
    checkQuantity(c, "storageSize", args.storageSize);
    checkValuesOverride(c, args.valuesOverride, Object.keys(CONSUL_RELEASE_CHARTS));
}

const TYPE: ComponentType = "platform:consul:ConsulServer";

/**
 * Consul servers from HashiCorp's chart, for KV and service discovery. Istio
 * is the service mesh, so Consul's own (Connect) injection is off; Consul
 * secures itself: TLS on its API, ACLs managed by the chart, gossip encryption.
 */
export class ConsulServer extends pulumi.ComponentResource implements RecordSource {
    /** Namespace of this instance (`args.namespace`, default the instance's name). */
    public readonly namespace: string;
    /** Helm release name: the instance's name (the chart names its objects after it: `<release>-server`). */
    public readonly releaseName: string;
    /** HTTPS API address inside the cluster. */
    public readonly address: string;
    /** Datacenter name: the environment. */
    public readonly datacenter: string;
    /** Secret (in the instance's namespace) holding the ACL bootstrap token the chart creates. */
    public readonly bootstrapTokenSecret: string;
    public readonly chart: k8s.helm.v4.Chart;
    public readonly records: ResourceRecord[];

    constructor(name: string, args: ConsulServerArgs, opts?: pulumi.ComponentResourceOptions) {
        validateConsulServerArgs(name, args);
        super(TYPE, name, {}, opts);
        const replicas = args.replicas ?? 1;
        const ns = args.namespace ?? name;
        const release = name;
        this.namespace = ns;
        this.releaseName = release;
        this.address = `https://${serviceHost(`${release}-server`, ns)}:8501`;
        this.bootstrapTokenSecret = `${release}-bootstrap-acl-token`;
        this.datacenter = args.tags.environment.replace(/[^a-z0-9-]/g, "-");
        const namespace = new PlatformNamespace(
            `${name}-ns`,
            {
                cluster: args.cluster,
                namespaceName: ns,
                tags: args.tags,
                allowIngress: [
                    { name: "api", ports: [{ port: 8501 }, { port: 8502 }, { port: 8503 }], peers: "anywhere" },
                    { name: "metrics", ports: [{ port: 8500 }, { port: 9102 }], peers: { namespaces: [args.observabilityNamespace ?? OBSERVABILITY_NAMESPACE] } },
                ],
                allowEgress: [ALLOW_KUBE_API],
            },
            { parent: this },
        );
        // The chart makes its CA, server certificate and gossip key in Helm-hook
        // jobs, which the platform does not run: cert-manager issues the
        // certificates from a CA of Consul's own, and the key is generated once.
        const certOpts = { parent: this, provider: args.cluster.provider, dependsOn: [namespace, ...(args.dependsOn ?? [])] };
        const certLabels = standardLabels(args.tags, { name: "consul", instance: name, component: "tls" });
        const issuer = (issuerName: string, spec: Record<string, unknown>, dependsOn: pulumi.Resource[] = []) =>
            new k8s.apiextensions.CustomResource(
                `${name}-${issuerName}`,
                {
                    apiVersion: "cert-manager.io/v1",
                    kind: "Issuer",
                    metadata: { name: issuerName, namespace: ns, labels: certLabels },
                    spec,
                },
                { ...certOpts, dependsOn: [...certOpts.dependsOn, ...dependsOn] },
            );
        const certificate = (certName: string, spec: Record<string, unknown>, dependsOn: pulumi.Resource[]) =>
            new k8s.apiextensions.CustomResource(
                `${name}-${certName}`,
                {
                    apiVersion: "cert-manager.io/v1",
                    kind: "Certificate",
                    metadata: { name: certName, namespace: ns, labels: certLabels },
                    spec: { privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" }, ...spec },
                },
                { ...certOpts, dependsOn: [...certOpts.dependsOn, ...dependsOn] },
            );
        const selfSigned = issuer("consul-selfsigned", { selfSigned: {} });
        const ca = certificate(
            CONSUL_SECRETS.ca,
            {
                isCA: true,
                commonName: `Consul CA ${this.datacenter}`,
                secretName: CONSUL_SECRETS.ca,
                duration: "87600h",
                issuerRef: { name: "consul-selfsigned", kind: "Issuer", group: "cert-manager.io" },
            },
            [selfSigned],
        );
        const caIssuer = issuer("consul-ca", { ca: { secretName: CONSUL_SECRETS.ca } }, [ca]);
        const serverCert = certificate(
            CONSUL_SECRETS.serverCert,
            {
                secretName: CONSUL_SECRETS.serverCert,
                commonName: `server.${this.datacenter}.consul`,
                dnsNames: consulServerDnsNames(this.datacenter, ns, release),
                ipAddresses: ["127.0.0.1"],
                usages: ["digital signature", "key encipherment", "server auth", "client auth"],
                duration: "8760h",
                renewBefore: "720h",
                issuerRef: { name: "consul-ca", kind: "Issuer", group: "cert-manager.io" },
            },
            [caIssuer],
        );
        // Consul's gossip key is 32 bytes, base64: 32 generated characters are 32 bytes.
        const gossip = new GeneratedSecret(
            `${name}-gossip-key`,
            {
                namespace: ns,
                secretName: CONSUL_SECRETS.gossip,
                generatedKeys: ["seed"],
                derived: { key: { template: "{{seed}}", encoding: "base64" } },
                labels: certLabels,
                provider: args.cluster.provider,
                rendered: args.cluster.deliveryMode === "render",
            },
            { parent: this, dependsOn: [namespace] },
        );

        this.chart = platformChart(
            `${name}-chart`,
            {
                cluster: args.cluster,
                chart: CONSUL_CHART,
                mirror: args.chartMirror,
                namespace: ns,
                releaseName: release,
                labels: standardLabels(args.tags, { name: "consul", instance: name, component: "service-discovery" }),
                // ACLs on: the chart renders the auth method's token Secret.
                orderServiceAccountTokens: true,
                values: consulValues({ name: release, datacenter: this.datacenter, replicas, storageSize: args.storageSize ?? "10Gi", storageClass: args.storageClass }),
                valuesOverride: args.valuesOverride?.consul,
                dependsOn: [namespace, serverCert, gossip],
                // fetch-server-region, an init container the chart gives no resources value.
                unconfigurableContainers: { "locality-init": containerResources("10m", "32Mi", "64Mi") },
            },
            { parent: this, protect: args.protect },
        );
        // One server may be down at a time: an odd Raft cluster keeps its quorum.
        new k8s.policy.v1.PodDisruptionBudget(
            `${name}-server-budget`,
            {
                metadata: { name: `${release}-server`, namespace: ns, labels: standardLabels(args.tags, { name: "consul", instance: name, component: "service-discovery" }) },
                spec: { maxUnavailable: 1, selector: { matchLabels: { app: "consul", release, component: "server" } } },
            },
            { parent: this, provider: args.cluster.provider, dependsOn: [namespace] },
        );
        this.records = [
            ...namespace.records,
            resourceRecord(TYPE, {
                id: RECORD_IDS.consul,
                count: replicas,
                status: deliveredStatus(args.cluster),
                entrypoints: [this.address],
                statusEndpoints: [`${this.address}/v1/status/leader`],
                dependsOn: [namespaceRecordId(ns)],
            }),
        ];
        this.registerOutputs({ namespace: this.namespace, address: this.address, datacenter: this.datacenter });
    }
}
