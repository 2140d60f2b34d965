import * as pulumi from "@pulumi/pulumi";

/** Lifecycle of one resource record, as reported in the environment record. */
export type ResourceStatus = "planned" | "rendered" | "deployed";

/**
 * What a component reports about each logical resource it creates; the
 * environment turns these into the resource records of its stack outputs.
 */
export interface ResourceRecord {
    /** Stable id, unique within the environment (e.g. `cluster`, `namespace/platform-system`). */
    id: string;
    /** The component (template) that made it, e.g. `platform:cluster:ExistingCluster`. */
    template: string;
    /** How many instances it stands for (replicas, nodes, objects). */
    count: pulumi.Input<number>;
    /** Whether it was applied to a cluster or rendered to manifests. */
    status: pulumi.Input<ResourceStatus>;
    /** Where users reach it (URLs, hostnames), if anywhere. */
    entrypoints: pulumi.Input<string>[];
    /** Where its health can be checked, if anywhere. */
    statusEndpoints: pulumi.Input<string>[];
    /** Ids of the records this one needs. */
    dependsOn: string[];
}

/** A component that reports resource records. */
export interface RecordSource {
    readonly records: ResourceRecord[];
}

/** The type token a platform component registers with: `platform:<module>:<Type>`. */
export type ComponentType = `platform:${string}:${string}`;

/** What a component says about one record; the template is its type token. */
export type RecordFields = Omit<ResourceRecord, "template">;

/**
 * A record made by the component registered as `type`. Components pass the
 * same constant to `super(...)`, so a record's template cannot drift from the
 * type the engine shows.
 */
export function resourceRecord(type: ComponentType, fields: RecordFields): ResourceRecord {
    // Keys in the order the records have always had (stack outputs, snapshots).
    return {
        id: fields.id,
        template: type,
        count: fields.count,
        status: fields.status,
        entrypoints: fields.entrypoints,
        statusEndpoints: fields.statusEndpoints,
        dependsOn: fields.dependsOn,
    };
}

/**
 * Record ids one component writes and others read in `dependsOn`, in one
 * place so a writer and its readers cannot disagree.
 */
export const RECORD_IDS = {
    /** Every cluster component (EksCluster, AksCluster, ExistingCluster). */
    cluster: "cluster",
    certManager: "cert-manager",
    /** IstioMesh's control plane: workloads in the mesh need it for their sidecars. */
    istiod: "mesh/istiod",
    consul: "consul",
    vault: "vault",
    /** Every Postgres server component (in-cluster, RDS, Azure). */
    postgres: "postgres",
} as const;

/** The record id of the PlatformNamespace named `namespace`. */
export function namespaceRecordId(namespace: string): string {
    return `namespace/${namespace}`;
}
