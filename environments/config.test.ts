import { describe, expect, it } from "vitest";

import { ConfigError, parseEnvironmentConfig } from "./config";

const valid = {
    template: "local",
    name: "local",
    description: "dev box",
    owner: "team@example.com",
    costCenter: "PLT-0001",
    repository: "platform-gitops",
};

function errorOf(raw: Record<string, unknown>): string {
    try {
        parseEnvironmentConfig(raw);
    } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as Error).message;
    }
    throw new Error("expected the config to be rejected");
}

describe("parseEnvironmentConfig", () => {
    it("accepts a valid config and applies defaults", () => {
        const config = parseEnvironmentConfig(valid);
        expect(config.kubernetesTarget).toBe("auto");
        expect(config.renderDirectory).toBe("rendered");
    });

    it("names the key, the bad value and the allowed values for an unknown template", () => {
        expect(errorOf({ ...valid, template: "qa" })).toContain('platform:template: allowed: local, dev, staging, prod (got "qa")');
    });

    it("rejects a missing owner", () => {
        const { owner: _owner, ...rest } = valid;
        expect(errorOf(rest)).toContain("platform:owner: it is required (it is not set)");
    });

    it("rejects a malformed email", () => {
        expect(errorOf({ ...valid, owner: "bob" })).toContain('platform:owner: must be an email address (got "bob")');
    });

    it("rejects a malformed cost centre", () => {
        expect(errorOf({ ...valid, costCenter: "marketing" })).toMatch(/platform:costCenter: must look like ABC-1234/);
    });

    it("rejects an unknown kubernetes target", () => {
        expect(errorOf({ ...valid, kubernetesTarget: "cloud" })).toContain(
            'platform:kubernetesTarget: allowed: auto, apply, render (got "cloud")',
        );
    });

    it("rejects an unparseable planned destruction date", () => {
        expect(errorOf({ ...valid, plannedDestruction: "next week" })).toContain(
            'platform:plannedDestruction: must be a date as YYYY-MM-DD (got "next week")',
        );
    });

    it("lists every problem at once", () => {
        const message = errorOf({ ...valid, owner: "bob", costCenter: "x" });
        expect(message).toContain("platform:owner");
        expect(message).toContain("platform:costCenter");
    });

    describe("cloud templates", () => {
        const dev = {
            ...valid,
            template: "dev",
            name: "dev",
            cloud: "aws",
            region: "eu-west-1",
            clusterAdmins: "arn:aws:iam::111122223333:role/admins, arn:aws:iam::111122223333:role/oncall",
            ingressDomain: "dev.example.com",
            acmeEmail: "team@example.com",
        };

        it("accepts a complete dev config and splits the admin list", () => {
            expect(parseEnvironmentConfig(dev).clusterAdmins).toEqual([
                "arn:aws:iam::111122223333:role/admins",
                "arn:aws:iam::111122223333:role/oncall",
            ]);
        });

        it("names every key a cloud template requires", () => {
            const message = errorOf({ ...valid, template: "staging", name: "staging" });
            for (const key of ["cloud", "region", "clusterAdmins", "ingressDomain", "acmeEmail"]) {
                expect(message).toContain(`platform:${key}: it is required for the staging template`);
            }
        });

        it("rejects an unknown cloud and a region of another cloud", () => {
            expect(errorOf({ ...dev, cloud: "gcp" })).toContain('platform:cloud: allowed: azure, aws (got "gcp")');
            expect(errorOf({ ...dev, region: "westeurope" })).toContain(
                'platform:region: allowed for aws: eu-west-1, eu-central-1, eu-north-1, us-east-1, us-east-2, us-west-2 (got "westeurope")',
            );
        });

        it("rejects a malformed ingress domain and an empty admin list", () => {
            expect(errorOf({ ...dev, ingressDomain: "https://dev.example.com" })).toContain("platform:ingressDomain: must be a DNS domain");
            expect(errorOf({ ...dev, clusterAdmins: " , " })).toContain("platform:clusterAdmins: must name at least one administrator");
        });

        it("refuses render mode for a cloud cluster", () => {
            expect(errorOf({ ...dev, kubernetesTarget: "render" })).toContain("platform:kubernetesTarget: allowed for the dev template: auto, apply");
        });
    });
});
