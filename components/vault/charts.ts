import * as pulumi from "@pulumi/pulumi";

import { UpstreamChart } from "../shared/chart";
import { chartReleases, HelmValues } from "../shared/chart-values";
import { containerResources } from "../shared/kubernetes";
import { VaultMode, VaultSeal } from "./types";

/** HashiCorp's official Vault chart (Vault 2.0.4). */
export const VAULT_CHART: UpstreamChart = {
    name: "vault",
    version: "0.34.1",
    repository: "https://helm.releases.hashicorp.com",
};

/** Namespace (and release name) of the platform's instance, `new VaultServer("vault", …)`: instances default to their own name. */
export const VAULT_NAMESPACE = "vault";

/** The releases VaultServer installs, by release name (the keys of its `valuesOverride`). */
export const VAULT_RELEASE_CHARTS = { vault: VAULT_CHART } as const;
export type VaultRelease = keyof typeof VAULT_RELEASE_CHARTS;
/** `vault/vault` in `platform:chartValues`. */
export const VAULT_RELEASES = chartReleases("vault", VAULT_RELEASE_CHARTS);

/** The Raft + auto-unseal configuration (HCL). Secrets never go here: it lands in a ConfigMap. */
function haConfig(seal: VaultSeal, fullname: string): pulumi.Output<string> {
    const sealStanza =
        seal.type === "awskms"
            ? pulumi.interpolate`seal "awskms" {\n  region     = "${seal.region}"\n  kms_key_id = "${seal.kmsKeyId}"\n}`
            : pulumi.interpolate`seal "azurekeyvault" {\n  tenant_id  = "${seal.tenantId}"\n  vault_name = "${seal.vaultName}"\n  key_name   = "${seal.keyName}"\n}`;
    return pulumi.interpolate`ui = true
listener "tcp" {
  address         = "[::]:8200"
  cluster_address = "[::]:8201"
  tls_disable     = 1 # in-cluster traffic is encrypted by the mesh's mTLS
  telemetry {
    unauthenticated_metrics_access = true
  }
}
storage "raft" {
  path = "/vault/data"
  retry_join {
    leader_api_addr = "http://${fullname}-0.${fullname}-internal:8200"
  }
}
${sealStanza}
service_registration "kubernetes" {}
telemetry {
  prometheus_retention_time = "30s"
  disable_hostname          = true
}
`;
}

/** What the Vault chart's values depend on. */
export interface VaultValuesArgs {
    mode: VaultMode;
    /** Dev mode: the Secret whose `token` is the root token. */
    devRootTokenSecret?: string;
    /** The chart's object names (`fullnameOverride`): the release name. Default: `vault`. */
    fullname?: string;
}

/**
 * The Vault chart's values: no injector, the UI, pods in the mesh; a dev
 * server reading its root token from a Secret, or an HA Raft cluster with the
 * KMS seal, spread across zones.
 */
export function vaultValues(args: VaultValuesArgs): HelmValues {
    const fullname = args.fullname ?? "vault";
    const server: Record<string, unknown> = {
        resources: containerResources("100m", "256Mi", "1Gi"),
        // The chart's own data-storage defaults; overridden per mode below.
        dataStorage: { enabled: args.mode.kind === "ha" },
    };
    if (args.mode.kind === "dev") {
        if (args.devRootTokenSecret === undefined) {
            throw new Error("vaultValues: dev mode needs devRootTokenSecret");
        }
        // The chart would put `devRootToken` in the pod spec in plain text; the
        // flag reads it from the Secret instead and takes precedence over it.
        server.dev = { enabled: true, devRootToken: "set-from-secret" };
        server.extraSecretEnvironmentVars = [{ envName: "PLATFORM_DEV_ROOT_TOKEN", secretName: args.devRootTokenSecret, secretKey: "token" }];
        server.extraArgs = "-dev-root-token-id=$PLATFORM_DEV_ROOT_TOKEN";
    } else {
        const replicas = args.mode.replicas ?? 3;
        server.ha = { enabled: true, replicas, raft: { enabled: true, setNodeId: true, config: haConfig(args.mode.seal, fullname) } };
        server.dataStorage = { enabled: true, size: args.mode.storageSize ?? "10Gi", storageClass: args.mode.storageClass };
        server.serviceAccount = { annotations: args.mode.serviceAccountAnnotations ?? {} };
        server.extraLabels = args.mode.podLabels ?? {};
        server.affinity = ""; // the chart's default anti-affinity is required; let the scheduler spread instead
        server.topologySpreadConstraints = [
            {
                maxSkew: 1,
                topologyKey: "topology.kubernetes.io/zone",
                whenUnsatisfiable: "ScheduleAnyway",
                labelSelector: { matchLabels: { "app.kubernetes.io/name": "vault", component: "server" } },
            },
        ];
    }
    return {
        fullnameOverride: fullname,
        global: { tlsDisable: true },
        // Services authenticate with the Kubernetes auth method directly; no agent injector webhook.
        injector: { enabled: false },
        // `server.annotations` are the pods' annotations in this chart.
        server: { ...server, annotations: { "sidecar.istio.io/inject": "true" } },
        ui: { enabled: true },
    };
}
