import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import { DEFAULT_TAGGING } from "../policies/rules/cloud-resource-tags";
import { ImportGraph } from "../scripts/affected-stacks";
import { REPO_ROOT } from "../test/helpers/engine";
import {
    CLOUD_TEMPLATES,
    ENVIRONMENT_TEMPLATES,
    isCloudTemplate,
    LOCAL_PROFILES,
    LOCAL_TEMPLATES,
    namePattern,
    namePromotionRank,
    nameText,
    PROFILES,
    StackTemplateError,
    templateInStackFile,
    templateOfStack,
    TEMPLATES,
    templateWithoutStackFile,
} from "./template-registry";

const ALLOWED = "allowed: local, review, dev, staging, prod";
const where = (predicate: (t: (typeof ENVIRONMENT_TEMPLATES)[number]) => boolean) => ENVIRONMENT_TEMPLATES.filter(predicate);

describe("the template registry", () => {
    it("lists the templates in promotion order, each with its kind", () => {
        expect(ENVIRONMENT_TEMPLATES).toEqual(["local", "review", "dev", "staging", "prod"]);
        expect(Object.fromEntries(ENVIRONMENT_TEMPLATES.map((t) => [t, TEMPLATES[t].kind]))).toEqual({
            local: "local",
            review: "review",
            dev: "cloud",
            staging: "cloud",
            prod: "cloud",
        });
    });

    it("gives every template a profile: the cloud ones theirs, local and review the smallest one", () => {
        expect(Object.keys(PROFILES).sort()).toEqual(where((t) => TEMPLATES[t].kind === "cloud").sort());
        expect(Object.keys(LOCAL_PROFILES).sort()).toEqual(where((t) => TEMPLATES[t].kind !== "cloud").sort());
        expect(where(isCloudTemplate)).toEqual(["dev", "staging", "prod"]);
        expect(CLOUD_TEMPLATES).toEqual(["dev", "staging", "prod"]);
        expect(LOCAL_TEMPLATES).toEqual(["local", "review"]);
        for (const t of ENVIRONMENT_TEMPLATES) {
            expect(TEMPLATES[t].profile, t).toBe(isCloudTemplate(t) ? PROFILES[t] : LOCAL_PROFILES[t]);
        }
        expect(PROFILES.prod).toMatchObject({ production: true, protect: true });
        // What templates/local.ts ran with before its sizes moved here.
        expect(LOCAL_PROFILES.local).toEqual({
            replicas: 1,
            metricsRetention: "2d",
            metricsStorage: "5Gi",
            logsRetention: "48h",
            logsStorage: "5Gi",
            rabbitmqReplicas: 1,
            consulReplicas: 1,
            outboundTrafficPolicy: "ALLOW_ANY",
            protect: false,
            postgresInstances: 1,
        });
        expect(LOCAL_PROFILES.review).toBe(LOCAL_PROFILES.local);
    });

    it("names each template's policy config, and every one exists", () => {
        for (const t of ENVIRONMENT_TEMPLATES) {
            expect(TEMPLATES[t].policyConfig).toBe(`policies/config/${t}.json`);
            expect(fs.existsSync(path.join(REPO_ROOT, TEMPLATES[t].policyConfig)), t).toBe(true);
        }
    });

    it("says where state lives, what a preview may create, what is reaped, protected and previewed in merge requests", () => {
        expect(where((t) => TEMPLATES[t].stateBackend === "repository")).toEqual(["local"]);
        expect(where((t) => TEMPLATES[t].previewCreatesStack)).toEqual(["local", "review"]);
        expect(where((t) => TEMPLATES[t].reapable)).toEqual(["review"]);
        expect(where((t) => TEMPLATES[t].maxLifetimeDays !== undefined)).toEqual(["review"]);
        expect(where((t) => TEMPLATES[t].forceProtection)).toEqual(["prod"]);
        expect(where((t) => !TEMPLATES[t].previewInMergeRequests)).toEqual(["prod"]);
        expect(where((t) => TEMPLATES[t].vaultDevMode)).toEqual(["local", "review"]);
    });

    it("spells each template's environment names as a pattern and as text", () => {
        expect(nameText("review")).toBe("review-<id>");
        expect(nameText("prod")).toBe("prod or prod-<suffix>");
        expect(["review-1", "review-mr-12"].every((n) => namePattern("review").test(n))).toBe(true);
        expect(["review", "review-", "dev-1"].some((n) => namePattern("review").test(n))).toBe(false);
        expect(["prod", "prod-eu"].every((n) => namePattern("prod").test(n))).toBe(true);
        expect(["production", "prod-", "staging"].some((n) => namePattern("prod").test(n))).toBe(false);
    });

    it("agrees with the policy pack's environment tag: every name a template makes, and no other", () => {
        const tag = new RegExp(DEFAULT_TAGGING.tagPatterns.environment);
        const names = ["local", "local-2", "review-1", "review-mr-12", "dev", "dev-x", "staging", "staging-2", "prod", "prod-eu", "prod-us-2"];
        const others = ["review", "review-", "prod-", "production", "Prod", "prod_eu", "qa", "sandbox", "eu-prod", ""];
        for (const name of [...names, ...others]) {
            expect(tag.test(name), name).toBe(ENVIRONMENT_TEMPLATES.some((t) => namePattern(t).test(name)));
        }
        expect(names.every((n) => tag.test(n))).toBe(true);
    });

    it("ranks names in promotion order: bare names exactly, the note's by how they start", () => {
        expect(["local", "dev", "staging", "prod", "review", "review-3", "prod-eu"].map((s) => namePromotionRank(s, "exact"))).toEqual([0, 2, 3, 4, -1, -1, -1]);
        expect(["local-2", "review-3", "dev-x", "staging-2", "prod-eu", "review", "sandbox"].map((s) => namePromotionRank(s, "prefix"))).toEqual([0, 1, 2, 3, 4, -1, -1]);
    });
});

