import * as pulumi from "@pulumi/pulumi";

import { IN_CLUSTER_CHARTS, PLATFORM_MANIFESTS } from "../components/upstream";
import { preflightCharts } from "../components/shared/chart";
import { loadEnvironmentConfig } from "./config";
import { resolveKubernetesTarget } from "./kubernetes-target";
import { buildLocalEnvironment } from "./templates/local";

/**
 * The program behind every stack: validate the configuration (before any
 * resource is registered), pick the delivery target, build the template.
 */
export async function runEnvironment() {
    const config = loadEnvironmentConfig();
    const target = await resolveKubernetesTarget(config.kubernetesTarget, config.kubeContext);
    void pulumi.log.info(`environment ${config.name}: ${target.deliveryMode} (${target.reason})`);
    // Every chart must be readable before the first resource is registered.
    await preflightCharts(IN_CLUSTER_CHARTS, config.chartMirror, { manifests: PLATFORM_MANIFESTS });
    switch (config.template) {
        case "local":
            return await buildLocalEnvironment(config, target);
    }
}
