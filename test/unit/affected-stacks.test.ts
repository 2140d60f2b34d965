import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { CLOUDS } from "../../environments/config";
import { ENVIRONMENT_TEMPLATES, TEMPLATES } from "../../environments/template-registry";
import { affectedStacks, CLOUD_ENTRIES, Cloud, ImportGraph, KIND_ENTRIES, knownStacks, stackEntries, TEMPLATE_ENTRIES } from "../../scripts/affected-stacks";
import { REPO_ROOT } from "../helpers/engine";

// The committed stacks (dev, staging and prod are on Azure) and a merge request's review stack.
const STACKS = ["prod", "local", "staging", "dev", "review-42"];
const ALL = ["local", "dev", "staging", "prod", "review-42"];
const CLOUD_STACKS = ["dev", "staging", "prod"];
const LOCAL_TEMPLATE = ["local", "review-42"];

const affected = (changed: string[], stacks = STACKS, projectDir = REPO_ROOT) => affectedStacks(changed, stacks, projectDir);

describe("affected stacks", () => {
    it("lists the repository's stacks in promotion order", () => {
        expect(knownStacks(REPO_ROOT).slice(0, 4)).toEqual(["local", "dev", "staging", "prod"]);
    });

    it("the committed cloud stacks are on Azure (the rows below rely on it)", () => {
        for (const stack of CLOUD_STACKS) {
            expect(stackEntries(REPO_ROOT, stack), stack).toEqual(["environments/templates/cloud.ts", "environments/clouds/azure.ts"]);
        }
        expect(stackEntries(REPO_ROOT, "local")).toEqual(TEMPLATE_ENTRIES.local);
        // No stack file: a review-* stack is a review environment.
        expect(stackEntries(REPO_ROOT, "review-42")).toEqual(TEMPLATE_ENTRIES.review);
    });

    const examples: [string, string[], string[]][] = [
        ["docs only", ["README.md", "components/mesh/README.md", "stacks/README.md"], []],
        ["the AKS cluster", ["components/cluster/aks.ts"], CLOUD_STACKS],
        ["the EKS cluster (no committed stack is on AWS)", ["components/cluster/eks.ts"], []],
        ["the AWS foundation", ["environments/clouds/aws.ts"], []],
        ["the Azure foundation", ["environments/clouds/azure.ts"], CLOUD_STACKS],
        ["Azure's managed Postgres", ["components/postgres/azure.ts"], CLOUD_STACKS],
        ["the local and review template", ["environments/templates/local.ts"], LOCAL_TEMPLATE],
        ["the cloud template", ["environments/templates/cloud.ts"], CLOUD_STACKS],
        // The config loader reads the template registry (names, profiles' node counts): every stack loads it.
        ["the template registry", ["environments/template-registry.ts"], ALL],
        // profileFor: only the cloud template applies a profile.
        ["the profiles' overrides", ["environments/profiles.ts"], CLOUD_STACKS],
        ["the existing-cluster component", ["components/cluster/existing.ts"], LOCAL_TEMPLATE],
        ["the Consul catalog (loaded by local.ts)", ["components/consul/catalog.ts"], LOCAL_TEMPLATE],
        ["Vault's configuration (loaded by local.ts)", ["components/vault/configuration.ts"], LOCAL_TEMPLATE],
        ["the Consul server (every environment)", ["components/consul/server.ts"], ALL],
        ["the mesh (every environment)", ["components/mesh/index.ts"], ALL],
        ["shared config loader", ["environments/config.ts"], ALL],
        ["the program's entry point", ["index.ts"], ALL],
        ["the lockfile", ["pnpm-lock.yaml"], ALL],
        ["TypeScript settings", ["tsconfig.base.json"], ALL],
        ["the toolchain", ["toolchain/versions.env"], ALL],
        ["the project file", ["Pulumi.yaml"], ALL],
        ["a policy (runs on every stack)", ["policies/rules/mesh-mtls-strict.ts"], ALL],
        ["a new policy", ["policies/rules/x.ts"], ALL],
        ["a stack file", ["stacks/Pulumi.prod.yaml"], ["prod"]],
        ["a stack file and a policy config", ["stacks/Pulumi.staging.yaml", "policies/config/prod.json"], ["staging", "prod"]],
        ["local's passphrase", ["stacks/local.passphrase"], ["local"]],
        ["the review policy config", ["policies/config/review.json"], ["review-42"]],
        ["a deleted or renamed-away file", ["components/legacy/gone.ts"], ALL],
        ["a deleted test", ["components/legacy/gone.test.ts"], []],
        ["tests", ["components/mesh/mesh.test.ts", "test/helpers/engine.ts", "policies/test/fixtures.ts"], []],
        ["benchmarks, scripts and CI", ["bench/index.ts", "scripts/stacks.ts", ".ci/run", "platform"], []],
        ["the catalog command (not in the program)", ["environments/catalog/cli.ts", "environments/record-schema.ts"], []],
        ["a file no rule names", ["environments/record.schema.json"], ALL],
        ["two templates' files together", ["README.md", "components/cluster/aks.ts", "environments/templates/local.ts"], ALL],
        ["a cloud file and a stack file", ["environments/clouds/azure.ts", "stacks/Pulumi.local.yaml"], ["local", "dev", "staging", "prod"]],
    ];

    it.each(examples)("%s", (_name, changed, expected) => {
        expect(affected(changed)).toEqual(expected);
    });

    it("affects none of the stacks it is not given", () => {
        expect(affected(["policies/config/review.json"], ["local", "dev"])).toEqual([]);
        expect(affected(["stacks/Pulumi.prod.yaml", "environments/templates/local.ts"], ["prod", "dev"])).toEqual(["prod"]);
        expect(affected(["Pulumi.yaml"], ["prod", "dev", "dev"])).toEqual(["dev", "prod"]);
    });
});

