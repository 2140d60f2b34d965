/**
 * Label selectors over a rendered tree of Kubernetes objects: what each
 * Service, ServiceMonitor, PodMonitor, PodDisruptionBudget and NetworkPolicy
 * selects, and whether every workload's selector matches its own pods.
 */
export interface RenderedObject {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace?: string; labels?: Record<string, string> };
    spec?: Record<string, unknown>;
}

interface LabelSelector {
    matchLabels?: Record<string, string>;
    matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

export function matches(selector: LabelSelector | Record<string, string> | undefined, labels: Record<string, string> = {}): boolean {
    if (!selector) {
        return false;
    }
    const s = ("matchLabels" in selector || "matchExpressions" in selector ? selector : { matchLabels: selector }) as LabelSelector;
    for (const [k, v] of Object.entries(s.matchLabels ?? {})) {
        if (labels[k] !== v) {
            return false;
        }
    }
    for (const e of s.matchExpressions ?? []) {
        const has = e.key in labels;
        const value = labels[e.key];
        const ok =
            e.operator === "In" ? has && (e.values ?? []).includes(value)
            : e.operator === "NotIn" ? !has || !(e.values ?? []).includes(value)
            : e.operator === "Exists" ? has
            : e.operator === "DoesNotExist" ? !has
            : false;
        if (!ok) {
            return false;
        }
    }
    return true;
}

const WORKLOADS = new Set(["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"]);

/** Pod templates of the workloads: namespace and labels of the pods they make. */
export function podTemplates(objects: RenderedObject[]): { owner: string; namespace: string; labels: Record<string, string> }[] {
    return objects
        .filter((o) => WORKLOADS.has(o.kind))
        .map((o) => ({
            owner: `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`,
            namespace: o.metadata.namespace ?? "",
            labels: ((o.spec?.template as { metadata?: { labels?: Record<string, string> } } | undefined)?.metadata?.labels) ?? {},
        }));
}

/** Workloads whose selector does not match their own pod template. */
export function workloadsNotSelectingTheirPods(objects: RenderedObject[]): string[] {
    return objects
        .filter((o) => WORKLOADS.has(o.kind) && o.kind !== "Job")
        .filter((o) => {
            const labels = (o.spec?.template as { metadata?: { labels?: Record<string, string> } } | undefined)?.metadata?.labels;
            return !matches(o.spec?.selector as LabelSelector | undefined, labels);
        })
        .map((o) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`);
}

interface NamespaceSelector {
    any?: boolean;
    matchNames?: string[];
}

/**
 * Every selector in the tree that selects nothing in it, as
 * `Kind/namespace/name: what it looks for`. Services, PodDisruptionBudgets and
 * NetworkPolicies select pods; ServiceMonitors select Services; PodMonitors select pods.
 */
export function selectorsSelectingNothing(objects: RenderedObject[]): string[] {
    const pods = podTemplates(objects);
    const services = objects.filter((o) => o.kind === "Service");
    const problems: string[] = [];
    const id = (o: RenderedObject) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;
    const inNamespaces = (o: RenderedObject, ns: string) => {
        const sel = o.spec?.namespaceSelector as NamespaceSelector | undefined;
        if (sel?.any) {
            return true;
        }
        return (sel?.matchNames ?? [o.metadata.namespace ?? ""]).includes(ns);
    };
    for (const o of objects) {
        const spec = o.spec ?? {};
        switch (o.kind) {
            case "Service": {
                const selector = spec.selector as Record<string, string> | undefined;
                if (selector && Object.keys(selector).length > 0 && !pods.some((p) => p.namespace === o.metadata.namespace && matches(selector, p.labels))) {
                    problems.push(`${id(o)}: ${JSON.stringify(selector)}`);
                }
                break;
            }
            case "PodDisruptionBudget":
            case "NetworkPolicy": {
                const selector = (o.kind === "NetworkPolicy" ? spec.podSelector : spec.selector) as LabelSelector | undefined;
                const empty = !selector || (Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0);
                if (!empty && !pods.some((p) => p.namespace === o.metadata.namespace && matches(selector, p.labels))) {
                    problems.push(`${id(o)}: ${JSON.stringify(selector)}`);
                }
                break;
            }
            case "ServiceMonitor": {
                const selector = spec.selector as LabelSelector | undefined;
                if (!services.some((s) => inNamespaces(o, s.metadata.namespace ?? "") && matches(selector, s.metadata.labels))) {
                    problems.push(`${id(o)}: ${JSON.stringify(selector)}`);
                }
                break;
            }
            case "PodMonitor": {
                const selector = spec.selector as LabelSelector | undefined;
                if (!pods.some((p) => inNamespaces(o, p.namespace) && matches(selector, p.labels))) {
                    problems.push(`${id(o)}: ${JSON.stringify(selector)}`);
                }
                break;
            }
        }
    }
    return problems;
}
