import { UpstreamChart } from "../shared/chart";

/** HashiCorp's official Vault chart (Vault 2.0.4). */
export const VAULT_CHART: UpstreamChart = {
    name: "vault",
    version: "0.34.1",
    repository: "https://helm.releases.hashicorp.com",
};

export const VAULT_NAMESPACE = "vault";
