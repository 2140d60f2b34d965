import { CloudFoundationBuilder } from "../clouds/types";
import { CloudEnvironmentConfig } from "../config";
import { profileFor } from "../profiles";
import { environmentTags, recordEnvironment } from "./environment-base";
import { installPlatformServices, servicesSizedBy } from "./platform-services";

// In platform-services.ts (the local template sizes its services with it too); importable from here for test/fixtures/programs/profile-services.
export { servicesSizedBy };

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
 * The config is a cloud template's: its cloud settings are all there.
 */
export async function buildCloudEnvironment(config: CloudEnvironmentConfig) {
    const template = config.template;
    const profile = profileFor(config);
    const tags = environmentTags(config);
    const foundation = (await foundationFor(config.cloud))(config, profile, tags);
    const cluster = foundation.cluster;

    const services = installPlatformServices(cluster, tags, {
        template,
        issuer: { kind: "acme", email: config.acmeEmail },
        ingressHosts: [config.ingressDomain, `*.${config.ingressDomain}`],
        ingressServiceType: "LoadBalancer",
        ...servicesSizedBy(profile),
        vault: foundation.vault,
        postgres: { kind: "managed", server: foundation.postgres },
        chartMirror: config.chartMirror,
        chartValues: config.chartValues,
    });

    const record = recordEnvironment({
        config,
        cluster,
        tags,
        template: { name: template, version: CLOUD_TEMPLATE_VERSION },
        mesh: services.mesh,
        records: [...cluster.records, ...foundation.postgres.records, ...foundation.extraRecords, ...services.records],
        protect: profile.protect,
    });
    return { environment: record, deliveryMode: cluster.deliveryMode, cloud: config.cloud };
}