describe("the entry tables", () => {
    const graph = new ImportGraph(REPO_ROOT);
    const dynamicImports = (files: Iterable<string>) => [...new Set([...files].flatMap((f) => graph.imports(f).dynamic))].sort();
    const tableEntries = [...new Set([...Object.values(TEMPLATE_ENTRIES), ...Object.values(CLOUD_ENTRIES)].flat())].sort();

    it("name every template and cloud the config allows", () => {
        expect(Object.keys(TEMPLATE_ENTRIES).sort()).toEqual([...ENVIRONMENT_TEMPLATES].sort());
        expect(Object.keys(CLOUD_ENTRIES).sort()).toEqual([...CLOUDS].sort());
    });

    it("name exactly the program's dynamic imports, all of which exist", () => {
        const everything = graph.closure(["index.ts"]);
        expect(dynamicImports(everything)).toEqual(tableEntries);
        expect(tableEntries.filter((f) => !graph.exists(f))).toEqual([]);
    });

    it("give each template what its own files load on demand", () => {
        const base = graph.closure(["index.ts"], () => false);
        // index.ts's closure only chooses the template.
        expect(dynamicImports(base).every((f) => tableEntries.includes(f) && !Object.values(CLOUD_ENTRIES).flat().includes(f))).toBe(true);
        for (const template of ENVIRONMENT_TEMPLATES) {
            const own = [...graph.closure(TEMPLATE_ENTRIES[template], () => false)].filter((f) => !base.has(f));
            const allowed = [...TEMPLATE_ENTRIES[template], ...(TEMPLATES[template].kind === "cloud" ? Object.values(CLOUD_ENTRIES).flat() : [])];
            expect(dynamicImports(own).filter((f) => !allowed.includes(f)), template).toEqual([]);
        }
        for (const cloud of Object.keys(CLOUD_ENTRIES) as Cloud[]) {
            expect(dynamicImports(graph.closure(CLOUD_ENTRIES[cloud], () => false)).filter((f) => !CLOUD_ENTRIES[cloud].includes(f)), cloud).toEqual([]);
        }
    });

    it("match the template each case of environments/index.ts imports (by the template's kind), and each cloud templates/cloud.ts imports", () => {
        const index = fs.readFileSync(path.join(REPO_ROOT, "environments/index.ts"), "utf8");
        for (const template of ENVIRONMENT_TEMPLATES) {
            const { kind } = TEMPLATES[template];
            expect(index, kind).toContain(`case "${kind}":`);
            const after = index.slice(index.indexOf(`case "${kind}":`));
            const specifier = /import\("\.\/([^"]+)"\)/.exec(after)?.[1];
            expect(TEMPLATE_ENTRIES[template][0], template).toBe(`environments/${specifier}.ts`);
            expect(TEMPLATE_ENTRIES[template], template).toEqual(KIND_ENTRIES[kind]);
        }
        const cloud = fs.readFileSync(path.join(REPO_ROOT, "environments/templates/cloud.ts"), "utf8");
        for (const c of CLOUDS) {
            expect(cloud, c).toContain(`import("../clouds/${c}")`);
            expect(CLOUD_ENTRIES[c]).toEqual([`environments/clouds/${c}.ts`]);
        }
    });
});

