/**
 * The command policy: what the manager may do on a command, checked after the
 * schema and before anything is recorded as accepted.
 *
 * The GitOps rule: long-lived environments (local, dev, staging, prod) change
 * only through a merge request; the manager creates, updates, extends and
 * destroys self-service environments only, i.e. the templates the reaper may
 * destroy and whose lifetime is bounded (`reapable` with `maxLifetimeDays` in
 * environments/template-registry.ts). Pure: the caller passes the time and
 * what the store knows of the environment.
 */
import { z } from "zod";

import { KUBERNETES_TARGETS } from "../../../environments/config-schema";
import { ENVIRONMENT_TEMPLATES, EnvironmentTemplate, isEnvironmentTemplate, namePattern, nameText, TEMPLATES } from "../../../environments/template-registry";
import type { Command } from "./schema";

export type PolicyResult = { ok: true } | { ok: false; reason: string };

export interface PolicyContext {
    /** The template of the environment as the store knows it (undefined: not known, e.g. never created by the manager). */
    environmentTemplate?: string;
}

/** A template commands may create: the reaper destroys it once its bounded lifetime ends. */
export function isSelfServiceTemplate(template: string): template is EnvironmentTemplate {
    if (!isEnvironmentTemplate(template)) {
        return false;
    }
    const spec = TEMPLATES[template];
    return spec.reapable && spec.maxLifetimeDays !== undefined;
}

export const SELF_SERVICE_TEMPLATES: readonly EnvironmentTemplate[] = ENVIRONMENT_TEMPLATES.filter(isSelfServiceTemplate);

/**
 * The platform:<key> parameters a command may set, per self-service
 * template; anything else stays as the template decides. Values as
 * environments/config-schema.ts takes them.
 */
export const SELF_SERVICE_PARAMETERS: Readonly<Partial<Record<EnvironmentTemplate, Readonly<Record<string, z.ZodType>>>>> = {
    review: {
        kubernetesTarget: z.enum(KUBERNETES_TARGETS),
        kubeContext: z.string().trim().min(1).max(253),
    },
};

const DAY_MS = 86_400_000;

/** Whole days from today (UTC) to `date` (YYYY-MM-DD): 1 is tomorrow. */
function daysUntil(date: string, now: Date): number {
    const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
    return Math.round((Date.parse(`${date}T00:00:00Z`) - today) / DAY_MS);
}

function refuse(reason: string): PolicyResult {
    return { ok: false, reason };
}

/** The template whose names `environment` matches, when only one does (names are stems, so at most one matches). */
function templateByName(environment: string): EnvironmentTemplate | undefined {
    return ENVIRONMENT_TEMPLATES.find((t) => namePattern(t).test(environment));
}

function mergeRequestReason(template: string, environment: string): string {
    return `${template} environments (here ${environment}) are not self-service: they change through a merge request to this repository; commands may act on ${SELF_SERVICE_TEMPLATES.join(", ")} environments only`;
}

/** Checks `command` against the GitOps rule, the template's names, lifetime and parameters. */
export function checkCommand(command: Command, now: Date, context: PolicyContext = {}): PolicyResult {
    const template = command.type === "environment.create" ? command.template : (context.environmentTemplate ?? templateByName(command.environment));
    if (template === undefined) {
        return refuse(`${command.environment} is not a name any template makes, and the manager does not know it; commands may act on ${SELF_SERVICE_TEMPLATES.map(nameText).join(", ")} environments only`);
    }
    if (!isEnvironmentTemplate(template)) {
        return refuse(`template "${template}" does not exist; allowed: ${SELF_SERVICE_TEMPLATES.join(", ")}`);
    }
    if (!isSelfServiceTemplate(template)) {
        return refuse(mergeRequestReason(template, command.environment));
    }
    // An existing environment keeps its template: an update cannot move it to another one by its name.
    if (!namePattern(template).test(command.environment)) {
        return refuse(`environment name "${command.environment}" is not a ${template} name: expected ${nameText(template)} (${namePattern(template).source})`);
    }
    if (command.type === "environment.create" || command.type === "environment.extend") {
        const max = TEMPLATES[template].maxLifetimeDays ?? 0;
        const days = daysUntil(command.plannedDestruction, now);
        if (days < 1) {
            return refuse(`plannedDestruction ${command.plannedDestruction} is not in the future: choose a date from tomorrow to ${max} days from today`);
        }
        if (days > max) {
            return refuse(`plannedDestruction ${command.plannedDestruction} is ${days} days away: a ${template} environment lives at most ${max} days`);
        }
    }
    if ((command.type === "environment.create" || command.type === "environment.update") && command.parameters) {
        const allowed = SELF_SERVICE_PARAMETERS[template] ?? {};
        const names = Object.keys(allowed);
        const allowedText = names.length ? `allowed: ${names.join(", ")}` : "it takes none";
        for (const [key, value] of Object.entries(command.parameters)) {
            const schema = allowed[key];
            if (!schema) {
                return refuse(`parameter "${key}" cannot be set on a ${template} environment by command; ${allowedText}`);
            }
            const parsed = schema.safeParse(value);
            if (!parsed.success) {
                const message = parsed.error.issues.map((i) => i.message).join("; ");
                return refuse(`parameter "${key}": ${message}`);
            }
        }
    }
    return { ok: true };
}
