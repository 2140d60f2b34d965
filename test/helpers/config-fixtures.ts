import { expect } from "vitest";

import { ConfigError, parseEnvironmentConfig } from "../../environments/config";

/** A complete local config: the smallest the loader accepts. */
export const LOCAL_CONFIG = {
    template: "local",
    name: "local",
    description: "dev box",
    owner: "team@example.com",
    costCenter: "PLT-0001",
    repository: "platform-gitops",
};

/** A complete azure dev config (the committed dev stack's shape). */
export const AZURE_DEV_CONFIG = {
    ...LOCAL_CONFIG,
    template: "dev",
    name: "dev",
    cloud: "azure",
    region: "westeurope",
    clusterAdmins: "7f3c2a10-5b1e-4d8a-9c3f-2e6b8a1d4f90",
    ingressDomain: "dev.example.com",
    acmeEmail: "team@example.com",
};

/** The loader's message for a config it must refuse; fails the test when the config is accepted or the error is not a ConfigError. */
export function configErrorOf(raw: Record<string, unknown>): string {
    try {
        parseEnvironmentConfig(raw);
    } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as Error).message;
    }
    throw new Error("expected the config to be rejected");
}
