import { Cluster } from "./cluster";
import { ResourceStatus } from "./records";

/**
 * One explicit allow on top of a namespace's default-deny (PlatformNamespace
 * takes them; here so shared helpers can build them without importing a component).
 */
export interface NetworkAllow {
    /** Short name; the NetworkPolicy is called `allow-<name>`. */
    name: string;
    /** Pods of this namespace the allow applies to, by labels. Default: every pod. */
    podSelector?: Record<string, string>;
    /** Ports allowed. Default: every port. */
    ports?: { port: number; protocol?: "TCP" | "UDP" }[];
    /**
     * The other side: namespaces by name, or `anywhere` (including addresses
     * outside the cluster, such as the API server calling a webhook, or the
     * internet for an ingress gateway).
     */
    peers: { namespaces: string[] } | "anywhere";
}

/** Container resource requests and limits, as Kubernetes takes them. */
export interface ContainerResources {
    requests: { cpu: string; memory: string };
    limits: { cpu?: string; memory: string };
}

/**
 * Requests and limits in one call. CPU is not limited by default: a CPU limit
 * throttles bursty control planes without protecting neighbours (requests do).
 */
export function containerResources(cpu: string, memory: string, memoryLimit = memory, cpuLimit?: string): ContainerResources {
    return {
        requests: { cpu, memory },
        limits: cpuLimit ? { cpu: cpuLimit, memory: memoryLimit } : { memory: memoryLimit },
    };
}

/** Record status of an object delivered to this cluster. */
export function deliveredStatus(cluster: Cluster): ResourceStatus {
    return cluster.deliveryMode === "render" ? "rendered" : "deployed";
}

/** Egress to the Kubernetes API server (operators, controllers, auth backends); its address is outside any namespace. */
export const ALLOW_KUBE_API: NetworkAllow = {
    name: "kube-api",
    ports: [{ port: 443 }, { port: 6443 }],
    peers: "anywhere",
};

/** Ingress from the API server to admission webhooks, which arrives from outside any namespace. */
export function allowWebhook(port: number): NetworkAllow {
    return { name: "webhook", ports: [{ port }], peers: "anywhere" };
}

/** In-cluster DNS name of a Service. */
export function serviceHost(service: string, namespace: string): string {
    return `${service}.${namespace}.svc.cluster.local`;
}

/** A replica count that must be a positive integer within bounds; throws naming the setting. */
export function checkCount(component: string, setting: string, value: number | undefined, min: number, max: number): void {
    if (value === undefined) {
        return;
    }
    if (!Number.isInteger(value) || value < min || value > max) {
        throw new Error(`${component}: ${setting} is ${value}; allowed: an integer from ${min} to ${max}`);
    }
}

/** A Kubernetes quantity such as `10Gi`; throws naming the setting. */
export function checkQuantity(component: string, setting: string, value: string | undefined): void {
    if (value !== undefined && !/^[1-9][0-9]*(Ki|Mi|Gi|Ti)$/.test(value)) {
        throw new Error(`${component}: ${setting} is "${value}"; allowed: a size such as 512Mi, 10Gi or 1Ti`);
    }
}

/** A duration such as `15d` or `720h` (Prometheus / Loki syntax); throws naming the setting. */
export function checkDuration(component: string, setting: string, value: string | undefined): void {
    if (value !== undefined && !/^[1-9][0-9]*(h|d|w|y)$/.test(value)) {
        throw new Error(`${component}: ${setting} is "${value}"; allowed: a duration such as 24h, 15d, 4w or 1y`);
    }
}

/**
 * Args merged over defaults, where an explicitly `undefined` arg keeps the
 * default (a plain spread would replace it with `undefined`).
 */
export function withDefaults<D extends object, A extends object>(defaults: D, args: A): D & A {
    const defined = Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined));
    return { ...defaults, ...defined } as D & A;
}
