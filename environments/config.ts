/**
 * Loads and validates the stack configuration (the `platform:*` keys). The
 * schema, one per kind of template, is in config-schema.ts; the messages in
 * config-errors.ts.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";

import { ConfigError, describeIssue } from "./config-errors";
import { anyTemplateSchema, CONFIG_KEYS, EnvironmentConfig, environmentConfigSchema } from "./config-schema";
import { EnvironmentTemplate, isEnvironmentTemplate } from "./template-registry";

export { closestKey, ConfigError, editDistance } from "./config-errors";
export {
    CLOUD_REGIONS,
    CLOUDS,
    cloudConfigSchema,
    CONFIG_KEYS,
    environmentConfigSchema,
    isCloudConfig,
    KUBERNETES_TARGETS,
    localConfigSchema,
    parseConfigCidr,
    PROJECT_ROOT,
    renderDirectoryProblem,
    settingsOf,
} from "./config-schema";
export type { Cloud, CloudEnvironmentConfig, EnvironmentConfig, LocalEnvironmentConfig } from "./config-schema";

// How long a review environment may live: the template registry's, importable from here too.
export { REVIEW_MAX_DAYS } from "./template-registry";

const KEY_PREFIX = "platform";

/**
 * Map settings of one kind of template whose Pulumi.yaml default is `{}`:
 * every stack is passed that default, and the other kind would refuse the key.
 * (platform:chartValues is every template's, and `{}` is a valid value of it.)
 */
const UNSET_WHEN_EMPTY_MAP: readonly string[] = ["manager"];

/**
 * Validates raw config values; throws a ConfigError listing every problem.
 * The template chooses the schema; a config whose template is missing or
 * unknown is still checked key by key, so that its other problems are named too.
 */
export function parseEnvironmentConfig(raw: Record<string, unknown>): EnvironmentConfig {
    const template = isEnvironmentTemplate(raw.template) ? raw.template : undefined;
    if (template === undefined) {
        // Always refused (the template is what is wrong); the other keys are checked too.
        throw configError(anyTemplateSchema.safeParse(raw).error?.issues ?? [], raw, template);
    }
    const result = environmentConfigSchema.safeParse(raw);
    if (!result.success) {
        throw configError(result.error.issues, raw, template);
    }
    return result.data;
}

function configError(issues: readonly z.core.$ZodIssue[], raw: Record<string, unknown>, template: EnvironmentTemplate | undefined): ConfigError {
    const lines = issues.flatMap((issue) => describeIssue(issue, raw, template)).map((line) => `  - ${line}`);
    return new ConfigError(`invalid stack configuration:\n${lines.join("\n")}`);
}

/**
 * Reads every `platform:*` key of the current stack and validates them. All of
 * the stack's config is read (`pulumi.runtime.allConfig()`, `namespace:key` →
 * value, the same map `pulumi.Config` reads), not just the keys the schema
 * knows, so that a misspelt key is refused instead of silently ignored. Keys of
 * other namespaces (`kubernetes:`, `pulumi:`, …) are left alone.
 */
export function loadEnvironmentConfig(stackConfig: Record<string, string> = pulumi.runtime.allConfig()): EnvironmentConfig {
    const raw: Record<string, unknown> = {};
    for (const [fullKey, value] of Object.entries(stackConfig)) {
        if (!fullKey.startsWith(`${KEY_PREFIX}:`)) {
            continue;
        }
        const key = fullKey.slice(KEY_PREFIX.length + 1);
        // Pulumi.yaml declares optional keys with "" as their default: "" means "not set".
        // An unknown key is refused whatever its value.
        if ((value !== "" && !(value === "{}" && UNSET_WHEN_EMPTY_MAP.includes(key))) || !CONFIG_KEYS.includes(key)) {
            raw[key] = value;
        }
    }
    // A mirror given in the environment (offline runs, CI) wins over the stack's.
    if (process.env.PLATFORM_CHART_MIRROR) {
        raw.chartMirror = process.env.PLATFORM_CHART_MIRROR;
    }
    // The environment is named after its stack unless the config says otherwise.
    raw.name ??= pulumi.getStack();
    return parseEnvironmentConfig(raw);
}
