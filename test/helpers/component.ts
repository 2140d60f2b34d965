/**
 * Shared setup and checks for component tests: the standard tags, a
 * render-mode cluster, common Kubernetes type tokens, Helm chart inputs, the
 * "two instances do not collide" checks and `protect` capture. Components are
 * imported only after `setupMocks` has run (Pulumi reads config at
 * construction), so this module imports them lazily or as types only.
 */
import type * as pulumi from "@pulumi/pulumi";
import { expect } from "vitest";

import type { ExistingCluster } from "../../components/cluster";
import type { StandardTags } from "../../components/shared/tags";
import { MockOptions, MockSession, setupMocks, settle } from "./mocks";
import { tempDir } from "./temp-dir";

/** The standard tags component tests pass (environment `dev`). */
export const TEST_TAGS = {
    owner: "team@example.com",
    environment: "dev",
    costCenter: "PLT-0001",
    repository: "platform-gitops",
} satisfies StandardTags;

/** The five required cloud tags that `TEST_TAGS` must become on a taggable cloud resource. */
export const TEST_CLOUD_TAGS = {
    owner: "team@example.com",
    environment: "dev",
    "cost-center": "PLT-0001",
    "managed-by": "pulumi",
    repository: "platform-gitops",
};

/** Type tokens of the Kubernetes resources several component tests look up. */
export const K8S = {
    chart: "kubernetes:helm.sh/v4:Chart",
    namespace: "kubernetes:core/v1:Namespace",
    networkPolicy: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
    secret: "kubernetes:core/v1:Secret",
    certificate: "kubernetes:cert-manager.io/v1:Certificate",
    peerAuthentication: "kubernetes:security.istio.io/v1:PeerAuthentication",
    provider: "pulumi:providers:kubernetes",
} as const;

/** Sets up mocks, then imports the component module (never before: Pulumi reads config at construction). */
export async function setupComponent<M>(load: () => Promise<M>, options: MockOptions = {}): Promise<{ session: MockSession; mod: M }> {
    const session = await setupMocks(options);
    return { session, mod: await load() };
}

/** A render-mode `ExistingCluster` named `c` (imported lazily, so call it only after `setupMocks`). */
export async function renderCluster(tags: StandardTags = TEST_TAGS): Promise<ExistingCluster> {
    const { ExistingCluster } = await import("../../components/cluster");
    return new ExistingCluster("c", { deliveryMode: "render", renderDirectory: "/tmp/x", tags });
}

/**
 * An apply-mode `ExistingCluster` named `applied` (call it only after `setupMocks`):
 * for the checks that need what is only written when applying, such as
 * generated credentials (rendered Secrets carry no values).
 */
export async function appliedCluster(tags: StandardTags = TEST_TAGS): Promise<ExistingCluster> {
    const { ExistingCluster } = await import("../../components/cluster");
    return new ExistingCluster("applied", { deliveryMode: "apply", kubeconfig: "apiVersion: v1\nkind: Config\n", tags });
}

/** `setupComponent` with default mocks, plus a render-mode cluster with `clusterTags` to deploy into, settled. */
export async function setupRenderedComponent<M>(
    load: () => Promise<M>,
    clusterTags: StandardTags = TEST_TAGS,
): Promise<{ session: MockSession; mod: M; cluster: ExistingCluster }> {
    const { session, mod } = await setupComponent(load);
    const cluster = await renderCluster(clusterTags);
    await settle(session);
    return { session, mod, cluster };
}

/** Runs `create` (a component constructor call) and waits until its registrations settle. */
export async function settled<R>(session: MockSession, create: () => R): Promise<R> {
    const created = create();
    await settle(session);
    return created;
}

/** Asserts that `create` throws `message` and that, once settled, nothing was registered. */
export async function expectRefusedBeforeRegistering(session: MockSession, create: () => unknown, message: RegExp): Promise<void> {
    expect(create).toThrow(message);
    await settle(session);
    expect(session.resources).toEqual([]);
}

