import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

import { compliantCnpgCluster, compliantRdsInstance, compliantTags } from "../test/fixtures";
import { violationsOf } from "../test/validate";
import { STATEFUL_TYPES, statefulResourcesProtected } from "./stateful-resources-protected";

const RDS = "aws:rds/instance:Instance";
const CNPG = "kubernetes:postgresql.cnpg.io/v1:Cluster";
const ENVIRONMENT_LABEL = "platform.example.com/environment";

/** A CloudNativePG cluster labelled with an environment. */
function cnpgIn(environment: string) {
    const cluster = compliantCnpgCluster();
    return { ...cluster, metadata: { ...cluster.metadata, labels: { ...cluster.metadata.labels, [ENVIRONMENT_LABEL]: environment } } };
}

const rdsIn = (environment: string) => ({ ...compliantRdsInstance(), tags: { ...compliantTags(), environment } });

/** This policy's level and settings in a template's pack config (policies/config/<template>.json), as the engine hands them over. */
function packConfig(template: string): { level: string | undefined; config: Record<string, unknown> } {
    const file = path.join(__dirname, "..", "config", `${template}.json`);
    const pack = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
    const { enforcementLevel, ...config } = (pack["stateful-resources-protected"] ?? {}) as { enforcementLevel?: string };
    return { level: enforcementLevel ?? (typeof pack.all === "string" ? pack.all : undefined), config };
}

