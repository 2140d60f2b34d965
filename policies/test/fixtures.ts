// Compliant fixtures; tests break one field at a time.
import { REQUIRED_KUBERNETES_LABELS } from "../rules/kubernetes-standard-labels";

export const compliantLabels = (): Record<string, string> =>
    Object.fromEntries(REQUIRED_KUBERNETES_LABELS.map((k) => [k, "x"]));

export function compliantDeployment() {
    return {
        metadata: { name: "api", labels: compliantLabels() },
        spec: {
            template: {
                spec: {
                    initContainers: [
                        {
                            name: "migrate",
                            image: "registry.example.com/api-migrate:1.4.2",
                            resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { cpu: "100m", memory: "64Mi" } },
                        },
                    ],
                    containers: [
                        {
                            name: "api",
                            image: "registry.example.com:5000/team/api@sha256:" + "a".repeat(64),
                            resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "1", memory: "256Mi" } },
                        },
                    ],
                },
            },
        },
    };
}

/** The five required tags of a taggable cloud resource, all well-formed. */
export const compliantTags = (): Record<string, string> => ({
    owner: "platform-team@example.com",
    environment: "prod",
    "cost-center": "PLT-1234",
    "managed-by": "pulumi",
    repository: "github.com/example/platform",
});

/** An RDS instance as components/postgres/aws.ts registers it: private, encrypted, backed up. */
export function compliantRdsInstance() {
    return {
        engine: "postgres",
        instanceClass: "db.t4g.medium",
        publiclyAccessible: false,
        storageEncrypted: true,
        backupRetentionPeriod: 7,
        tags: compliantTags(),
    };
}

/** An Azure Flexible Server as components/postgres/azure.ts registers it. */
export function compliantAzurePostgresServer() {
    return {
        version: "16",
        network: { publicNetworkAccess: "Disabled" },
        backup: { backupRetentionDays: 7, geoRedundantBackup: "Disabled" },
        tags: compliantTags(),
    };
}

/** A CloudNativePG cluster archiving to object storage through the Barman Cloud plugin. */
export function compliantCnpgCluster() {
    return {
        apiVersion: "postgresql.cnpg.io/v1",
        kind: "Cluster",
        metadata: { name: "app-db", labels: compliantLabels() },
        spec: {
            instances: 3,
            plugins: [{ name: "barman-cloud.cloudnative-pg.io", isWALArchiver: true, parameters: { barmanObjectName: "app-db" } }] as {
                name?: string;
                isWALArchiver?: boolean;
                parameters?: Record<string, string>;
            }[],
        },
    };
}

/** The mesh-wide PeerAuthentication components/mesh/mesh.ts registers. */
export function compliantPeerAuthentication() {
    return {
        apiVersion: "security.istio.io/v1",
        kind: "PeerAuthentication",
        metadata: { name: "default", namespace: "istio-system", labels: compliantLabels() },
        spec: { mtls: { mode: "STRICT" } } as {
            selector?: { matchLabels: Record<string, string> };
            mtls?: { mode?: string };
            portLevelMtls?: Record<string, { mode?: string }>;
        },
    };
}

/** Vault's chart in HA mode (Raft, auto-unseal), as components/vault registers it outside local. */
export function compliantVaultChart() {
    return {
        name: "vault",
        chart: "vault",
        version: "0.34.1",
        repositoryOpts: { repo: "https://helm.releases.hashicorp.com" },
        namespace: "vault",
        values: { server: { ha: { enabled: true, raft: { enabled: true } } } } as {
            server: { ha?: { enabled: boolean; raft?: { enabled: boolean } }; dev?: { enabled: boolean } };
        },
    };
}
