import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { meshedNamespaceAllows } from "../../components/mesh/network";
import { PlatformNamespace } from "../../components/namespace";
import { ResourceRecord } from "../../components/shared/records";
import { cloudTags, standardLabels, StandardTags } from "../../components/shared/tags";
import { CloudFoundationBuilder } from "../clouds/types";
import { EnvironmentConfig } from "../config";
import { CloudTemplate, PROFILES } from "../profiles";
import { currentCommit, environmentRecord } from "../record";
import { installPlatformServices, PLATFORM_SERVICE_NAMESPACES } from "./platform-services";

export const CLOUD_TEMPLATE_VERSION = "0.1.0";

/** Loads only the chosen cloud's SDK (the other one is never imported). */
async function foundationFor(cloud: "azure" | "aws"): Promise<CloudFoundationBuilder> {
    return cloud === "azure"
        ? (await import("../clouds/azure")).buildAzureFoundation
        : (await import("../clouds/aws")).buildAwsFoundation;
}

/**
 * dev, staging and prod: a managed cluster and a managed Postgres server on
 * the environment's cloud, Vault in HA unsealed by the cloud's KMS, ACME
 * certificates, and the platform services sized by the environment's profile.
 */
export async function buildCloudEnvironment(template: CloudTemplate, config: EnvironmentConfig) {
    const profile = PROFILES[template];
    const tags: StandardTags = {
        owner: config.owner,
        environment: config.name,
        costCenter: config.costCenter,
        repository: config.repository,
    };
    const foundation = (await foundationFor(config.cloud!))(config, profile, tags);
    const cluster = foundation.cluster;

    const services = installPlatformServices(cluster, tags, {
        issuer: { kind: "acme", email: config.acmeEmail! },
        ingressHosts: [config.ingressDomain!, `*.${config.ingressDomain!}`],
        ingressServiceType: "LoadBalancer",
        outboundTrafficPolicy: profile.outboundTrafficPolicy,
        replicas: profile.replicas,
        metricsRetention: profile.metricsRetention,
        metricsStorage: profile.metricsStorage,
        logsRetention: profile.logsRetention,
        logsStorage: profile.logsStorage,
        rabbitmqReplicas: profile.rabbitmqReplicas,
        consulReplicas: profile.consulReplicas,
        vault: foundation.vault,
        postgres: { kind: "managed", server: foundation.postgres },
        protect: profile.protect,
        chartMirror: config.chartMirror,
    });

    const systemNamespace = new PlatformNamespace(
        PLATFORM_SERVICE_NAMESPACES[0],
        { cluster, tags, ...meshedNamespaceAllows({ egress: [{ name: "platform-services", peers: "anywhere" }] }) },
        { dependsOn: [services.mesh] },
    );
    const recordMap = new k8s.core.v1.ConfigMap(
        "environment-record",
        {
            metadata: {
                name: "platform-environment",
                namespace: systemNamespace.namespaceName,
                labels: standardLabels(tags, { name: "environment-record", instance: config.name, component: "record" }),
            },
            data: { createdAt: new Date().toISOString(), environment: config.name, template },
        },
        { provider: cluster.provider, ignoreChanges: ["data.createdAt"], protect: profile.protect },
    );

    const records: ResourceRecord[] = [
        ...cluster.records,
        ...foundation.postgres.records,
        ...foundation.extraRecords,
        ...systemNamespace.records,
        ...services.records,
    ];
    const record = environmentRecord({
        id: `${pulumi.getProject()}/${config.name}`,
        name: config.name,
        description: config.description,
        tags: cloudTags(tags),
        createdAt: recordMap.data.apply((d) => d["createdAt"]),
        plannedDestructionAt: config.plannedDestruction,
        status: "deployed-ok",
        templates: [{ name: template, version: CLOUD_TEMPLATE_VERSION, commit: currentCommit() }],
        resources: records,
    });
    return { environment: record, deliveryMode: cluster.deliveryMode, cloud: config.cloud };
}