describe("stateful-resources-protected", () => {
    it("is mandatory and named in kebab-case", () => {
        expect(statefulResourcesProtected.name).toBe("stateful-resources-protected");
        expect(statefulResourcesProtected.enforcementLevel).toBe("mandatory");
        expect(statefulResourcesProtected.description).toMatch(/registered with protect/);
    });

    it("passes a protected stateful resource in prod", async () => {
        expect(await violationsOf(statefulResourcesProtected, RDS, rdsIn("prod"), "subject", { protect: true })).toEqual([]);
    });

    it("reports an unprotected stateful resource in prod (by its environment tag), naming the URN and the type", async () => {
        expect(await violationsOf(statefulResourcesProtected, RDS, rdsIn("prod"))).toEqual([
            `urn:pulumi:test::platform::${RDS}::subject (${RDS}): stateful resource in prod is not protected (set protect)`,
        ]);
    });

    it("reads the environment from the Kubernetes label", async () => {
        expect(await violationsOf(statefulResourcesProtected, CNPG, cnpgIn("prod"))).toEqual([
            expect.stringContaining(`(${CNPG}): stateful resource in prod is not protected`),
        ]);
        expect(await violationsOf(statefulResourcesProtected, CNPG, cnpgIn("prod"), "subject", { protect: true })).toEqual([]);
    });

    it("falls back to the stack name when neither tag nor label names the environment", async () => {
        const pvc = { metadata: { name: "data", labels: { "app.kubernetes.io/name": "api" } }, spec: { resources: { requests: { storage: "10Gi" } } } };
        const type = "kubernetes:core/v1:PersistentVolumeClaim";
        expect(await violationsOf(statefulResourcesProtected, type, pvc, "data", { stack: "prod" })).toEqual([
            `urn:pulumi:prod::platform::${type}::data (${type}): stateful resource in prod is not protected (set protect)`,
        ]);
        expect(await violationsOf(statefulResourcesProtected, type, pvc, "data", { stack: "dev" })).toEqual([]);
    });

    it("prefers the tag over the stack name", async () => {
        expect(await violationsOf(statefulResourcesProtected, RDS, rdsIn("dev"), "subject", { stack: "prod" })).toEqual([]);
        expect(await violationsOf(statefulResourcesProtected, RDS, rdsIn("prod"), "subject", { stack: "dev" })).toHaveLength(1);
    });

    it("passes unprotected stateful resources in dev", async () => {
        expect(await violationsOf(statefulResourcesProtected, RDS, rdsIn("dev"))).toEqual([]);
        expect(await violationsOf(statefulResourcesProtected, CNPG, cnpgIn("dev"))).toEqual([]);
    });

    it.each([...STATEFUL_TYPES])("reports %s unprotected in prod", async (type) => {
        expect(await violationsOf(statefulResourcesProtected, type, {}, "subject", { stack: "prod" })).toEqual([
            expect.stringContaining(`(${type}): stateful resource in prod is not protected`),
        ]);
    });

    it.each(["aws:ec2/securityGroup:SecurityGroup", "kubernetes:apps/v1:Deployment", "kubernetes:helm.sh/v4:Chart"])(
        "passes %s, which is not stateful, unprotected in prod",
        async (type) => {
            expect(await violationsOf(statefulResourcesProtected, type, { tags: compliantTags() }, "subject", { stack: "prod" })).toEqual([]);
        },
    );

    it("requires protection in every stack its config says so, whatever the environment is named", async () => {
        const config = { required: true };
        expect(await violationsOf(statefulResourcesProtected, RDS, rdsIn("prod-eu"), "subject", { stack: "prod-eu", config })).toEqual([
            `urn:pulumi:prod-eu::platform::${RDS}::subject (${RDS}): stateful resource in prod-eu is not protected (set protect)`,
        ]);
        expect(await violationsOf(statefulResourcesProtected, CNPG, cnpgIn("eu-main"), "subject", { stack: "eu-main", config })).toEqual([
            expect.stringContaining(`(${CNPG}): stateful resource in eu-main is not protected (set protect)`),
        ]);
        expect(await violationsOf(statefulResourcesProtected, RDS, rdsIn("prod-eu"), "subject", { stack: "prod-eu", config, protect: true })).toEqual([]);
        // Without the config, the name is only a safety net: prod, not prod-eu.
        expect(await violationsOf(statefulResourcesProtected, RDS, rdsIn("prod-eu"), "subject", { stack: "prod-eu" })).toEqual([]);
    });

    it("gives a prod-template stack of any name prod's requirement, mandatory (policies/config/prod.json)", async () => {
        const prod = packConfig("prod");
        expect(prod.level).toBe("mandatory");
        for (const environment of ["prod", "prod-eu", "prod-us-2"]) {
            expect(await violationsOf(statefulResourcesProtected, RDS, rdsIn(environment), "subject", { stack: environment, config: prod.config }), environment).toEqual([
                `urn:pulumi:${environment}::platform::${RDS}::subject (${RDS}): stateful resource in ${environment} is not protected (set protect)`,
            ]);
        }
    });

    it("warns in staging-template stacks of any name (advisory), and asks nothing in dev, local or review", async () => {
        const staging = packConfig("staging");
        expect(staging.level).toBe("advisory");
        for (const environment of ["staging", "staging-2"]) {
            expect(await violationsOf(statefulResourcesProtected, RDS, rdsIn(environment), "subject", { stack: environment, config: staging.config })).toHaveLength(1);
        }
        expect(packConfig("review").level).toBe("disabled");
        for (const [template, environment] of [["dev", "dev"], ["dev", "dev-x"], ["local", "local"], ["local", "local-2"], ["review", "review-7"]]) {
            const { config } = packConfig(template);
            expect(await violationsOf(statefulResourcesProtected, RDS, rdsIn(environment), "subject", { stack: environment, config }), environment).toEqual([]);
        }
    });

    it("honours protectedEnvironments from config", async () => {
        const config = { protectedEnvironments: ["staging", "prod"] };
        expect(await violationsOf(statefulResourcesProtected, RDS, rdsIn("staging"))).toEqual([]);
        expect(await violationsOf(statefulResourcesProtected, RDS, rdsIn("staging"), "subject", { config })).toEqual([
            expect.stringContaining("stateful resource in staging is not protected"),
        ]);
        expect(await violationsOf(statefulResourcesProtected, RDS, rdsIn("prod"), "subject", { config })).toHaveLength(1);
        expect(await violationsOf(statefulResourcesProtected, RDS, rdsIn("dev"), "subject", { config })).toEqual([]);
    });
});
