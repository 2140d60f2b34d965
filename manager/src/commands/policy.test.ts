import { describe, expect, it } from "vitest";

import { REVIEW_MAX_DAYS } from "../../../environments/template-registry";
import { checkCommand, SELF_SERVICE_TEMPLATES } from "./policy";
import type { Command, CreateCommand } from "./schema";

const NOW = new Date("2026-03-10T15:00:00Z");

function create(overrides: Partial<CreateCommand> = {}): CreateCommand {
    return {
        commandId: "0b7d4a4e-9c52-4d7e-8f1e-3f0a5d7c2b11",
        type: "environment.create",
        environment: "review-42",
        requestedBy: "alice@example.com",
        template: "review",
        description: "review of !42",
        owner: "alice@example.com",
        costCenter: "PLT-0001",
        plannedDestruction: "2026-03-20",
        ...overrides,
    };
}

function reason(command: Command, context = {}): string {
    const result = checkCommand(command, NOW, context);
    if (result.ok) {
        throw new Error("expected a refusal");
    }
    return result.reason;
}

describe("checkCommand", () => {
    it("takes a review environment with a date within its lifetime", () => {
        expect(checkCommand(create(), NOW)).toEqual({ ok: true });
        expect(SELF_SERVICE_TEMPLATES).toEqual(["review"]);
    });

    it.each(["dev", "staging", "prod", "local"])("refuses to create %s: it changes through a merge request", (template) => {
        expect(reason(create({ template, environment: template }))).toMatch(new RegExp(`^${template} environments .* merge request`));
    });

    it("refuses an unknown template, naming the allowed ones", () => {
        expect(reason(create({ template: "sandbox" }))).toBe('template "sandbox" does not exist; allowed: review');
    });

    it("refuses a name the template does not make", () => {
        expect(reason(create({ environment: "feature-1" }))).toMatch(/"feature-1" is not a review name: expected review-<id>/);
    });

    it("refuses destroy, update and extend of long-lived environments, known or by name", () => {
        const base = { commandId: "0b7d4a4e-9c52-4d7e-8f1e-3f0a5d7c2b11", requestedBy: "bob" };
        expect(reason({ ...base, type: "environment.destroy", environment: "prod" })).toMatch(/^prod environments .* merge request/);
        expect(reason({ ...base, type: "environment.destroy", environment: "prod-eu" })).toMatch(/^prod environments/);
        expect(reason({ ...base, type: "environment.update", environment: "staging", description: "x" })).toMatch(/^staging environments/);
        // The store's template wins over the name.
        expect(reason({ ...base, type: "environment.destroy", environment: "review-7" }, { environmentTemplate: "dev" })).toMatch(/^dev environments/);
        expect(reason({ ...base, type: "environment.destroy", environment: "unnamed" })).toMatch(/not a name any template makes/);
        expect(checkCommand({ ...base, type: "environment.destroy", environment: "review-7" }, NOW)).toEqual({ ok: true });
    });

    it("wants plannedDestruction in the future and within the template's lifetime (create and extend)", () => {
        expect(reason(create({ plannedDestruction: "2026-03-10" }))).toMatch(/is not in the future/);
        expect(reason(create({ plannedDestruction: "2025-01-01" }))).toMatch(/is not in the future/);
        expect(checkCommand(create({ plannedDestruction: "2026-03-11" }), NOW).ok).toBe(true);
        expect(checkCommand(create({ plannedDestruction: "2026-04-09" }), NOW).ok).toBe(true); // 30 days
        expect(reason(create({ plannedDestruction: "2026-04-10" }))).toBe(`plannedDestruction 2026-04-10 is 31 days away: a review environment lives at most ${REVIEW_MAX_DAYS} days`);
        const extend: Command = { commandId: "0b7d4a4e-9c52-4d7e-8f1e-3f0a5d7c2b11", requestedBy: "bob", type: "environment.extend", environment: "review-42", plannedDestruction: "2026-06-01" };
        expect(reason(extend)).toMatch(/days away/);
        expect(checkCommand({ ...extend, plannedDestruction: "2026-03-30" }, NOW).ok).toBe(true);
    });

    it("takes only allowlisted parameters, naming the allowed keys", () => {
        expect(checkCommand(create({ parameters: { kubernetesTarget: "render", kubeContext: "kind-review" } }), NOW).ok).toBe(true);
        expect(reason(create({ parameters: { protect: true } }))).toBe('parameter "protect" cannot be set on a review environment by command; allowed: kubernetesTarget, kubeContext');
        expect(reason(create({ parameters: { kubernetesTarget: "none" } }))).toMatch(/^parameter "kubernetesTarget": .*auto.*apply.*render/);
        expect(reason(create({ parameters: { kubeContext: 3 } }))).toMatch(/^parameter "kubeContext"/);
        const update: Command = { commandId: "0b7d4a4e-9c52-4d7e-8f1e-3f0a5d7c2b11", requestedBy: "bob", type: "environment.update", environment: "review-42", parameters: { chartMirror: "x" } };
        expect(reason(update)).toMatch(/"chartMirror" cannot be set.*allowed: kubernetesTarget, kubeContext/);
    });
});