describe("a stack's template, from its stack file", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "template-registry-"));
    fs.mkdirSync(path.join(dir, "stacks"));
    const stack = (name: string, text: string) => fs.writeFileSync(path.join(dir, "stacks", `Pulumi.${name}.yaml`), text);
    stack("prod-eu", "config:\n  platform:template: prod\n");
    stack("review-5", "config:\n  platform:template: local\n");
    stack("qa", "config:\n  platform:template: qa\n");
    stack("number", "config:\n  platform:template: 5\n");
    stack("empty", "");
    stack("comment-only", "# nothing yet\n");
    stack("no-template", "secretsprovider: hashivault://k\nconfig:\n  platform:owner: a@example.com\n");
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("reads platform:template, whatever the stack is called", () => {
        expect(templateOfStack(dir, "prod-eu")).toBe("prod");
        expect(templateOfStack(dir, "review-5")).toBe("local");
        for (const s of ["local", "dev", "staging", "prod"]) {
            expect(templateOfStack(REPO_ROOT, s), s).toBe(s);
        }
    });

    it("without a stack file: local before its file is written, a merge request's review-<id>, nothing else", () => {
        expect(templateOfStack(dir, "local")).toBe("local");
        expect(templateOfStack(dir, "review-6")).toBe("review");
        expect(templateOfStack(dir, "prod")).toBeUndefined();
        expect(templateWithoutStackFile("local-2")).toBeUndefined();
        expect(templateWithoutStackFile("review-")).toBeUndefined();
    });

    it("refuses an unknown template, naming the file, the key and the allowed values", () => {
        expect(() => templateOfStack(dir, "qa")).toThrow(new StackTemplateError(`stacks/Pulumi.qa.yaml: platform:template: "qa" is not a template; ${ALLOWED}`));
        // Read as Pulumi passes it: the YAML number 5 is the text "5".
        expect(() => templateOfStack(dir, "number")).toThrow(`stacks/Pulumi.number.yaml: platform:template: "5" is not a template; ${ALLOWED}`);
    });

    it("refuses an empty stack file, or one without platform:template, naming the file", () => {
        const empty = (s: string) => `stacks/Pulumi.${s}.yaml: platform:template is missing (the file is empty): set the stack's template; ${ALLOWED}`;
        expect(() => templateOfStack(dir, "empty")).toThrow(empty("empty"));
        expect(() => templateOfStack(dir, "comment-only")).toThrow(empty("comment-only"));
        expect(() => templateOfStack(dir, "no-template")).toThrow(`stacks/Pulumi.no-template.yaml: platform:template is missing: set the stack's template; ${ALLOWED}`);
        expect(() => templateInStackFile({ config: { "platform:template": "" } }, "f.yaml")).toThrow("f.yaml: platform:template is missing");
        expect(() => templateInStackFile(["not", "a", "mapping"], "f.yaml")).toThrow("f.yaml: platform:template is missing");
    });
});

describe("the import graph around the registry", () => {
    const graph = new ImportGraph(REPO_ROOT);

    it("has no cycle between the config loader and the profiles", () => {
        expect(graph.closure(["environments/config.ts"]).has("environments/profiles.ts")).toBe(false);
        expect(graph.closure(["environments/template-registry.ts"]).has("environments/config.ts")).toBe(false);
    });
});
