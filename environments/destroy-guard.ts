/**
 * When a stack may be destroyed: the one rule behind `./platform destroy`
 * (scripts/destroy.ts) and the reaper (environments/catalog). Plain
 * `pulumi destroy` stops at the first protected resource only after deleting
 * every unprotected one it reached, operators' CustomResourceDefinitions
 * among them (and with a CRD go all the objects of its kind), so the state is
 * checked before anything is deleted.
 */
export interface ExportedResource {
    urn: string;
    type: string;
    protect?: boolean;
}

export interface DestroyRequest {
    stack: string;
    template: string | undefined;
    unprotect: boolean;
    /** The value of PLATFORM_CONFIRM_DESTROY. */
    confirmation: string | undefined;
}

export type DestroyDecision = { action: "destroy"; unprotectFirst: boolean } | { action: "refuse"; reason: string };

/** What to do with a destroy request, given the stack's state. Pure: the tests call it directly. */
export function decideDestroy(request: DestroyRequest, resources: ExportedResource[]): DestroyDecision {
    const protectedOnes = resources.filter((r) => r.protect);
    if (request.template === "prod" || request.stack === "prod") {
        if (!request.unprotect || request.confirmation !== request.stack) {
            return {
                action: "refuse",
                reason:
                    `stack ${request.stack} is a prod stack (${protectedOnes.length} protected resources): destroying it needs --unprotect ` +
                    `and PLATFORM_CONFIRM_DESTROY=${request.stack}`,
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
