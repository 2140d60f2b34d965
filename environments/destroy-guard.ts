/**
 * When a stack may be destroyed: the one rule behind `./platform destroy`
 * (scripts/destroy.ts) and the reaper (environments/catalog). Plain
 * `pulumi destroy` stops at the first protected resource only after deleting
 * every unprotected one it reached, operators' CustomResourceDefinitions
 * among them (and with a CRD go all the objects of its kind), so the state is
 * checked before anything is deleted.
 */
import { ENVIRONMENT_TEMPLATES, EnvironmentTemplate, isEnvironmentTemplate, TEMPLATES } from "./template-registry";

export interface ExportedResource {
    urn: string;
    type: string;
    protect?: boolean;
}

export interface DestroyRequest {
    stack: string;
    /** From the stack file (environments/template-registry.ts, templateOfStack) or the deployed record; undefined when unknown. */
    template: string | undefined;
    unprotect: boolean;
    /** The value of PLATFORM_CONFIRM_DESTROY. */
    confirmation: string | undefined;
}

export type DestroyDecision = { action: "destroy"; unprotectFirst: boolean } | { action: "refuse"; reason: string };

/**
 * The template that forces protection (prod) whose names `stack` has (prod,
 * prod-eu), or undefined. The name never says what a stack is, but the guard
 * and the reaper also treat such a stack as protected whatever its file or
 * record says: keeping one by mistake costs money, destroying one loses data.
 */
export function protectedTemplateNamed(stack: string): EnvironmentTemplate | undefined {
    return ENVIRONMENT_TEMPLATES.find((t) => TEMPLATES[t].forceProtection && (stack === TEMPLATES[t].name.stem || stack.startsWith(`${TEMPLATES[t].name.stem}-`)));
}

/** What to do with a destroy request, given the stack's state. Pure: the tests call it directly. */
export function decideDestroy(request: DestroyRequest, resources: ExportedResource[]): DestroyDecision {
    const protectedOnes = resources.filter((r) => r.protect);
    // A template whose protection is forced (prod) is destroyed only when a person types the stack's name.
    const forced = isEnvironmentTemplate(request.template) && TEMPLATES[request.template].forceProtection ? request.template : undefined;
    // Belt and braces, safer only: a stack named like one (a missing or unreadable stack file) gets the same guard.
    const named = forced === undefined ? protectedTemplateNamed(request.stack) : undefined;
    if (forced !== undefined || named !== undefined) {
        if (!request.unprotect || request.confirmation !== request.stack) {
            return {
                action: "refuse",
                reason:
                    `stack ${request.stack} ${forced !== undefined ? `is a ${forced} stack` : `is named like a ${named} stack`} ` +
                    `(${protectedOnes.length} protected resources): destroying it needs --unprotect and PLATFORM_CONFIRM_DESTROY=${request.stack}`,
            };
        }
        return { action: "destroy", unprotectFirst: true };
    }
    if (protectedOnes.length > 0 && !request.unprotect) {
        const listed = protectedOnes.slice(0, 20).map((r) => `  ${r.urn}`);
        if (protectedOnes.length > 20) {
            listed.push(`  … and ${protectedOnes.length - 20} more`);
        }
        return {
            action: "refuse",
            reason:
                `stack ${request.stack} has ${protectedOnes.length} protected resources; nothing was deleted:\n${listed.join("\n")}\n` +
                `to destroy them too, run again with --unprotect`,
        };
    }
    return { action: "destroy", unprotectFirst: protectedOnes.length > 0 };
}

/**
 * Whether a destroy of a stack of this template runs without the engine's
 * per-step checkpoints (PULUMI_SKIP_CHECKPOINTS; the state is still written
 * when the destroy ends, failed or not). Each checkpoint rewrites the whole
 * state: on the test API server they were 127 s of the local stack's 172 s
 * destroy. Safe for the Kubernetes-only templates (local, review): a destroy
 * killed half-way leaves in the state objects that are already gone, and the
 * next destroy deletes them again, the Kubernetes provider taking "not found"
 * as deleted (test/engine/test-cluster.test.ts kills one and finishes it).
 * The cloud templates keep them: their providers' deletes are not tested
 * here, and an unknown template is treated as a cloud one.
 */
export function destroySkipsCheckpoints(template: string | undefined): boolean {
    return template !== undefined && isEnvironmentTemplate(template) && TEMPLATES[template].kind !== "cloud";
}
