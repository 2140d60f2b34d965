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
        expect(errorOf({ ...valid, template: "qa" })).toContain('platform:template: allowed: local (got "qa")');
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
});