describe("affected stacks in a project with an AWS stack", () => {
    let dir: string;

    beforeAll(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "affected-stacks-"));
        for (const entry of ["index.ts", "environments", "components", "stacks"]) {
            fs.cpSync(path.join(REPO_ROOT, entry), path.join(dir, entry), { recursive: true });
        }
        const stack = (name: string, config: string) => fs.writeFileSync(path.join(dir, "stacks", `Pulumi.${name}.yaml`), `config:\n${config}`);
        stack("dev-aws", "  platform:template: dev\n  platform:cloud: aws\n");
        stack("review-7", "  platform:template: review\n");
        // No template: it could be any program (the safe side).
        stack("sandbox", "  platform:description: no template yet\n");
    });

    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    const inTmp = (changed: string[]) => affectedStacks(changed, knownStacks(dir), dir);

    it("selects the AWS stack for AWS code, and the Azure stacks for Azure code", () => {
        expect(knownStacks(dir)).toEqual(["local", "dev", "staging", "prod", "dev-aws", "review-7", "sandbox"]);
        expect(inTmp(["components/cluster/eks.ts"])).toEqual(["dev-aws", "sandbox"]);
        expect(inTmp(["environments/clouds/aws.ts"])).toEqual(["dev-aws", "sandbox"]);
        expect(inTmp(["components/cluster/aks.ts"])).toEqual(["dev", "staging", "prod", "sandbox"]);
        expect(inTmp(["environments/templates/cloud.ts"])).toEqual(["dev", "staging", "prod", "dev-aws", "sandbox"]);
        expect(inTmp(["environments/templates/local.ts"])).toEqual(["local", "review-7", "sandbox"]);
        expect(inTmp(["components/shared/tags.ts"])).toEqual(["local", "dev", "staging", "prod", "dev-aws", "review-7", "sandbox"]);
    });

    it("follows a dynamic import the tables do not name for every stack", () => {
        fs.writeFileSync(path.join(dir, "components/extra.ts"), "export const extra = 1;\n");
        fs.appendFileSync(path.join(dir, "environments/templates/environment-base.ts"), '\nexport const loadExtra = () => import("../../components/extra");\n');
        expect(inTmp(["components/extra.ts"])).toEqual(["local", "dev", "staging", "prod", "dev-aws", "review-7", "sandbox"]);
    });
});

describe("a stack's own files, by its template", () => {
    // Only stack files: these rules come before the import graph.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "affected-own-"));
    fs.mkdirSync(path.join(dir, "stacks"));
    const stack = (name: string, text: string) => fs.writeFileSync(path.join(dir, "stacks", `Pulumi.${name}.yaml`), text);
    stack("prod", "config:\n  platform:template: prod\n");
    stack("prod-eu", "config:\n  platform:template: prod\n");
    stack("local-2", "config:\n  platform:template: local\n");
    stack("review-3", "config:\n  platform:template: dev\n");
    stack("sandbox", "config:\n  platform:description: no template yet\n");
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
    const own = (changed: string[]) => affectedStacks(changed, [...knownStacks(dir), "review-9", "local"], dir);

    it("a policy config affects the stacks of its template (prod.json: prod-eu too), and those whose template cannot be told", () => {
        expect(own(["policies/config/prod.json"])).toEqual(["prod", "prod-eu", "sandbox"]);
        // review-3's stack file says dev; review-9 has none, so it is a review stack.
        expect(own(["policies/config/review.json"])).toEqual(["review-9", "sandbox"]);
        expect(own(["policies/config/dev.json"])).toEqual(["review-3", "sandbox"]);
        expect(own(["policies/config/qa.json"])).toEqual(["sandbox"]);
    });

    it("local's passphrase affects every stack whose state is in the repository", () => {
        expect(own(["stacks/local.passphrase"])).toEqual(["local", "local-2", "sandbox"]);
    });

    it("a stack file affects its own stack only", () => {
        expect(own(["stacks/Pulumi.prod-eu.yaml"])).toEqual(["prod-eu"]);
    });
});
