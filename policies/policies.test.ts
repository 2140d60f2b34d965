import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

import { POLICIES } from "./policies";

const RULES_DIR = path.join(__dirname, "rules");
/** Files of rules/ that hold readers shared by several policies, not policies. */
const SHARED_READERS = ["environment.ts", "kubernetes.ts"];

const ruleFiles = fs
    .readdirSync(RULES_DIR)
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts") && !SHARED_READERS.includes(f))
    .sort();

/** Whether a module export is a policy (a named object that validates resources or a stack). */
function isPolicy(value: unknown): boolean {
    const v = value as { name?: unknown; validateResource?: unknown; validateStack?: unknown } | null;
    return typeof v === "object" && v !== null && typeof v.name === "string" && (v.validateResource !== undefined || v.validateStack !== undefined);
}

describe("the policy pack", () => {
    it("lists policies", () => {
        expect(POLICIES.length).toBeGreaterThan(0);
    });

    it.each(POLICIES.map((p) => [p.name, p] as const))("%s is named in kebab-case, described and mandatory", (_name, policy) => {
        expect(policy.name).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
        expect(policy.description?.trim()).toBeTruthy();
        expect(policy.enforcementLevel).toBe("mandatory");
    });

    it("has unique policy names", () => {
        const names = POLICIES.map((p) => p.name);
        expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
    });

    it("reads the shared readers and at least one rule from rules/", () => {
        for (const f of SHARED_READERS) {
            expect(fs.existsSync(path.join(RULES_DIR, f)), `rules/${f}`).toBe(true);
        }
        expect(ruleFiles.length).toBeGreaterThan(0);
    });

    it.each(ruleFiles)("rules/%s is in POLICIES (file named after its policy, every exported policy listed)", async (file) => {
        const module = (await import(path.join(RULES_DIR, file))) as Record<string, unknown>;
        const exported = Object.entries(module).filter(([, v]) => isPolicy(v));
        expect(exported.length, `rules/${file} exports no policy`).toBeGreaterThan(0);
        expect(
            exported.map(([, v]) => (v as { name: string }).name),
            `rules/${file} has no policy named after the file`,
        ).toContain(file.replace(/\.ts$/, ""));
        for (const [exportName, policy] of exported) {
            expect(POLICIES.includes(policy as (typeof POLICIES)[number]), `${exportName} of rules/${file} is not in POLICIES (policies/policies.ts)`).toBe(true);
        }
    });
});
