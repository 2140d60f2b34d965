import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { meshedNamespaceAllows, OBSERVABILITY_NAMESPACE } from "../mesh/network";
import { PlatformNamespace } from "../namespace";
import { ChartMirror, resolveManifestSource } from "../shared/chart";
import { Cluster } from "../shared/cluster";
import { GeneratedSecret } from "../shared/generated-secret";
import { labelTransform, transformRenderedObjects } from "../shared/helm";
import { ALLOW_KUBE_API, allowWebhook, checkCount, checkQuantity, containerResources, deliveredStatus, serviceHost, withDefaults } from "../shared/kubernetes";
import { ComponentType, namespaceRecordId, RECORD_IDS, RecordSource, ResourceRecord, resourceRecord } from "../shared/records";
import { StandardTags, standardLabels } from "../shared/tags";
import { RABBITMQ_OPERATOR_MANIFEST } from "./charts";

export * from "./charts";

/** How long a consumer may hold a delivery unacknowledged before the broker closes its channel. */
export const RABBITMQ_CONSUMER_TIMEOUT_MS = 3 * 60 * 60 * 1000;

/** RabbitMQ server image the operator runs, pinned. */
export const RABBITMQ_IMAGE = "rabbitmq:4.1.4-management";

/**
 * The RabbitMQ Cluster Operator's namespace: the operator (its CRDs, webhook
 * and ClusterRoles) is cluster-wide, one per cluster, whatever the instance.
 */
export const RABBITMQ_OPERATOR_NAMESPACE = "rabbitmq-system";

export interface RabbitMqArgs {
    /** The cluster the event bus runs in. */
    cluster: Cluster;
    /** The environment's standard tags (become labels). */
    tags: StandardTags;
    /**
     * Namespace of the RabbitMQ cluster. Default: the instance's name (the
     * platform's `rabbitmq` instance: `rabbitmq`). The operator is not per
     * instance: it runs in `rabbitmq-system`, one per cluster.
     */
    namespace?: string;
    /** Namespace of the Prometheus that scrapes the broker and the operator (the Observability instance's). Default: `observability`. */
    observabilityNamespace?: string;
    /** Nodes of the RabbitMQ cluster (quorum queues need 3 to survive one loss). Default: 1; 3 in production-like environments. */
    replicas?: number;
    /** Volume per node. Default: `10Gi`. */
    storageSize?: string;
    /** Storage class. Default: the cluster's default class. */
    storageClass?: string;
    /** Namespaces whose pods publish or consume (AMQP 5672). Default: none. */
    clientNamespaces?: string[];
    /** Keep the RabbitMQ cluster on `pulumi destroy`. Default: false. */
    protect?: boolean;
    /** Chart and manifest mirror of the environment. Default: upstream. */
    chartMirror?: ChartMirror;
    /** The chart that installs the ServiceMonitor CRD (Observability.monitoringCrds). Default: none (the CRD must exist). */
    monitoringCrds?: pulumi.Resource;
    /** What must exist first: cert-manager (the operator's webhook certificate) and the mesh. */
    dependsOn?: pulumi.Input<pulumi.Resource>[];
}

const defaults = { replicas: 1, storageSize: "10Gi", observabilityNamespace: OBSERVABILITY_NAMESPACE } as const;

/** Throws a message naming the setting and what is allowed. */
export function validateRabbitMqArgs(name: string, args: RabbitMqArgs): void {
    const c = `rabbitmq "${name}"`;
    checkCount(c, "replicas", args.replicas, 1, 7);
    if (args.replicas !== undefined && args.replicas % 2 === 0) {
        throw new Error(`${c}: replicas is ${args.replicas}; allowed: an odd number (1, 3, 5 or 7) so quorum queues keep a majority`);
    }
    checkQuantity(c, "storageSize", args.storageSize);
}

const TYPE: ComponentType = "platform:rabbitmq:RabbitMq";
/** The operator's record: its own namespace's record and the broker's depend on it. */
const OPERATOR_RECORD = "rabbitmq/operator";

