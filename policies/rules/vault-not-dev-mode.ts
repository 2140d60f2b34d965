import { ResourceValidationPolicy } from "@pulumi/policy";

import { environmentOf } from "./environment";

interface ChartProps {
    chart?: string;
    values?: { server?: { dev?: { enabled?: boolean } } };
}

export interface VaultModeConfig {
    /** Environments where Vault may run in dev mode (in memory, root token); a trailing `*` matches a prefix. */
    devModeEnvironments: string[];
}

export const DEFAULT_VAULT_MODE: VaultModeConfig = { devModeEnvironments: ["local", "local-*"] };

/** Vault runs in dev mode only where data is disposable. */
export const vaultNotDevMode: ResourceValidationPolicy = {
    name: "vault-not-dev-mode",
    description: "Vault is not in dev mode outside the local environment.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: { devModeEnvironments: { type: "array", items: { type: "string" }, default: DEFAULT_VAULT_MODE.devModeEnvironments } },
    },
    validateResource: (args, reportViolation) => {
        if (args.type !== "kubernetes:helm.sh/v4:Chart") {
            return;
        }
        const p = args.props as ChartProps;
        if (!/(^|\/)vault(-[0-9.]+\.tgz)?$/.test(p.chart ?? "") || p.values?.server?.dev?.enabled !== true) {
            return;
        }
        const config = { ...DEFAULT_VAULT_MODE, ...args.getConfig<Partial<VaultModeConfig>>() };
        const environment = environmentOf(args);
        const allowed = config.devModeEnvironments.some((e) => (e.endsWith("*") ? environment.startsWith(e.slice(0, -1)) : e === environment));
        if (!allowed) {
            reportViolation(`${args.urn} (${args.type}): Vault is in dev mode in ${environment}; dev mode is allowed only in ${config.devModeEnvironments.join(", ")}`);
        }
    },
};