/** The inputs of a recorded Helm chart (`kubernetes:helm.sh/v4:Chart`), with its values typed as `V`. */
export interface ChartInputs<V = Record<string, unknown>> {
    /** The release name, where the component sets one. */
    name?: string;
    chart: string;
    version?: string;
    repositoryOpts?: { repo: string };
    namespace: string;
    values: V;
}

/** The inputs of the chart resource named `name` in `session`; throws if there is none. */
export function chartInputs<V = Record<string, unknown>>(session: MockSession, name: string): ChartInputs<V> {
    return session.get(K8S.chart, name).inputs as unknown as ChartInputs<V>;
}

/** What every container's `resources` must hold: CPU and memory requests and a memory limit. */
export const CONTAINER_RESOURCES = {
    requests: { cpu: expect.any(String), memory: expect.any(String) },
    limits: { memory: expect.any(String) },
};

/** Every `resources` block in Helm values, with its path; `containersOnly` leaves out volume claims (blocks requesting `storage`). */
export function resourceBlocks(value: unknown, at = "values", containersOnly = false): [string, unknown][] {
    if (typeof value !== "object" || value === null) {
        return [];
    }
    return Object.entries(value).flatMap(([k, v]): [string, unknown][] => {
        if (k !== "resources") {
            return resourceBlocks(v, `${at}.${k}`, containersOnly);
        }
        const isVolumeClaim = (v as { requests?: { storage?: string } } | undefined)?.requests?.storage !== undefined;
        return containersOnly && isVolumeClaim ? [] : [[`${at}.${k}`, v]];
    });
}

/** A new empty directory to pass as `chartMirror`, removed after the file's tests. */
export function tempMirror(): string {
    return tempDir("mirror-");
}

/** Asserts that no two recorded resources share a `type::name` key. */
export function expectUniqueKeys(session: MockSession): void {
    const keys = session.resources.map((r) => `${r.type}::${r.name}`);
    expect(new Set(keys).size).toBe(keys.length);
}

/**
 * Asserts that instances named `prefixes` did not collide: unique `type::name`
 * keys, and names that start with an instance's name: with `scope: "all"` every
 * resource is `<prefix>` or `<prefix>-…`; with `"custom"` every custom resource
 * is `<prefix>-…` (components are not checked).
 */
export function expectDistinctInstances(session: MockSession, prefixes: readonly string[], scope: "all" | "custom" = "all"): void {
    expectUniqueKeys(session);
    const alternatives = prefixes.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|");
    const pattern = scope === "all" ? new RegExp(`^(${alternatives})(-|$)`) : new RegExp(`^(${alternatives})-`);
    for (const r of session.resources.filter((r) => scope === "all" || r.custom)) {
        expect(r.name, `${r.type} ${r.name}`).toMatch(pattern);
    }
}

/** Effective `protect` by `type name`, and the transformations that capture it (pass those in the component's options). */
export interface ProtectCapture {
    transformations: pulumi.ResourceTransformation[];
    protect: Map<string, boolean>;
}

/**
 * Captures each resource's effective `protect`: its own option, else its
 * parent's, else false. For checks that rely on inheritance from a protected
 * component: computed here, it does not depend on the request carrying the
 * inherited value (`RecordedResource.protect` is only what the request says).
 */
export function captureProtect(): ProtectCapture {
    const protect = new Map<string, boolean>();
    const byResource = new WeakMap<pulumi.Resource, boolean>();
    const transformations: pulumi.ResourceTransformation[] = [
        ({ resource, type, name, opts }) => {
            const effective = opts.protect ?? (opts.parent ? byResource.get(opts.parent) : undefined) ?? false;
            byResource.set(resource, effective);
            protect.set(`${type} ${name}`, effective);
            return undefined;
        },
    ];
    return { transformations, protect };
}