/**
 * The platform event bus: the RabbitMQ Cluster Operator and a
 * `RabbitmqCluster` in a meshed namespace (traffic encrypted by mTLS), with
 * generated credentials in a Secret and a ServiceMonitor for Prometheus.
 * The RabbitmqCluster's namespace is per instance; the operator in
 * `rabbitmq-system` is one per cluster.
 */
export class RabbitMq extends pulumi.ComponentResource implements RecordSource {
    /** Namespace of the RabbitMQ cluster (`args.namespace`, default the instance's name). */
    public readonly namespace: string;
    public readonly host: string;
    public readonly port = 5672;
    public readonly username = "platform";
    /** Password of the platform user; a secret output. */
    public readonly password: pulumi.Output<string>;
    /** Secret holding `username`, `password`, `host` and `port` for applications. */
    public readonly credentialsSecretName = "rabbitmq-default-user";
    public readonly records: ResourceRecord[];

    constructor(name: string, args: RabbitMqArgs, opts?: pulumi.ComponentResourceOptions) {
        validateRabbitMqArgs(name, args);
        super(TYPE, name, {}, opts);
        const a = { ...withDefaults(defaults, args), namespace: args.namespace ?? name };
        this.namespace = a.namespace;
        const labels = (component: string) => standardLabels(a.tags, { name: "rabbitmq", instance: name, component });
        const clusterName = "platform-events";
        this.host = serviceHost(clusterName, a.namespace);

        transformRenderedObjects(`${name}-operator`, [labelTransform(labels("operator"))]);
        const operator = new k8s.yaml.v2.ConfigFile(
            `${name}-operator`,
            { file: resolveManifestSource(RABBITMQ_OPERATOR_MANIFEST, a.chartMirror) },
            {
                parent: this,
                provider: a.cluster.provider,
                dependsOn: a.dependsOn,
                // Deleting the operator deletes its CustomResourceDefinition, and with it
                // every RabbitmqCluster: it is protected with the data.
                protect: a.protect,
            },
        );
        // The manifest creates its own namespace; the isolation policies are added to it.
        const operatorNs = new PlatformNamespace(
            `${name}-operator-ns`,
            {
                cluster: a.cluster,
                namespaceName: RABBITMQ_OPERATOR_NAMESPACE,
                tags: a.tags,
                createNamespace: false,
                dependsOn: [operator],
                allowIngress: [allowWebhook(9443), { name: "metrics", ports: [{ port: 9782 }], peers: { namespaces: [a.observabilityNamespace] } }],
                allowEgress: [ALLOW_KUBE_API, { name: "clusters", ports: [{ port: 15672 }], peers: { namespaces: [a.namespace] } }],
            },
            { parent: this },
        );
        const namespace = new PlatformNamespace(
            `${name}-ns`,
            {
                cluster: a.cluster,
                namespaceName: a.namespace,
                tags: a.tags,
                ...meshedNamespaceAllows({
                    observabilityNamespace: a.observabilityNamespace,
                    ingress: [
                        { name: "prometheus", ports: [{ port: 15692 }], peers: { namespaces: [a.observabilityNamespace] } },
                        { name: "operator", ports: [{ port: 15672 }], peers: { namespaces: [RABBITMQ_OPERATOR_NAMESPACE] } },
                        ...(a.clientNamespaces?.length ? [{ name: "clients", ports: [{ port: 5672 }], peers: { namespaces: a.clientNamespaces } }] : []),
                    ],
                    // Peer discovery lists the cluster's endpoints through the API server.
                    egress: [ALLOW_KUBE_API],
                }),
            },
            { parent: this },
        );

        const credentials = new GeneratedSecret(
            `${name}-default-user`,
            {
                namespace: a.namespace,
                secretName: this.credentialsSecretName,
                generatedKeys: ["password"],
                fixed: { username: this.username, host: this.host, port: String(this.port), type: "rabbitmq", provider: "rabbitmq" },
                // The operator mounts only this key into the server (used at first boot).
                derived: { "default_user.conf": { template: "default_user = {{username}}\ndefault_pass = {{password}}\n" } },
                labels: labels("credentials"),
                provider: a.cluster.provider,
                rendered: a.cluster.deliveryMode === "render",
            },
            { parent: this, dependsOn: [namespace] },
        );
        this.password = credentials.value("password");

        const crOpts = { parent: this, provider: a.cluster.provider };
        const bus = new k8s.apiextensions.CustomResource(
            `${name}-cluster`,
            {
                apiVersion: "rabbitmq.com/v1beta1",
                kind: "RabbitmqCluster",
                metadata: { name: clusterName, namespace: a.namespace, labels: labels("event-bus") },
                spec: {
                    replicas: a.replicas,
                    image: RABBITMQ_IMAGE,
                    resources: containerResources("250m", "1Gi", "2Gi"),
                    persistence: { storage: a.storageSize, storageClassName: a.storageClass },
                    secretBackend: { externalSecret: { name: this.credentialsSecretName } },
                    rabbitmq: {
                        additionalConfig: [
                            // Quorum queues by default: replicated, and safe across node loss.
                            "default_queue_type = quorum",
                            "cluster_partition_handling = pause_minority",
                            // 3 h, not the 30 min default: the environment manager acknowledges a command only once its
                            // outcome is recorded, and a whole environment's deployment can take longer than 30 min.
                            `consumer_timeout = ${RABBITMQ_CONSUMER_TIMEOUT_MS}`,
                        ].join("\n"),
                    },
                },
            },
            { ...crOpts, dependsOn: [operator, credentials, namespace], protect: a.protect },
        );

        // Prometheus is outside the mesh: the metrics port accepts plaintext, everything else stays STRICT.
        new k8s.apiextensions.CustomResource(
            `${name}-metrics-mtls`,
            {
                apiVersion: "security.istio.io/v1",
                kind: "PeerAuthentication",
                metadata: { name: "rabbitmq-metrics", namespace: a.namespace, labels: labels("security") },
                spec: {
                    selector: { matchLabels: { "app.kubernetes.io/name": clusterName } },
                    mtls: { mode: "STRICT" },
                    portLevelMtls: { "15692": { mode: "PERMISSIVE" } },
                },
            },
            // After the mesh (in dependsOn), which installs the CRD: with the namespace
            // alone it raced the CRD ("no matches for kind PeerAuthentication" on a recovery up).
            { ...crOpts, dependsOn: [namespace, ...(a.dependsOn ?? [])] },
        );
        new k8s.apiextensions.CustomResource(
            `${name}-service-monitor`,
            {
                apiVersion: "monitoring.coreos.com/v1",
                kind: "ServiceMonitor",
                metadata: { name: clusterName, namespace: a.namespace, labels: labels("metrics") },
                spec: {
                    selector: { matchLabels: { "app.kubernetes.io/name": clusterName } },
                    endpoints: [{ port: "prometheus", interval: "30s" }],
                },
            },
            { ...crOpts, dependsOn: [bus, ...(a.monitoringCrds ? [a.monitoringCrds] : [])] },
        );

        this.records = [
            ...operatorNs.records.map((r) => ({ ...r, dependsOn: [...r.dependsOn, OPERATOR_RECORD] })),
            ...namespace.records,
            resourceRecord(TYPE, {
                id: OPERATOR_RECORD,
                count: 1,
                status: deliveredStatus(a.cluster),
                entrypoints: [],
                statusEndpoints: [],
                dependsOn: [RECORD_IDS.certManager],
            }),
            resourceRecord(TYPE, {
                id: "rabbitmq",
                count: a.replicas,
                status: deliveredStatus(a.cluster),
                entrypoints: [`amqp://${this.host}:${this.port}`],
                statusEndpoints: [`http://${this.host}:15692/metrics`],
                dependsOn: [OPERATOR_RECORD, namespaceRecordId(a.namespace), RECORD_IDS.istiod],
            }),
        ];
        this.registerOutputs({ namespace: this.namespace, host: this.host, credentialsSecretName: this.credentialsSecretName });
    }
}
