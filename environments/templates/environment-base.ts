import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { Cluster } from "../../components/cluster/types";
import { meshedNamespaceAllows } from "../../components/mesh/network";
import { PlatformNamespace } from "../../components/namespace";
import { ResourceRecord } from "../../components/shared/records";
import { cloudTags, standardLabels, StandardTags } from "../../components/shared/tags";
import { EnvironmentConfig } from "../config";
import { currentCommit, environmentRecord } from "../record";
import { PLATFORM_SERVICE_NAMESPACES } from "./platform-services";

/** The environment's standard tags, from its validated config. */
export function environmentTags(config: EnvironmentConfig): StandardTags {
    return { owner: config.owner, environment: config.name, costCenter: config.costCenter, repository: config.repository };
}

export interface EnvironmentRecordArgs {
    config: EnvironmentConfig;
    cluster: Cluster;
    tags: StandardTags;
    template: { name: string; version: string };
    /** The mesh the platform's own namespace joins. */
    mesh: pulumi.Resource;
    /** Records of every component of the environment. */
    records: ResourceRecord[];
    /** Keep the record's ConfigMap (and so its creation date) on destroy. */
    protect: boolean;
}

/**
 * What every template ends with: the platform's own namespace (in the mesh),
 * a ConfigMap holding the creation date (written once: ignoreChanges makes
 * later updates reuse the stored value), and the environment record.
 */
export function recordEnvironment(a: EnvironmentRecordArgs): pulumi.Output<unknown> {
    const systemNamespace = new PlatformNamespace(
        PLATFORM_SERVICE_NAMESPACES[0],
        { cluster: a.cluster, tags: a.tags, ...meshedNamespaceAllows({ egress: [{ name: "platform-services", peers: "anywhere" }] }) },
        { dependsOn: [a.mesh] },
    );
    const recordMap = new k8s.core.v1.ConfigMap(
        "environment-record",
        {
            metadata: {
                name: "platform-environment",
                namespace: systemNamespace.namespaceName,
                labels: standardLabels(a.tags, { name: "environment-record", instance: a.config.name, component: "record" }),
            },
            data: { createdAt: new Date().toISOString(), environment: a.config.name, template: a.template.name },
        },
        { provider: a.cluster.provider, ignoreChanges: ["data.createdAt"], protect: a.protect },
    );
    return environmentRecord({
        id: `${pulumi.getProject()}/${a.config.name}`,
        name: a.config.name,
        description: a.config.description,
        tags: cloudTags(a.tags),
        createdAt: recordMap.data.apply((d) => d["createdAt"]),
        plannedDestructionAt: a.config.plannedDestruction,
        status: "deployed-ok",
        templates: [{ ...a.template, commit: currentCommit() }],
        resources: [...a.records, ...systemNamespace.records],
    });
}
