import * as fs from "node:fs";
import { describe, expect, it } from "vitest";

import { buildTaggableIndex, serialize, TAGGABLE_FILE } from "../scripts/taggable-types";
import { compliantTags } from "../test/fixtures";
import { violationsOf } from "../test/validate";
import { cloudResourceTags, DEFAULT_TAGGING, isTaggable } from "./cloud-resource-tags";

const RDS = "aws:rds/instance:Instance";
const RDS_URN = `urn:pulumi:test::platform::${RDS}::subject`;

describe("cloud-resource-tags", () => {
    it("is mandatory and named in kebab-case", () => {
        expect(cloudResourceTags.name).toBe("cloud-resource-tags");
        expect(cloudResourceTags.enforcementLevel).toBe("mandatory");
        expect(cloudResourceTags.description).toMatch(/owner, environment, cost-center, managed-by and repository/);
    });

    it("passes a resource with every required tag, well-formed", async () => {
        expect(await violationsOf(cloudResourceTags, RDS, { tags: compliantTags() })).toEqual([]);
    });

    it.each(DEFAULT_TAGGING.requiredTags)("reports a missing %s tag, naming the URN and the type", async (key) => {
        const tags = compliantTags();
        delete tags[key];
        expect(await violationsOf(cloudResourceTags, RDS, { tags })).toEqual([`${RDS_URN} (${RDS}): tag "${key}" is missing`]);
    });

    it("treats an empty value as missing", async () => {
        const tags = { ...compliantTags(), owner: "" };
        expect(await violationsOf(cloudResourceTags, RDS, { tags })).toEqual([expect.stringContaining('tag "owner" is missing')]);
    });

    it("reports every missing tag of an untagged resource in one message", async () => {
        const violations = await violationsOf(cloudResourceTags, RDS, {});
        expect(violations).toHaveLength(1);
        for (const key of DEFAULT_TAGGING.requiredTags) {
            expect(violations[0]).toContain(`tag "${key}" is missing`);
        }
    });

    it.each([
        ["owner", "platform-team"],
        ["owner", "two words@example.com"],
        ["environment", "production"],
        ["environment", "Review-12"],
        ["environment", "review"],
        ["environment", "prod-"],
        ["environment", "prod_eu"],
        ["environment", "qa"],
        ["cost-center", "plt-1234"],
        ["cost-center", "PLT1234"],
        ["managed-by", "terraform"],
        ["repository", "github.com/example/my platform"],
    ])("reports a malformed %s (%s), naming the tag, the value and the pattern", async (key, value) => {
        const tags = { ...compliantTags(), [key]: value };
        expect(await violationsOf(cloudResourceTags, RDS, { tags })).toEqual([
            `${RDS_URN} (${RDS}): tag "${key}" is "${value}", which does not match ${DEFAULT_TAGGING.tagPatterns[key]}`,
        ]);
    });

    it.each(["local", "dev", "staging", "prod", "review-123", "review-fix-login", "prod-eu", "local-2", "dev-x", "staging-2"])("accepts the environment %s", async (environment) => {
        expect(await violationsOf(cloudResourceTags, RDS, { tags: { ...compliantTags(), environment } })).toEqual([]);
    });

    it("honours a custom requiredTags list from config", async () => {
        const config = { requiredTags: ["owner", "team"] };
        const tags = compliantTags();
        delete tags.repository;
        expect(await violationsOf(cloudResourceTags, RDS, { tags }, "subject", { config })).toEqual([
            `${RDS_URN} (${RDS}): tag "team" is missing`,
        ]);
        expect(await violationsOf(cloudResourceTags, RDS, { tags: { ...tags, team: "data" } }, "subject", { config })).toEqual([]);
    });

    it("honours custom tagPatterns from config", async () => {
        const config = { tagPatterns: { ...DEFAULT_TAGGING.tagPatterns, environment: "^(dev|prod)$" } };
        const staging = { tags: { ...compliantTags(), environment: "staging" } };
        expect(await violationsOf(cloudResourceTags, RDS, staging)).toEqual([]);
        expect(await violationsOf(cloudResourceTags, RDS, staging, "subject", { config })).toEqual([
            `${RDS_URN} (${RDS}): tag "environment" is "staging", which does not match ^(dev|prod)$`,
        ]);
    });

    it.each([
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "azure-native:authorization:RoleAssignment",
        "kubernetes:core/v1:Namespace",
    ])("ignores %s, which takes no tags", async (type) => {
        expect(await violationsOf(cloudResourceTags, type, {})).toEqual([]);
    });

    it("checks Azure resources as well as AWS ones", async () => {
        const type = "azure-native:resources:ResourceGroup";
        expect(await violationsOf(cloudResourceTags, type, { tags: compliantTags() })).toEqual([]);
        expect(await violationsOf(cloudResourceTags, type, { location: "westeurope" })).toEqual([
            expect.stringContaining(`urn:pulumi:test::platform::${type}::subject (${type}): tag "owner" is missing`),
        ]);
    });
});

describe("isTaggable (from the generated index)", () => {
    it.each([
        "aws:eks/cluster:Cluster",
        "aws:rds/instance:Instance",
        "aws:kms/key:Key",
        "azure-native:resources:ResourceGroup",
        "azure-native:containerservice:ManagedCluster",
        "azure-native:dbforpostgresql:Server",
    ])("%s takes tags", (type) => {
        expect(isTaggable(type)).toBe(true);
    });

    it.each([
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "aws:ec2/routeTableAssociation:RouteTableAssociation",
        "azure-native:authorization:RoleAssignment",
        "azure-native:dbforpostgresql:Configuration",
    ])("%s takes no tags", (type) => {
        expect(isTaggable(type)).toBe(false);
    });

    it("policies/generated/taggable-types.json matches the installed provider SDKs", () => {
        const index = buildTaggableIndex();
        const current = fs.existsSync(TAGGABLE_FILE) ? fs.readFileSync(TAGGABLE_FILE, "utf8") : "";
        expect(
            current === serialize(index),
            `policies/generated/taggable-types.json is stale (installed SDKs: ${JSON.stringify(index.generatedFrom)}); ` +
                "regenerate it with `pnpm exec tsx policies/scripts/taggable-types.ts`",
        ).toBe(true);
    });
});
