import * as pulumi from "@pulumi/pulumi";

import { preflightCharts } from "../components/shared/chart";
import { registerStackTransforms } from "../components/shared/helm";
import { IN_CLUSTER_CHARTS, PLATFORM_MANIFESTS } from "../components/upstream";
import { checkChartValues } from "./chart-values";
import { EnvironmentConfig, isCloudConfig, loadEnvironmentConfig } from "./config";
import { resolveKubernetesTarget } from "./kubernetes-target";
import { TEMPLATES } from "./template-registry";

/**
 * The program behind every stack (index.ts exports its promise): validate the
 * configuration (before any resource is registered), check that every chart
 * can be read and that the stack's chart values are values of their charts,
 * build the template.
 *
 * The promise is marked as handled at once. Pulumi's runtime awaits the
 * exported promise only after a turn of the event loop (it checks the program
 * directory first), so a rejection that comes before that (bad config: the
 * loader throws on the first line) was reported by Node as unhandled and then
 * as handled late, a `PromiseRejectionHandledWarning` in the CLI's output. The
 * rejection itself still reaches Pulumi through its await, and a ConfigError
 * (a RunError) is printed as its message alone.
 */
export function runEnvironment(): ReturnType<typeof buildEnvironment> {
    const run = buildEnvironment();
    run.catch(() => undefined);
    return run;
}

/**
 * Templates are imported on demand so that `local` never loads a cloud SDK.
 * The template's kind (template-registry.ts) chooses the program, so a new
 * template of a known kind needs no case here.
 */
async function buildEnvironment() {
    const config: EnvironmentConfig = loadEnvironmentConfig();
    // Every chart must be readable before the first resource is registered.
    await preflightCharts(IN_CLUSTER_CHARTS, config.chartMirror, { manifests: PLATFORM_MANIFESTS });
    // The stack's chart values must be values of the charts they override (read from a mirror directory).
    checkChartValues(config);
    // Declared values win over kubectl changes (README "Reliability and recovery"); CRDs are stored without schema prose.
    registerStackTransforms();
    switch (TEMPLATES[config.template].kind) {
        case "local":
        case "review": {
            // Only narrows the config to the local kind's settings (the registry's kind is what isCloudConfig reads).
            if (isCloudConfig(config)) {
                throw new Error(`template ${config.template} is a cloud template`);
            }
            const target = await resolveKubernetesTarget(config.kubernetesTarget, config.kubeContext);
            void pulumi.log.info(`environment ${config.name}: ${target.deliveryMode} (${target.reason})`);
            // Checkpoints are off only for renders (./platform up decides before the run);
            // a cluster that came up in between must not be applied to without them.
            if (target.deliveryMode === "apply" && process.env.PULUMI_SKIP_CHECKPOINTS === "true") {
                throw new pulumi.RunError(
                    `environment ${config.name} applies to a cluster (${target.reason}), but PULUMI_SKIP_CHECKPOINTS is set: ` +
                        "an apply keeps its checkpoints; unset it and run again",
                );
            }
            const { buildLocalEnvironment } = await import("./templates/local");
            return await buildLocalEnvironment(config, target);
        }
        case "cloud": {
            // Only narrows the config to the cloud settings, all there (the registry's cloud kind is exactly CloudTemplate).
            if (!isCloudConfig(config)) {
                throw new Error(`template ${config.template} is not a cloud template`);
            }
            void pulumi.log.info(`environment ${config.name}: ${config.template} on ${config.cloud} (${config.region})`);
            const { buildCloudEnvironment } = await import("./templates/cloud");
            return await buildCloudEnvironment(config);
        }
    }
}
