/**
 * The loader's messages: one line per problem, naming the key, what is
 * allowed and the value it got; a misspelt key gets the closest known one.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";

import { CONFIG_KEYS, KIND_ONLY_KEYS, settingsOf } from "./config-schema";
import { editDistance } from "./edit-distance";
import { EnvironmentTemplate } from "./template-registry";

export { editDistance };

const KEY_PREFIX = "platform";

/**
 * Raised for bad stack configuration; the message names every bad key.
 * A RunError is reported by the Pulumi runtime as its message alone, without
 * a stack trace.
 */
export class ConfigError extends pulumi.RunError {
    constructor(message: string) {
        super(message);
        this.name = "ConfigError";
    }
}

/**
 * The known key an unknown one was probably meant to be: at most 3 edits away
 * (case ignored) and fewer edits than half its length, so that a short,
 * unrelated word is not "corrected". Ties go to the first declared key.
 * `keys`: the keys to choose from (default: every key).
 */
export function closestKey(key: string, keys: readonly string[] = CONFIG_KEYS): string | undefined {
    let best: { key: string; distance: number } | undefined;
    for (const known of keys) {
        const distance = editDistance(key.toLowerCase(), known.toLowerCase());
        if (distance <= 3 && distance < known.length / 2 && (best === undefined || distance < best.distance)) {
            best = { key: known, distance };
        }
    }
    return best?.key;
}

const listed = (keys: readonly string[]) => keys.map((k) => `${KEY_PREFIX}:${k}`).join(", ");

/**
 * A key the template does not take. A key of the other kind of template
 * (platform:nodeMin on local) is named as such; any other is a misspelling,
 * matched first against the template's own settings. The value of an unknown
 * key is not shown: it may hold a secret.
 */
function describeUnexpectedKey(key: string, raw: Record<string, unknown>, template: EnvironmentTemplate | undefined): string {
    const settings = template === undefined ? CONFIG_KEYS : settingsOf(template);
    if (template !== undefined && CONFIG_KEYS.includes(key)) {
        return `${KEY_PREFIX}:${key}: does not apply to the ${template} template; its settings are: ${listed(settings)} (got ${JSON.stringify(raw[key])})`;
    }
    const own = closestKey(key, settings);
    const other = own === undefined ? closestKey(key) : undefined;
    const suggestion =
        own !== undefined
            ? `did you mean ${KEY_PREFIX}:${own}? `
            : other !== undefined
              ? `did you mean ${KEY_PREFIX}:${other}? It does not apply to the ${template} template, though; `
              : "";
    return `${KEY_PREFIX}:${key}: is not a setting; ${suggestion}allowed: ${listed(settings)}`;
}

/** The lines of one zod issue. `template`: the config's template when it is a known one. */
export function describeIssue(issue: z.core.$ZodIssue, raw: Record<string, unknown>, template: EnvironmentTemplate | undefined): string[] {
    if (issue.code === "unrecognized_keys") {
        return issue.keys.map((key) => describeUnexpectedKey(key, raw, template));
    }
    const field = issue.path.length > 0 ? String(issue.path[0]) : undefined;
    if (field !== undefined && issue.path.length > 1) {
        // Inside a map setting (platform:chartValues["mesh/istiod"]): the message names what is wrong there.
        return [`${KEY_PREFIX}:${field}${issue.path.slice(1).map((p) => `[${JSON.stringify(String(p))}]`).join("")}: ${issue.message}`];
    }
    const key = field !== undefined ? `${KEY_PREFIX}:${field}` : KEY_PREFIX;
    const value = field === undefined ? undefined : raw[field];
    const got = value === undefined ? "it is not set" : `got ${JSON.stringify(value)}`;
    let allowed = issue.message;
    if (value === undefined && field !== "template" && (issue.code === "invalid_type" || issue.code === "invalid_value")) {
        // A setting only some templates require (the cloud ones) says which.
        allowed = template !== undefined && KIND_ONLY_KEYS.includes(field ?? "") ? `it is required for the ${template} template` : "it is required";
    } else if (issue.code === "invalid_value" && "values" in issue) {
        allowed = `allowed: ${issue.values.map((v) => String(v)).join(", ")}`;
    }
    return [`${key}: ${allowed} (${got})`];
}
