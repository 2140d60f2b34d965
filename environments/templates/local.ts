import * as path from "node:path";

import { ExistingCluster } from "../../components/cluster";
import { LocalEnvironmentConfig, PROJECT_ROOT } from "../config";
import { ResolvedTarget } from "../kubernetes-target";
import { LOCAL_PROFILES } from "../template-registry";
import { environmentTags, recordEnvironment } from "./environment-base";
import { installPlatformServices, PLATFORM_SERVICE_NAMESPACES, servicesSizedBy } from "./platform-services";

export const LOCAL_TEMPLATE_VERSION = "0.2.0";

/**
 * Host names the ingress gateway serves: localtest.me resolves to 127.0.0.1,
 * so `local` and each review environment get names without DNS setup.
 */
export function ingressHostsFor(environment: string): string[] {
    const domain = environment === "local" ? "platform.localtest.me" : `${environment}.platform.localtest.me`;
    return [domain, `*.${domain}`];
}

/**
 * The `local` and `review` templates: every platform service at its
 * smallest, on an existing cluster (kind, k3d, a CI runner's throwaway
 * cluster, any kubeconfig) or, with no cluster, rendered to manifests. Vault
 * runs in dev mode; certificates come from a local CA. A review environment
 * is the same, named `review-<id>`, with a planned destruction date the
 * reaper acts on. Sizes come from the template's profile (template-registry.ts).
 */
export async function buildLocalEnvironment(config: LocalEnvironmentConfig, target: ResolvedTarget) {
    const tags = environmentTags(config);
    const profile = LOCAL_PROFILES[config.template];
    // Relative to the repository, where the loader checked it (the program runs there too).
    const renderDirectory = target.deliveryMode === "render" ? path.resolve(PROJECT_ROOT, config.renderDirectory, config.name) : undefined;
    // Off unless the stack asks: local and review environments are throwaway.
    const protect = config.protect ?? profile.protect;

    const cluster = new ExistingCluster("local", {
        deliveryMode: target.deliveryMode,
        kubeconfig: target.kubeconfig,
        context: target.context,
        renderDirectory,
        clusterName: target.context,
        tags,
    });

    const services = installPlatformServices(cluster, tags, {
        template: config.template,
        issuer: { kind: "self-signed" },
        ingressHosts: ingressHostsFor(config.name),
        // kind and k3d have no load balancer.
        ingressServiceType: "NodePort",
        ...servicesSizedBy(profile),
        vault: { kind: "dev" },
        postgres: { kind: "in-cluster", instances: profile.postgresInstances },
        protect,
        chartMirror: config.chartMirror,
        chartValues: config.chartValues,
        manager: config.manager,
    });

    const record = recordEnvironment({
        config,
        cluster,
        tags,
        template: { name: config.template, version: LOCAL_TEMPLATE_VERSION },
        mesh: services.mesh,
        records: [...cluster.records, ...services.records],
        protect,
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
