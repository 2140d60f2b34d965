import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { Cluster } from "../cluster/types";
import { OBSERVABILITY_NAMESPACE } from "../mesh/network";
import { PlatformNamespace } from "../namespace";
import { ChartMirror, UpstreamChart } from "../shared/chart";
import { platformChart } from "../shared/helm";
import { ALLOW_KUBE_API, checkCount, checkQuantity, containerResources, deliveredStatus, serviceHost } from "../shared/kubernetes";
import { RecordSource, ResourceRecord } from "../shared/records";
import { StandardTags, standardLabels } from "../shared/tags";

/** HashiCorp's Consul chart (consul-k8s; the chart version is the consul-k8s version). */
export const CONSUL_CHART: UpstreamChart = {
    name: "consul",
    version: "1.9.3",
    repository: "https://helm.releases.hashicorp.com",
};

export const CONSUL_NAMESPACE = "consul";

export interface ConsulServerArgs {
    /** The cluster Consul runs in. */
    cluster: Cluster;
    /** The environment's standard tags (become labels; the environment is the datacenter name). */
    tags: StandardTags;
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
}

/** Throws a message naming the setting and what is allowed. */
export function validateConsulServerArgs(name: string, args: ConsulServerArgs): void {
    const c = `consul "${name}"`;
    checkCount(c, "replicas", args.replicas, 1, 7);
    if (args.replicas !== undefined && args.replicas % 2 === 0) {
        throw new Error(`${c}: replicas is ${args.replicas}; allowed: an odd number (1, 3, 5 or 7) so Raft keeps a quorum`);
    }
    checkQuantity(c, "storageSize", args.storageSize);
}

/**
 * Consul servers from HashiCorp's chart, for KV and service discovery. Istio
 * is the service mesh, so Consul's own (Connect) injection is off; Consul
 * secures itself: TLS on its API, ACLs managed by the chart, gossip encryption.
 */
export class ConsulServer extends pulumi.ComponentResource implements RecordSource {
    /** HTTPS API address inside the cluster. */
    public readonly address = `https://${serviceHost("consul-server", CONSUL_NAMESPACE)}:8501`;
    /** Datacenter name: the environment. */
    public readonly datacenter: string;
    /** Secret (in the consul namespace) holding the ACL bootstrap token the chart creates. */
    public readonly bootstrapTokenSecret = "consul-bootstrap-acl-token";
    public readonly chart: k8s.helm.v4.Chart;
    public readonly records: ResourceRecord[];

    constructor(name: string, args: ConsulServerArgs, opts?: pulumi.ComponentResourceOptions) {
        validateConsulServerArgs(name, args);
        super("platform:consul:ConsulServer", name, {}, opts);
        const replicas = args.replicas ?? 1;
        this.datacenter = args.tags.environment.replace(/[^a-z0-9-]/g, "-");
        const namespace = new PlatformNamespace(
            `${name}-ns`,
            {
                cluster: args.cluster,
                namespaceName: CONSUL_NAMESPACE,
                tags: args.tags,
                allowIngress: [
                    { name: "api", ports: [{ port: 8501 }, { port: 8502 }, { port: 8503 }], peers: "anywhere" },
                    { name: "metrics", ports: [{ port: 8500 }, { port: 9102 }], peers: { namespaces: [OBSERVABILITY_NAMESPACE] } },
                ],
                allowEgress: [ALLOW_KUBE_API],
            },
            { parent: this },
        );
        this.chart = platformChart(
            `${name}-chart`,
            {
                cluster: args.cluster,
                chart: CONSUL_CHART,
                mirror: args.chartMirror,
                namespace: CONSUL_NAMESPACE,
                labels: standardLabels(args.tags, { name: "consul", instance: name, component: "service-discovery" }),
                values: {
                    global: {
                        name: "consul",
                        datacenter: this.datacenter,
                        tls: { enabled: true, httpsOnly: true },
                        acls: { manageSystemACLs: true },
                        gossipEncryption: { autoGenerate: true },
                        metrics: { enabled: true },
                    },
                    server: {
                        replicas,
                        storage: args.storageSize ?? "10Gi",
                        storageClass: args.storageClass,
                        resources: containerResources("100m", "256Mi", "1Gi"),
                    },
                    // Istio is the mesh: no Consul sidecars, no catalog sync.
                    connectInject: { enabled: false },
                    syncCatalog: { enabled: false },
                    ui: { enabled: true, metrics: { enabled: false } },
                },
                dependsOn: [namespace],
            },
            { parent: this, protect: args.protect },
        );
        this.records = [
            ...namespace.records,
            {
                id: "consul",
                template: "platform:consul:ConsulServer",
                count: replicas,
                status: deliveredStatus(args.cluster),
                entrypoints: [this.address],
                statusEndpoints: [`${this.address}/v1/status/leader`],
                dependsOn: [`namespace/${CONSUL_NAMESPACE}`],
            },
        ];
        this.registerOutputs({ address: this.address, datacenter: this.datacenter });
    }
}
