import { describe, expect, it } from "vitest";

import { decideDestroy, DestroyRequest, destroySkipsCheckpoints, protectedTemplateNamed } from "./destroy-guard";
import { ENVIRONMENT_TEMPLATES, TEMPLATES } from "./template-registry";

const request = (extra: Partial<DestroyRequest> = {}): DestroyRequest => ({ stack: "review-7", template: "review", unprotect: false, confirmation: undefined, ...extra });
const resource = (name: string, protect = false) => ({ urn: `urn:pulumi:s::platform::kubernetes:core/v1:ConfigMap::${name}`, type: "kubernetes:core/v1:ConfigMap", protect });

describe("decideDestroy", () => {
    it("destroys a stack with nothing protected", () => {
        expect(decideDestroy(request(), [resource("a"), resource("b")])).toEqual({ action: "destroy", unprotectFirst: false });
        expect(decideDestroy(request(), [])).toEqual({ action: "destroy", unprotectFirst: false });
    });

    it("refuses while anything is protected, listing what, and deletes nothing", () => {
        const decision = decideDestroy(request(), [resource("a"), resource("db", true)]);
        expect(decision.action).toBe("refuse");
        expect(decision.action === "refuse" && decision.reason).toBe(
            "stack review-7 has 1 protected resources; nothing was deleted:\n  urn:pulumi:s::platform::kubernetes:core/v1:ConfigMap::db\nto destroy them too, run again with --unprotect",
        );
    });

    it("lists at most 20 protected resources", () => {
        const many = Array.from({ length: 23 }, (_, i) => resource(`p${i}`, true));
        const decision = decideDestroy(request(), many);
        expect(decision.action === "refuse" && decision.reason).toContain("has 23 protected resources");
        expect(decision.action === "refuse" && decision.reason).toContain("… and 3 more");
        expect(decision.action === "refuse" && decision.reason.split("\n").filter((l) => l.startsWith("  urn:"))).toHaveLength(20);
    });

    it("unprotects first when told to", () => {
        expect(decideDestroy(request({ unprotect: true }), [resource("db", true)])).toEqual({ action: "destroy", unprotectFirst: true });
        expect(decideDestroy(request({ unprotect: true }), [resource("a")])).toEqual({ action: "destroy", unprotectFirst: false });
    });

    it("destroys prod only with --unprotect and the stack's name typed in PLATFORM_CONFIRM_DESTROY", () => {
        const prod = { stack: "prod", template: "prod" };
        for (const extra of [{}, { unprotect: true }, { confirmation: "prod" }, { unprotect: true, confirmation: "yes" }]) {
            const decision = decideDestroy(request({ ...prod, ...extra }), [resource("db", true)]);
            expect(decision.action, JSON.stringify(extra)).toBe("refuse");
            expect(decision.action === "refuse" && decision.reason).toContain("PLATFORM_CONFIRM_DESTROY=prod");
        }
        expect(decideDestroy(request({ ...prod, unprotect: true, confirmation: "prod" }), [resource("db", true)])).toEqual({ action: "destroy", unprotectFirst: true });
        // A prod-template stack of another name, and a stack named prod whatever its file says.
        expect(decideDestroy(request({ stack: "prod-eu", template: "prod", unprotect: true, confirmation: "prod" }), []).action).toBe("refuse");
        expect(decideDestroy(request({ stack: "prod", template: undefined, unprotect: true }), []).action).toBe("refuse");
    });

    it("asks the same of every template that forces protection, whatever the stack is called", () => {
        const forced = ENVIRONMENT_TEMPLATES.filter((t) => TEMPLATES[t].forceProtection);
        expect(forced).toEqual(["prod"]);
        for (const template of forced) {
            const refused = decideDestroy(request({ stack: "eu-main", template, unprotect: true }), [resource("db", true)]);
            expect(refused).toEqual({
                action: "refuse",
                reason: `stack eu-main is a ${template} stack (1 protected resources): destroying it needs --unprotect and PLATFORM_CONFIRM_DESTROY=eu-main`,
            });
            expect(decideDestroy(request({ stack: "eu-main", template, unprotect: true, confirmation: "eu-main" }), [])).toEqual({ action: "destroy", unprotectFirst: true });
        }
        // Other templates: no confirmation, whatever the name.
        expect(decideDestroy(request({ stack: "staging-2", template: "staging" }), []).action).toBe("destroy");
    });

    it("guards a stack named like a prod stack whose template is unknown (no or unreadable stack file), and no other", () => {
        for (const stack of ["prod", "prod-eu"]) {
            for (const template of [undefined, "qa"]) {
                const decision = decideDestroy(request({ stack, template, unprotect: true }), []);
                expect(decision, `${stack} ${template}`).toEqual({
                    action: "refuse",
                    reason: `stack ${stack} is named like a prod stack (0 protected resources): destroying it needs --unprotect and PLATFORM_CONFIRM_DESTROY=${stack}`,
                });
            }
        }
        expect(["prod", "prod-eu", "production", "eu-prod", "review-7"].map(protectedTemplateNamed)).toEqual(["prod", "prod", undefined, undefined, undefined]);
        expect(decideDestroy(request({ stack: "production", template: undefined }), []).action).toBe("destroy");
    });
});

describe("destroySkipsCheckpoints", () => {
    it("only for the Kubernetes-only templates; a cloud or unknown template keeps the per-step checkpoints", () => {
        expect(ENVIRONMENT_TEMPLATES.filter(destroySkipsCheckpoints)).toEqual(["local", "review"]);
        expect([undefined, "", "prod-eu", "constructor"].map(destroySkipsCheckpoints)).toEqual([false, false, false, false]);
    });
});
