import * as pulumi from "@pulumi/pulumi";

import { preflightCharts } from "../components/shared/chart";
import { registerDriftRepair } from "../components/shared/helm";
import { IN_CLUSTER_CHARTS, PLATFORM_MANIFESTS } from "../components/upstream";
import { EnvironmentConfig, loadEnvironmentConfig } from "./config";
import { resolveKubernetesTarget } from "./kubernetes-target";

/**
 * The program behind every stack: validate the configuration (before any
 * resource is registered), check that every chart can be read, build the
 * template. Templates are imported on demand so that `local` never loads a
 * cloud SDK.
 */
export async function runEnvironment() {
    const config: EnvironmentConfig = loadEnvironmentConfig();
    // Every chart must be readable before the first resource is registered.
    await preflightCharts(IN_CLUSTER_CHARTS, config.chartMirror, { manifests: PLATFORM_MANIFESTS });
    // Declared values win over changes made with kubectl (README "Reliability and recovery").
    registerDriftRepair();
    switch (config.template) {
        case "local":
        case "review": {
            const target = await resolveKubernetesTarget(config.kubernetesTarget, config.kubeContext);
            void pulumi.log.info(`environment ${config.name}: ${target.deliveryMode} (${target.reason})`);
            const { buildLocalEnvironment } = await import("./templates/local");
            return await buildLocalEnvironment(config, target);
        }
        case "dev":
        case "staging":
        case "prod": {
            void pulumi.log.info(`environment ${config.name}: ${config.template} on ${config.cloud} (${config.region})`);
            const { buildCloudEnvironment } = await import("./templates/cloud");
            return await buildCloudEnvironment(config.template, config);
        }
    }
}
