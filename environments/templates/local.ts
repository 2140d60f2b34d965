import * as path from "node:path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { ExistingCluster } from "../../components/cluster";
import { meshedNamespaceAllows } from "../../components/mesh/network";
import { PlatformNamespace } from "../../components/namespace";
import { ResourceRecord } from "../../components/shared/records";
import { cloudTags, standardLabels, StandardTags } from "../../components/shared/tags";
import { EnvironmentConfig } from "../config";
import { ResolvedTarget } from "../kubernetes-target";
import { currentCommit, environmentRecord } from "../record";
import { installPlatformServices, PLATFORM_SERVICE_NAMESPACES } from "./platform-services";

export const LOCAL_TEMPLATE_VERSION = "0.2.0";

/** Host names the local ingress gateway serves (resolve them to the node, e.g. in /etc/hosts). */
export const LOCAL_INGRESS_HOSTS = ["platform.localtest.me", "*.platform.localtest.me"];

/**
 * The `local` environment: every platform service at its smallest, on an
 * existing cluster (kind, k3d, any kubeconfig) or, with no cluster, rendered
 * to manifests. Vault runs in dev mode; certificates come from a local CA.
 */
export async function buildLocalEnvironment(config: EnvironmentConfig, target: ResolvedTarget) {
    const tags: StandardTags = {
        owner: config.owner,
        environment: config.name,
        costCenter: config.costCenter,
        repository: config.repository,
    };
    const renderDirectory = target.deliveryMode === "render" ? path.resolve(config.renderDirectory, config.name) : undefined;

    const cluster = new ExistingCluster("local", {
        deliveryMode: target.deliveryMode,
        kubeconfig: target.kubeconfig,
        context: target.context,
        renderDirectory,
        clusterName: target.context,
        tags,
    });

    const services = installPlatformServices(cluster, tags, {
        issuer: { kind: "self-signed" },
        ingressHosts: LOCAL_INGRESS_HOSTS,
        // kind and k3d have no load balancer.
        ingressServiceType: "NodePort",
        outboundTrafficPolicy: "ALLOW_ANY",
        replicas: 1,
        metricsRetention: "2d",
        metricsStorage: "5Gi",
        logsRetention: "48h",
        logsStorage: "5Gi",
        rabbitmqReplicas: 1,
        consulReplicas: 1,
        vault: { kind: "dev" },
        postgres: { kind: "in-cluster", instances: 1 },
        protect: false,
        chartMirror: config.chartMirror,
    });

    // Where the platform's own services run; it joins the mesh.
    const systemNamespace = new PlatformNamespace(
        PLATFORM_SERVICE_NAMESPACES[0],
        { cluster, tags, ...meshedNamespaceAllows({ egress: [{ name: "platform-services", peers: "anywhere" }] }) },
        { dependsOn: [services.mesh] },
    );

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
            data: { createdAt: new Date().toISOString(), environment: config.name, template: "local" },
        },
        { provider: cluster.provider, ignoreChanges: ["data.createdAt"] },
    );

    const records: ResourceRecord[] = [...cluster.records, ...systemNamespace.records, ...services.records];
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

    // Vault and Consul are configured through their APIs, which only a live,
    // reachable cluster has; the SDKs are loaded only then.
    if (target.deliveryMode === "apply" && config.vaultAddress && services.vault.devRootToken) {
        const { VaultConfiguration } = await import("../../components/vault/configuration");
        new VaultConfiguration(
            "vault-config",
            {
                address: config.vaultAddress,
                token: services.vault.devRootToken,
                services: [{ name: "platform-api", namespace: PLATFORM_SERVICE_NAMESPACES[0], database: true }],
                postgres: services.postgres,
                staticSecrets: [
                    {
                        path: "rabbitmq/default-user",
                        data: { username: services.rabbitmq.username, password: services.rabbitmq.password },
                    },
                ],
            },
            { dependsOn: [services.vault] },
        );
    }
    if (target.deliveryMode === "apply" && config.consulAddress) {
        const { ConsulCatalog } = await import("../../components/consul/catalog");
        new ConsulCatalog(
            "consul-catalog",
            {
                address: config.consulAddress,
                datacenter: services.consul.datacenter,
                environment: config.name,
                record,
                endpoints: [
                    { name: "rabbitmq", address: services.rabbitmq.host, port: services.rabbitmq.port, tags: ["amqp"] },
                    { name: "vault", address: new URL(services.vault.address).hostname, port: 8200 },
                ],
            },
            { dependsOn: [services.consul] },
        );
    }

    return { environment: record, deliveryMode: target.deliveryMode, renderDirectory };
}
