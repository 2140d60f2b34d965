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
        expect(errorOf({ ...valid, template: "qa" })).toContain('platform:template: allowed: local, review, dev, staging, prod (got "qa")');
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

    describe("names, dates, networks, nodes and protection", () => {
        const dev = {
            ...valid,
            template: "dev",
            name: "dev",
            cloud: "azure",
            region: "westeurope",
            clusterAdmins: "7f3c2a10-5b1e-4d8a-9c3f-2e6b8a1d4f90",
            ingressDomain: "dev.example.com",
            acmeEmail: "team@example.com",
        };
        const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

        it("refuses a name its template does not make", () => {
            expect(errorOf({ ...dev, name: "qa" })).toContain('platform:name: unknown environment name for the dev template; allowed: dev or dev-<suffix> (got "qa")');
            expect(errorOf({ ...valid, template: "review", name: "feature-x", plannedDestruction: inDays(3) })).toContain("allowed: review-<id>");
            expect(parseEnvironmentConfig({ ...dev, name: "dev-eu" }).name).toBe("dev-eu");
        });

        it("requires a planned destruction date for review environments, within 30 days, not in the past", () => {
            const review = { ...valid, template: "review", name: "review-42" };
            expect(errorOf(review)).toContain("platform:plannedDestruction: it is required for the review template");
            expect(errorOf({ ...review, plannedDestruction: "2020-01-01" })).toMatch(/platform:plannedDestruction: is in the past \(today is \d{4}-\d{2}-\d{2}\) \(got "2020-01-01"\)/);
            expect(errorOf({ ...review, plannedDestruction: inDays(45) })).toContain("is more than 30 days away");
            expect(errorOf({ ...review, plannedDestruction: "2026-02-30" })).toContain("platform:plannedDestruction: must be a date as YYYY-MM-DD");
            expect(parseEnvironmentConfig({ ...review, plannedDestruction: inDays(7) }).plannedDestruction).toBe(inDays(7));
        });

        it("refuses a malformed network and overlapping service addresses", () => {
            expect(errorOf({ ...dev, networkCidr: "10.40.0.0/24" })).toContain("platform:networkCidr: must be an IPv4 /16 network");
            expect(errorOf({ ...dev, networkCidr: "10.40.0.300/16" })).toContain("platform:networkCidr");
            expect(errorOf({ ...dev, networkCidr: "10.40.0.0/16", serviceCidr: "10.40.128.0/17" })).toContain(
                "platform:serviceCidr: overlaps platform:networkCidr (10.40.0.0/16); the ranges must be disjoint",
            );
            expect(parseEnvironmentConfig({ ...dev, networkCidr: "10.40.0.0/16", serviceCidr: "10.0.0.0/16" }).serviceCidr).toBe("10.0.0.0/16");
        });

        it("refuses node counts out of range or crossed", () => {
            expect(errorOf({ ...dev, nodeMin: "0" })).toContain('platform:nodeMin: must be from 1 to 100 (got "0")');
            expect(errorOf({ ...dev, nodeMax: "500" })).toContain('platform:nodeMax: must be from 1 to 100 (got "500")');
            expect(errorOf({ ...dev, nodeMin: "2.5" })).toContain("platform:nodeMin: must be a whole number");
            expect(errorOf({ ...dev, nodeMin: "6", nodeMax: "3" })).toContain("platform:nodeMin: must not exceed platform:nodeMax (3)");
            expect(parseEnvironmentConfig({ ...dev, nodeMin: "3", nodeMax: "9" })).toMatchObject({ nodeMin: 3, nodeMax: 9 });
        });

        it("refuses prod without protection", () => {
            const prod = { ...dev, template: "prod", name: "prod", ingressDomain: "example.com" };
            expect(errorOf({ ...prod, protect: "false" })).toContain("platform:protect: prod must protect its stateful resources; allowed: true (or unset)");
            expect(errorOf({ ...dev, protect: "yes" })).toContain('platform:protect: allowed: true, false (got "yes")');
            expect(parseEnvironmentConfig({ ...prod, protect: "true" }).protect).toBe(true);
        });
    });
});
