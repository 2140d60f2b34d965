import * as path from "node:path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { ExistingCluster } from "../../components/cluster";
import { PlatformNamespace } from "../../components/namespace";
import { ResourceRecord } from "../../components/shared/records";
import { cloudTags, standardLabels, StandardTags } from "../../components/shared/tags";
import { EnvironmentConfig } from "../config";
import { ResolvedTarget } from "../kubernetes-target";
import { currentCommit, environmentRecord } from "../record";

export const LOCAL_TEMPLATE_VERSION = "0.1.0";

/** Namespaces every environment has; components install into them. */
export const PLATFORM_NAMESPACES = ["platform-system"] as const;

/**
 * The `local` environment: an existing cluster (kind, k3d, any kubeconfig) or,
 * with no cluster, manifests rendered to a directory.
 */
export function buildLocalEnvironment(config: EnvironmentConfig, target: ResolvedTarget) {
    const tags: StandardTags = {
        owner: config.owner,
        environment: config.name,
        costCenter: config.costCenter,
        repository: config.repository,
    };

    const cluster = new ExistingCluster("local", {
        deliveryMode: target.deliveryMode,
        kubeconfig: target.kubeconfig,
        context: target.context,
        renderDirectory:
            target.deliveryMode === "render" ? path.resolve(config.renderDirectory, config.name) : undefined,
        clusterName: target.context,
        tags,
    });

    const namespaces = PLATFORM_NAMESPACES.map(
        (ns) => new PlatformNamespace(ns, { cluster, tags }),
    );
    const systemNamespace = namespaces[0];

    // The record's creation date is written once and kept: ignoreChanges
    // makes later updates reuse the stored value.
    const recordMap = new k8s.core.v1.ConfigMap(
        "environment-record",
        {
            metadata: {
                name: "platform-environment",
                namespace: systemNamespace.namespaceName,
                labels: standardLabels(tags, { name: "environment-record", instance: config.name, component: "record" }),
            },
            data: {
                createdAt: new Date().toISOString(),
                environment: config.name,
                template: "local",
            },
        },
        { provider: cluster.provider, ignoreChanges: ["data.createdAt"] },
    );

    const records: ResourceRecord[] = [...cluster.records, ...namespaces.flatMap((n) => n.records)];
    const record = environmentRecord({
        id: `${pulumi.getProject()}/${config.name}`,
        name: config.name,
        description: config.description,
        tags: cloudTags(tags),
        createdAt: recordMap.data.apply((d) => d["createdAt"]),
        plannedDestructionAt: config.plannedDestruction,
        status: "deployed-ok",
        templates: [{ name: "local", version: LOCAL_TEMPLATE_VERSION, commit: currentCommit() }],
        resources: records,
    });

    return {
        environment: record,
        deliveryMode: target.deliveryMode,
        renderDirectory:
            target.deliveryMode === "render" ? path.resolve(config.renderDirectory, config.name) : undefined,
    };
}
