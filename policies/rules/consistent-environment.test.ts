import { describe, expect, it } from "vitest";

import { toLabelValue } from "../../components/shared/tags";
import { compliantLabels, compliantTags } from "../test/fixtures";
import { stackViolationsOf, StackResource } from "../test/validate";
import { asLabelValue, consistentEnvironment } from "./consistent-environment";

const RDS = "aws:rds/instance:Instance";
const NAMESPACE = "kubernetes:core/v1:Namespace";
const urn = (type: string, name: string) => `urn:pulumi:test::platform::${type}::${name}`;

/** A tagged cloud resource. */
const cloud = (name: string, tags: Record<string, string> = {}): StackResource => ({ type: RDS, name, props: { tags: { ...compliantTags(), ...tags } } });

/** A Kubernetes object labelled as components label it, naming the environment and owner of compliantTags(). */
const kube = (name: string, labels: Record<string, string> = {}): StackResource => ({
    type: NAMESPACE,
    name,
    props: {
        metadata: {
            name,
            labels: {
                ...compliantLabels(),
                "platform.example.com/environment": toLabelValue(compliantTags().environment),
                "platform.example.com/owner": toLabelValue(compliantTags().owner),
                ...labels,
            },
        },
    },
});

describe("consistent-environment", () => {
    it("is mandatory and named in kebab-case", () => {
        expect(consistentEnvironment.name).toBe("consistent-environment");
        expect(consistentEnvironment.enforcementLevel).toBe("mandatory");
        expect(consistentEnvironment.description).toMatch(/same environment and owner/);
    });

    it("passes a stack whose resources all name one environment and one owner", async () => {
        expect(await stackViolationsOf(consistentEnvironment, [cloud("db"), cloud("key"), kube("apps"), kube("data")])).toEqual([]);
    });

    it.each(["platform-team@example.com", "github.com/example/platform", "-x-" + "a".repeat(80), "review-12", "Team Name/"])(
        "encodes %s as the components' toLabelValue does, so an owner tag and its label compare equal",
        (value) => {
            expect(asLabelValue(value)).toBe(toLabelValue(value));
        },
    );

    it("takes an owner tag and the same owner's label for one owner", async () => {
        expect(asLabelValue("platform-team@example.com")).toBe("platform-team_at_example.com");
        expect(await stackViolationsOf(consistentEnvironment, [cloud("db"), kube("apps")])).toEqual([]);
    });

    it("reports two environments once, naming both values, their counts and an example URN", async () => {
        const violations = await stackViolationsOf(consistentEnvironment, [
            cloud("db"),
            kube("apps"),
            cloud("old-db", { environment: "staging" }),
        ]);
        expect(violations).toEqual([
            `resources name 2 different environments: "prod" (2, e.g. ${urn(RDS, "db")}), "staging" (1, e.g. ${urn(RDS, "old-db")})`,
        ]);
    });

    it("reads the environment from the Kubernetes label", async () => {
        expect(await stackViolationsOf(consistentEnvironment, [cloud("db"), kube("apps", { "platform.example.com/environment": "dev" })])).toEqual([
            expect.stringMatching(/^resources name 2 different environments: "prod" \(1, .*\), "dev" \(1, e\.g\. .*::apps\)$/),
        ]);
    });

    it("reports two owners", async () => {
        const violations = await stackViolationsOf(consistentEnvironment, [cloud("db"), cloud("cache", { owner: "data-team@example.com" }), kube("apps")]);
        expect(violations).toEqual([
            `resources name 2 different owners: "platform-team_at_example.com" (2, e.g. ${urn(RDS, "db")}), "data-team_at_example.com" (1, e.g. ${urn(RDS, "cache")})`,
        ]);
    });

    it("reports environment and owner separately", async () => {
        const violations = await stackViolationsOf(consistentEnvironment, [cloud("db"), cloud("other", { environment: "dev", owner: "data-team@example.com" })]);
        expect(violations).toEqual([
            expect.stringContaining("2 different environments"),
            expect.stringContaining("2 different owners"),
        ]);
    });

    it("ignores resources without tags or labels", async () => {
        const untagged: StackResource[] = [
            { type: "aws:iam/rolePolicyAttachment:RolePolicyAttachment", name: "attach", props: { role: "r", policyArn: "arn" } },
            { type: "kubernetes:helm.sh/v4:Chart", name: "istiod", props: { chart: "istiod" } },
            { type: "kubernetes:core/v1:ConfigMap", name: "cm", props: { metadata: { name: "cm" } } },
        ];
        expect(await stackViolationsOf(consistentEnvironment, [cloud("db"), ...untagged])).toEqual([]);
        expect(await stackViolationsOf(consistentEnvironment, untagged)).toEqual([]);
    });
});
