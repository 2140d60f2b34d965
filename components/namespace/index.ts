import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { Cluster } from "../shared/cluster";
import { NetworkAllow } from "../shared/kubernetes";
import { ComponentType, namespaceRecordId, RECORD_IDS, RecordSource, ResourceRecord, resourceRecord } from "../shared/records";
import { StandardTags, standardLabels } from "../shared/tags";

// Defined in shared/ (shared helpers build allows); re-exported as part of this component's args.
export type { NetworkAllow };

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
    /** Ingress allowed on top of default-deny (traffic into this namespace's pods). Default: none. */
    allowIngress?: NetworkAllow[];
    /** Egress allowed on top of default-deny (traffic from this namespace's pods). Default: DNS only. */
    allowEgress?: NetworkAllow[];
    /**
     * Whether this component creates the Namespace object. `false` when an
     * upstream manifest creates it (two owners of one object would fight);
     * the NetworkPolicies are still created. Default: true.
     */
    createNamespace?: boolean;
    /** What must exist before the NetworkPolicies when the namespace is created elsewhere. Default: nothing. */
    dependsOn?: pulumi.Input<pulumi.Resource>[];
}

const DNS_NAME_PATTERN = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** Allows every namespace has (`allow-dns`, `allow-same-namespace`); an explicit allow of that name would collide. */
const BUILT_IN_ALLOWS = ["dns", "same-namespace"];

/** Throws a message naming the setting and what is allowed. */
export function validatePlatformNamespaceArgs(name: string, args: PlatformNamespaceArgs): void {
    const ns = args.namespaceName ?? name;
    if (!DNS_NAME_PATTERN.test(ns)) {
        throw new Error(
            `namespace "${name}": namespaceName "${ns}" is not a DNS label ` +
                `(lower-case letters, digits and '-', at most 63 characters, alphanumeric at both ends)`,
        );
    }
    const seen = new Set<string>();
    for (const allow of [...(args.allowIngress ?? []), ...(args.allowEgress ?? [])]) {
        if (!DNS_NAME_PATTERN.test(`allow-${allow.name}`)) {
            throw new Error(`namespace "${name}": allow name "${allow.name}" is not a DNS label (lower-case letters, digits, '-')`);
        }
        if (BUILT_IN_ALLOWS.includes(allow.name)) {
            throw new Error(`namespace "${name}": allow name "${allow.name}" is taken by a built-in policy (${BUILT_IN_ALLOWS.join(", ")})`);
        }
        // An empty `from`/`to` list in a NetworkPolicy rule matches every peer.
        if (allow.peers !== "anywhere" && allow.peers.namespaces.length === 0) {
            throw new Error(`namespace "${name}": allow "${allow.name}" peers.namespaces is empty; name at least one namespace, or use "anywhere"`);
        }
        for (const p of allow.ports ?? []) {
            if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) {
                throw new Error(`namespace "${name}": allow "${allow.name}" port ${p.port}; allowed: an integer from 1 to 65535`);
            }
        }
        seen.add(allow.name);
    }
    const total = (args.allowIngress?.length ?? 0) + (args.allowEgress?.length ?? 0);
    if (seen.size !== total) {
        throw new Error(`namespace "${name}": allow names must be unique across allowIngress and allowEgress`);
    }
}

type NetworkPolicyPeer = k8s.types.input.networking.v1.NetworkPolicyPeer;

function peersOf(allow: NetworkAllow): NetworkPolicyPeer[] | undefined {
    if (allow.peers === "anywhere") {
        return undefined; // no `from`/`to`: any source or destination
    }
    return allow.peers.namespaces.map((ns) => ({
        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": ns } },
    }));
}

function ruleOf(allow: NetworkAllow, direction: "from" | "to") {
    const ports = allow.ports?.map((p) => ({ port: p.port, protocol: p.protocol ?? "TCP" }));
    return { [direction]: peersOf(allow), ports };
}

const TYPE: ComponentType = "platform:namespace:PlatformNamespace";

/**
 * A platform namespace with network isolation by default: a default-deny
 * NetworkPolicy for ingress and egress, plus the allows every workload needs
 * (DNS, traffic within the namespace).
 */
export class PlatformNamespace extends pulumi.ComponentResource implements RecordSource {
    /** The Namespace object, unless it is created elsewhere (`createNamespace: false`). */
    public readonly namespace: k8s.core.v1.Namespace | undefined;
    public readonly namespaceName: pulumi.Output<string>;
    public readonly records: ResourceRecord[];

    constructor(name: string, args: PlatformNamespaceArgs, opts?: pulumi.ComponentResourceOptions) {
        validatePlatformNamespaceArgs(name, args);
        super(TYPE, name, {}, opts);

        const nsName = args.namespaceName ?? name;
        const labels = standardLabels(args.tags, { name: nsName, instance: name, component: "namespace" }, {
            ...(args.labels ?? {}),
            ...(args.meshInjection ? { "istio-injection": "enabled" } : {}),
            // Lets NetworkPolicies in other namespaces select this one by name.
            "kubernetes.io/metadata.name": nsName,
        });
        const childOpts = { parent: this, provider: args.cluster.provider };

        if (args.createNamespace ?? true) {
            this.namespace = new k8s.core.v1.Namespace(`${name}-namespace`, { metadata: { name: nsName, labels } }, childOpts);
            this.namespaceName = this.namespace.metadata.name;
        } else {
            this.namespaceName = pulumi.output(nsName);
        }
        const policyOpts = { ...childOpts, dependsOn: [...(this.namespace ? [this.namespace] : []), ...(args.dependsOn ?? [])] };
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

        for (const allow of args.allowIngress ?? []) {
            new k8s.networking.v1.NetworkPolicy(
                `${name}-allow-${allow.name}`,
                {
                    metadata: { name: `allow-${allow.name}`, namespace: nsName, labels: policyLabels },
                    spec: {
                        podSelector: { matchLabels: allow.podSelector },
                        policyTypes: ["Ingress"],
                        ingress: [ruleOf(allow, "from")],
                    },
                },
                policyOpts,
            );
        }
        for (const allow of args.allowEgress ?? []) {
            new k8s.networking.v1.NetworkPolicy(
                `${name}-allow-${allow.name}`,
                {
                    metadata: { name: `allow-${allow.name}`, namespace: nsName, labels: policyLabels },
                    spec: {
                        podSelector: { matchLabels: allow.podSelector },
                        policyTypes: ["Egress"],
                        egress: [ruleOf(allow, "to")],
                    },
                },
                policyOpts,
            );
        }

        this.records = [
            resourceRecord(TYPE, {
                id: namespaceRecordId(nsName),
                count: 1,
                status: args.cluster.deliveryMode === "render" ? "rendered" : "deployed",
                entrypoints: [],
                statusEndpoints: [],
                dependsOn: [RECORD_IDS.cluster],
            }),
        ];

        this.registerOutputs({ namespaceName: this.namespaceName });
    }
}
