import { EnvironmentConfig } from "./config";
import { PlatformServiceOptions } from "./templates/platform-services";

/** The long-lived cloud environments. */
export type CloudTemplate = "dev" | "staging" | "prod";

/**
 * What differs between dev, staging and prod, in one place: sizes,
 * retention, replicas, egress policy and protection. Everything else is the
 * same code for every environment.
 */
export interface EnvironmentProfile
    extends Pick<
        PlatformServiceOptions,
        | "replicas"
        | "metricsRetention"
        | "metricsStorage"
        | "logsRetention"
        | "logsStorage"
        | "rabbitmqReplicas"
        | "consulReplicas"
        | "outboundTrafficPolicy"
        | "protect"
    > {
    /** Vault's Raft voters. */
    vaultReplicas: number;
    /** Production settings of the managed services (multi-AZ/zone-redundant, long backups, guard rails). */
    production: boolean;
    /** Worker nodes: minimum and maximum. */
    nodes: { min: number; max: number };
}

export const PROFILES: Record<CloudTemplate, EnvironmentProfile> = {
    dev: {
        replicas: 1,
        metricsRetention: "7d",
        metricsStorage: "20Gi",
        logsRetention: "168h",
        logsStorage: "20Gi",
        rabbitmqReplicas: 1,
        consulReplicas: 1,
        vaultReplicas: 3,
        outboundTrafficPolicy: "ALLOW_ANY",
        production: false,
        protect: false,
        nodes: { min: 2, max: 4 },
    },
    staging: {
        replicas: 2,
        metricsRetention: "15d",
        metricsStorage: "50Gi",
        logsRetention: "336h",
        logsStorage: "50Gi",
        rabbitmqReplicas: 3,
        consulReplicas: 3,
        vaultReplicas: 3,
        outboundTrafficPolicy: "REGISTRY_ONLY",
        production: false,
        protect: false,
        nodes: { min: 3, max: 6 },
    },
    prod: {
        replicas: 3,
        metricsRetention: "30d",
        metricsStorage: "200Gi",
        logsRetention: "720h",
        logsStorage: "200Gi",
        rabbitmqReplicas: 3,
        consulReplicas: 3,
        vaultReplicas: 5,
        outboundTrafficPolicy: "REGISTRY_ONLY",
        production: true,
        protect: true,
        nodes: { min: 3, max: 12 },
    },
};

/** A template's profile with the stack's overrides (node counts, protection) applied. */
export function profileFor(template: CloudTemplate, config: EnvironmentConfig): EnvironmentProfile {
    const base = PROFILES[template];
    return {
        ...base,
        nodes: { min: config.nodeMin ?? base.nodes.min, max: config.nodeMax ?? Math.max(base.nodes.max, config.nodeMin ?? 0) },
        // prod always protects (the loader refuses protect=false there).
        protect: template === "prod" ? true : (config.protect ?? base.protect),
    };
}
