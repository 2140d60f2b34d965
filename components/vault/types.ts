/** How Vault runs: the modes and seals VaultServer and its chart values take. */
import * as pulumi from "@pulumi/pulumi";

/** Cloud KMS that unseals Vault automatically (no unseal keys held by people or CI). */
export type VaultSeal =
    | { type: "awskms"; region: string; kmsKeyId: pulumi.Input<string> }
    | { type: "azurekeyvault"; tenantId: pulumi.Input<string>; vaultName: pulumi.Input<string>; keyName: pulumi.Input<string> };

/** `dev`: one in-memory server with a generated root token (local and review templates only). `ha`: Raft cluster with KMS auto-unseal. */
export type VaultMode =
    | { kind: "dev" }
    | {
          kind: "ha";
          /** Raft voters. Default: 3. */
          replicas?: number;
          /** Auto-unseal key. */
          seal: VaultSeal;
          /** Raft volume per replica. Default: `10Gi`. */
          storageSize?: string;
          /** Storage class. Default: the cluster's default class. */
          storageClass?: string;
          /** Annotations for Vault's service account (workload identity / IRSA to reach the KMS). Default: none. */
          serviceAccountAnnotations?: Record<string, pulumi.Input<string>>;
          /** Extra labels on Vault's pods (e.g. `azure.workload.identity/use`). Default: none. */
          podLabels?: Record<string, string>;
      };
