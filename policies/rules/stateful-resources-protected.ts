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
    /**
     * Every stateful resource of the stack must be protected, whatever its
     * environment is named: set by the policy config of a template that forces
     * protection (policies/config/prod.json), which every stack of that
     * template runs with (prod, prod-eu…), so the template decides, not the name.
     */
    required: boolean;
    /**
     * Environments whose stateful resources must be protected, by name: a
     * safety net on top of `required` for a pack run without its template's
     * config (a stack whose template cannot be told gets the pack's defaults).
     */
    protectedEnvironments: string[];
}

export const DEFAULT_PROTECTION: ProtectionConfig = { required: false, protectedEnvironments: ["prod"] };

/** Where the stack's template requires it (prod), every stateful resource is protected from deletion. */
export const statefulResourcesProtected: ResourceValidationPolicy = {
    name: "stateful-resources-protected",
    description: "Where the stack's policy config requires it (every prod-template stack) or in a protected environment, every stateful resource is registered with protect.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            required: { type: "boolean", default: DEFAULT_PROTECTION.required },
            protectedEnvironments: { type: "array", items: { type: "string" }, default: DEFAULT_PROTECTION.protectedEnvironments },
        },
    },
    validateResource: (args, reportViolation) => {
        if (!STATEFUL_TYPES.has(args.type)) {
            return;
        }
        const config = { ...DEFAULT_PROTECTION, ...args.getConfig<Partial<ProtectionConfig>>() };
        const environment = environmentOf(args);
        if ((config.required || config.protectedEnvironments.includes(environment)) && !args.opts.protect) {
            reportViolation(`${args.urn} (${args.type}): stateful resource in ${environment} is not protected (set protect)`);
        }
    },
};
