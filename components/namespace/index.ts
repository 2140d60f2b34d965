import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { Cluster } from "../cluster/types";
import { RecordSource, ResourceRecord } from "../shared/records";
import { StandardTags, standardLabels } from "../shared/tags";

export interface PlatformNamespaceArgs {
    /** The cluster the namespace is created in. */
    cluster: Cluster;
    /** Kubernetes name of the namespace. Default: the component name. */
    namespaceName?: string;
    /** Label the namespace for Istio sidecar injection. Default: false. */
    meshInjection?: boolean;
    /** The environment's standard tags (become labels). */
    tags: StandardTags;
    /** Extra labels; the standard labels win on conflict. */
    labels?: Record<string, string>;
}

const DNS_NAME_PATTERN = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Throws a message naming the setting and what is allowed. */
export function validatePlatformNamespaceArgs(name: string, args: PlatformNamespaceArgs): void {
    const ns = args.namespaceName ?? name;
    if (!DNS_NAME_PATTERN.test(ns)) {
        throw new Error(
            `namespace "${name}": namespaceName "${ns}" is not a DNS label ` +
                `(lower-case letters, digits and '-', at most 63 characters, alphanumeric at both ends)`,
        );
    }
}

/**
 * A platform namespace with network isolation by default: a default-deny
 * NetworkPolicy for ingress and egress, plus the allows every workload needs
 * (DNS, traffic within the namespace).
 */
export class PlatformNamespace extends pulumi.ComponentResource implements RecordSource {
    public readonly namespace: k8s.core.v1.Namespace;
    public readonly namespaceName: pulumi.Output<string>;
    public readonly records: ResourceRecord[];

    constructor(name: string, args: PlatformNamespaceArgs, opts?: pulumi.ComponentResourceOptions) {
        validatePlatformNamespaceArgs(name, args);
        super("platform:namespace:PlatformNamespace", name, {}, opts);

        const nsName = args.namespaceName ?? name;
        const labels = standardLabels(args.tags, { name: nsName, instance: name, component: "namespace" }, {
            ...(args.labels ?? {}),
            ...(args.meshInjection ? { "istio-injection": "enabled" } : {}),
            // Lets NetworkPolicies in other namespaces select this one by name.
            "kubernetes.io/metadata.name": nsName,
        });
        const childOpts = { parent: this, provider: args.cluster.provider };

        this.namespace = new k8s.core.v1.Namespace(
            `${name}-namespace`,
            { metadata: { name: nsName, labels } },
            childOpts,
        );
        this.namespaceName = this.namespace.metadata.name;
        const policyOpts = { ...childOpts, dependsOn: [this.namespace] };
        const policyLabels = standardLabels(args.tags, { name: "network-policy", instance: name, component: "network" });

        new k8s.networking.v1.NetworkPolicy(
            `${name}-default-deny`,
            {
                metadata: { name: "default-deny", namespace: nsName, labels: policyLabels },
                spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
            },
            policyOpts,
        );
        new k8s.networking.v1.NetworkPolicy(
            `${name}-allow-dns`,
            {
                metadata: { name: "allow-dns", namespace: nsName, labels: policyLabels },
                spec: {
                    podSelector: {},
                    policyTypes: ["Egress"],
                    egress: [
                        {
                            to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } } }],
                            ports: [
                                { protocol: "UDP", port: 53 },
                                { protocol: "TCP", port: 53 },
                            ],
                        },
                    ],
                },
            },
            policyOpts,
        );
        new k8s.networking.v1.NetworkPolicy(
            `${name}-allow-same-namespace`,
            {
                metadata: { name: "allow-same-namespace", namespace: nsName, labels: policyLabels },
                spec: {
                    podSelector: {},
                    policyTypes: ["Ingress", "Egress"],
                    ingress: [{ from: [{ podSelector: {} }] }],
                    egress: [{ to: [{ podSelector: {} }] }],
                },
            },
            policyOpts,
        );

        this.records = [
            {
                id: `namespace/${nsName}`,
                template: "platform:namespace:PlatformNamespace",
                count: 1,
                status: args.cluster.deliveryMode === "render" ? "rendered" : "deployed",
                entrypoints: [],
                statusEndpoints: [],
                dependsOn: ["cluster"],
            },
        ];

        this.registerOutputs({ namespaceName: this.namespaceName });
    }
}
