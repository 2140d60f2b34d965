// Shared readers for Kubernetes objects as the policy pack sees them (inputs).

export interface Container {
    name?: string;
    image?: string;
    resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}

export interface PodSpec {
    containers?: Container[];
    initContainers?: Container[];
}

interface WorkloadProps {
    spec?: {
        containers?: Container[];
        initContainers?: Container[];
        template?: { spec?: PodSpec };
        jobTemplate?: { spec?: { template?: { spec?: PodSpec } } };
    };
}

/** Types whose inputs hold a pod spec, and where it is. */
const POD_TEMPLATE_TYPES = new Set([
    "kubernetes:apps/v1:Deployment",
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:apps/v1:DaemonSet",
    "kubernetes:apps/v1:ReplicaSet",
    "kubernetes:batch/v1:Job",
]);

/** The pod spec of a workload object, or undefined for other types. */
export function podSpecOf(type: string, props: unknown): PodSpec | undefined {
    const p = props as WorkloadProps;
    if (type === "kubernetes:core/v1:Pod") {
        return p.spec;
    }
    if (POD_TEMPLATE_TYPES.has(type)) {
        return p.spec?.template?.spec;
    }
    if (type === "kubernetes:batch/v1:CronJob") {
        return p.spec?.jobTemplate?.spec?.template?.spec;
    }
    return undefined;
}

/** Every container of a pod spec, init containers included. */
export function containersOf(spec: PodSpec): Container[] {
    return [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
}

/** Every container of a workload object (none for other types). */
export function workloadContainers(type: string, props: unknown): Container[] {
    const spec = podSpecOf(type, props);
    return spec ? containersOf(spec) : [];
}
