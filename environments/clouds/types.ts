import { Cluster } from "../../components/cluster/types";
import { PostgresServer } from "../../components/postgres/types";
import { RecordSource } from "../../components/shared/records";
import { StandardTags } from "../../components/shared/tags";
import { VaultMode } from "../../components/vault/server";
import { CloudEnvironmentConfig } from "../config";
import { EnvironmentProfile } from "../profiles";

/** What a cloud gives a long-lived environment before the platform services go on it. */
export interface CloudFoundation {
    cluster: Cluster & RecordSource;
    postgres: PostgresServer;
    /** Vault in HA mode, unsealed by this cloud's KMS through workload identity. */
    vault: VaultMode;
    /** Records of cloud resources beyond the cluster and the database (e.g. the unseal key). */
    extraRecords: RecordSource["records"];
}

export type CloudFoundationBuilder = (config: CloudEnvironmentConfig, profile: EnvironmentProfile, tags: StandardTags) => CloudFoundation;

/** Vault's Kubernetes identity, which the cloud trusts to use the unseal key. */
export const VAULT_SERVICE_ACCOUNT = { namespace: "vault", name: "vault" } as const;

/** The record of the key Vault unseals with (a cloud resource outside the cluster). */
export function unsealKeyRecord(template: string): RecordSource["records"][number] {
    return { id: "vault/unseal-key", template, count: 1, status: "deployed", entrypoints: [], statusEndpoints: [], dependsOn: [] };
}
