import { ResourceValidationPolicy } from "@pulumi/policy";

import { environmentOf } from "./environment";

/** Types whose deletion loses data or keys. */
export const STATEFUL_TYPES = new Set([
    "aws:rds/instance:Instance",
    "aws:kms/key:Key",
    "aws:eks/cluster:Cluster",
    "azure-native:dbforpostgresql:Server",
    "azure-native:dbforpostgresql:Database",
    "azure-native:keyvault:Vault",
    "azure-native:keyvault:Key",
    "azure-native:containerservice:ManagedCluster",
    "kubernetes:rabbitmq.com/v1beta1:RabbitmqCluster",
    "kubernetes:postgresql.cnpg.io/v1:Cluster",
    "kubernetes:core/v1:PersistentVolumeClaim",
]);

export interface ProtectionConfig {
    /** Environments whose stateful resources must be protected. */
    protectedEnvironments: string[];
}

export const DEFAULT_PROTECTION: ProtectionConfig = { protectedEnvironments: ["prod"] };

/** In prod, every stateful resource is protected from deletion. */
export const statefulResourcesProtected: ResourceValidationPolicy = {
    name: "stateful-resources-protected",
    description: "In protected environments (prod), every stateful resource is registered with protect.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: { protectedEnvironments: { type: "array", items: { type: "string" }, default: DEFAULT_PROTECTION.protectedEnvironments } },
    },
    validateResource: (args, reportViolation) => {
        if (!STATEFUL_TYPES.has(args.type)) {
            return;
        }
        const config = { ...DEFAULT_PROTECTION, ...args.getConfig<Partial<ProtectionConfig>>() };
        const environment = environmentOf(args);
        if (config.protectedEnvironments.includes(environment) && !args.opts.protect) {
            reportViolation(`${args.urn} (${args.type}): stateful resource in ${environment} is not protected (set protect)`);
        }
    },
};
