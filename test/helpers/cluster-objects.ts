/**
 * Compares what a stack's state says it manages with what a live API server
 * holds: the Kubernetes objects of the state (by kind and namespace/name) and
 * the objects carrying the platform's managed-by label. An object in the API
 * server that the state does not know is an orphan; one the state knows that
 * the API server lacks is lost.
 */
import { PulumiResult } from "./engine";

interface StateResource {
    urn: string;
    type: string;
    id?: string;
    protect?: boolean;
    outputs?: { apiVersion?: string; kind?: string };
}

export interface StackState {
    resources: StateResource[];
    pendingOperations: number;
}

/** `pulumi stack export` output → its resources and pending operations. */
export function parseStackExport(json: string): StackState {
    const exported = JSON.parse(json) as { deployment: { resources?: StateResource[]; pending_operations?: unknown[] } };
    return { resources: exported.deployment.resources ?? [], pendingOperations: exported.deployment.pending_operations?.length ?? 0 };
}

/** Kubernetes objects (not charts, config groups or providers) of a state, as `Kind/namespace/name`. */
export function stateObjects(state: StackState): Set<string> {
    const keys = new Set<string>();
    for (const r of state.resources) {
        if (!r.type.startsWith("kubernetes:") || r.type.startsWith("kubernetes:helm.sh/") || r.type.startsWith("kubernetes:yaml/") || !r.outputs?.kind || !r.id) {
            continue;
        }
        const [ns, name] = r.id.includes("/") ? r.id.split("/", 2) : ["", r.id];
        keys.add(`${r.outputs.kind}/${ns}/${name}`);
    }
    return keys;
}

/** The `kubectl get` resource names for the kinds in a state (`Kind.version.group`, core kinds bare). */
export function stateKinds(state: StackState): string[] {
    const kinds = new Set<string>();
    for (const r of state.resources) {
        const { apiVersion, kind } = r.outputs ?? {};
        if (r.type.startsWith("kubernetes:") && apiVersion && kind) {
            kinds.add(apiVersion.includes("/") ? `${kind}.${apiVersion.split("/")[1]}.${apiVersion.split("/")[0]}` : kind);
        }
    }
    return [...kinds].sort();
}

interface KubeList {
    items: { kind: string; metadata: { name: string; namespace?: string } }[];
}

/** Objects of the given kinds that carry `app.kubernetes.io/managed-by=pulumi`, as `Kind/namespace/name`. */
export async function liveObjects(
    kubectl: (args: string[]) => Promise<PulumiResult>,
    kinds: string[],
): Promise<Set<string>> {
    const keys = new Set<string>();
    // One kind at a time: a kind whose CustomResourceDefinition is gone has no objects.
    for (const kind of kinds) {
        const result = await kubectl(["get", kind, "--all-namespaces", "-l", "app.kubernetes.io/managed-by=pulumi", "-o", "json"]);
        if (result.status !== 0) {
            if (/the server doesn't have a resource type|could not find the requested resource/.test(result.stderr)) {
                continue;
            }
            throw new Error(`kubectl get ${kind} failed: ${result.stderr}`);
        }
        for (const o of (JSON.parse(result.stdout) as KubeList).items) {
            keys.add(`${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`);
        }
    }
    return keys;
}

export interface Reconciliation {
    orphaned: string[];
    lost: string[];
    inState: number;
    live: number;
}

export function reconcile(state: Set<string>, live: Set<string>): Reconciliation {
    return {
        orphaned: [...live].filter((k) => !state.has(k)).sort(),
        lost: [...state].filter((k) => !live.has(k)).sort(),
        inState: state.size,
        live: live.size,
    };
}
