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
