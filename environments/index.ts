import * as pulumi from "@pulumi/pulumi";

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
    switch (config.template) {
        case "local":
            return buildLocalEnvironment(config, target);
    }
}
