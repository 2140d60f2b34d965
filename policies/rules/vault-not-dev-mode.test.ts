import { describe, expect, it } from "vitest";

import { compliantVaultChart } from "../test/fixtures";
import { violationsOf } from "../test/validate";
import { vaultNotDevMode } from "./vault-not-dev-mode";

const CHART = "kubernetes:helm.sh/v4:Chart";

/** Vault's chart in dev mode (in memory, root token), as components/vault registers it in local. */
function devVault(chart = "vault") {
    return { ...compliantVaultChart(), chart, values: { server: { dev: { enabled: true } } } };
}

describe("vault-not-dev-mode", () => {
    it("is mandatory and named in kebab-case", () => {
        expect(vaultNotDevMode.name).toBe("vault-not-dev-mode");
        expect(vaultNotDevMode.enforcementLevel).toBe("mandatory");
        expect(vaultNotDevMode.description).toMatch(/not in dev mode outside the local environment/);
    });

    it.each(["local", "dev", "prod"])("passes Vault in HA mode in %s", async (stack) => {
        expect(await violationsOf(vaultNotDevMode, CHART, compliantVaultChart(), "vault", { stack })).toEqual([]);
    });

    it("passes Vault with dev mode explicitly off", async () => {
        const chart = compliantVaultChart();
        chart.values.server.dev = { enabled: false };
        expect(await violationsOf(vaultNotDevMode, CHART, chart, "vault", { stack: "prod" })).toEqual([]);
    });

    it("passes Vault in dev mode in local", async () => {
        expect(await violationsOf(vaultNotDevMode, CHART, devVault(), "vault", { stack: "local" })).toEqual([]);
    });

    it.each(["dev", "prod"])("reports Vault in dev mode in %s, naming the URN and the type", async (stack) => {
        expect(await violationsOf(vaultNotDevMode, CHART, devVault(), "vault", { stack })).toEqual([
            `urn:pulumi:${stack}::platform::${CHART}::vault (${CHART}): Vault is in dev mode in ${stack}; dev mode is allowed only in local, local-*`,
        ]);
    });

    it.each([
        ["an unpacked mirror directory", "/x/vault"],
        ["a packaged mirror directory", "/mirror/charts/vault-0.34.1.tgz"],
        ["an OCI mirror", "oci://registry.example.com/charts/vault"],
        ["a repository-qualified name", "hashicorp/vault"],
    ])("recognises Vault's chart from %s", async (_label, chart) => {
        expect(await violationsOf(vaultNotDevMode, CHART, devVault(chart), "vault", { stack: "prod" })).toEqual([
            expect.stringContaining("Vault is in dev mode in prod"),
        ]);
    });

    it.each(["vault-secrets-operator", "/x/vault-secrets-operator", "my-vault", "consul"])("ignores the chart %s with dev.enabled", async (chart) => {
        expect(await violationsOf(vaultNotDevMode, CHART, devVault(chart), "vault", { stack: "prod" })).toEqual([]);
    });

    it("looks only at Helm v4 charts, even when another resource has a chart's shape", async () => {
        const lookalike = { ...devVault(), metadata: { name: "vault" } };
        expect(await violationsOf(vaultNotDevMode, "kubernetes:core/v1:ConfigMap", lookalike, "vault", { stack: "prod" })).toEqual([]);
    });

    it("honours devModeEnvironments from config", async () => {
        const config = { devModeEnvironments: ["local", "dev"] };
        expect(await violationsOf(vaultNotDevMode, CHART, devVault(), "vault", { stack: "dev", config })).toEqual([]);
        expect(await violationsOf(vaultNotDevMode, CHART, devVault(), "vault", { stack: "prod", config })).toEqual([
            expect.stringContaining("Vault is in dev mode in prod; dev mode is allowed only in local, dev"),
        ]);
    });
});
