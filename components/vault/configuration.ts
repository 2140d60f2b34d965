import * as pulumi from "@pulumi/pulumi";
import { AuthBackend } from "@pulumi/vault/authBackend";
import { SecretBackendConnection } from "@pulumi/vault/database/secretBackendConnection";
import { SecretBackendRole } from "@pulumi/vault/database/secretBackendRole";
import { AuthBackendConfig } from "@pulumi/vault/kubernetes/authBackendConfig";
import { AuthBackendRole } from "@pulumi/vault/kubernetes/authBackendRole";
import { SecretV2 } from "@pulumi/vault/kv/secretV2";
import { Mount } from "@pulumi/vault/mount";
import { Policy } from "@pulumi/vault/policy";
import { Provider } from "@pulumi/vault/provider";

import { PostgresServer } from "../postgres/types";
import { ComponentType, RECORD_IDS, RecordSource, ResourceRecord, resourceRecord } from "../shared/records";

/** A platform service that reads secrets from Vault. */
export interface VaultService {
    /** Service name; its secrets live under `<kvMount>/<name>/`. */
    name: string;
    /** Namespace of its service account. */
    namespace: string;
    /** Service account it logs in with. Default: the service name. */
    serviceAccount?: string;
    /** Whether it gets Postgres credentials from the database engine. Default: false. */
    database?: boolean;
}

export interface VaultConfigurationArgs {
    /** Vault's API address, reachable from where `pulumi up` runs. */
    address: pulumi.Input<string>;
    /** A token allowed to configure Vault (the dev root token, or an admin token from CI). Secret. */
    token: pulumi.Input<string>;
    /** Services with a Kubernetes auth role and a policy each. */
    services: VaultService[];
    /** KV v2 mount path. Default: `platform`. */
    kvMount?: string;
    /** Postgres server the database engine issues credentials for. Default: no database engine. */
    postgres?: PostgresServer;
    /** Static secrets written to KV (e.g. RabbitMQ credentials), by path under the mount. Default: none. */
    staticSecrets?: { path: string; data: pulumi.Input<Record<string, pulumi.Input<string>>> }[];
    /** Lifetime of issued database credentials. Default: 1 hour (max 24 hours). */
    databaseCredentialTtlSeconds?: number;
}

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Throws a message naming the setting and what is allowed. */
export function validateVaultConfigurationArgs(name: string, args: VaultConfigurationArgs): void {
    const c = `vault configuration "${name}"`;
    const seen = new Set<string>();
    for (const s of args.services) {
        if (!NAME.test(s.name)) {
            throw new Error(`${c}: services[].name "${s.name}"; allowed: lower-case letters, digits and '-'`);
        }
        if (seen.has(s.name)) {
            throw new Error(`${c}: services[].name "${s.name}" appears twice; names must be unique`);
        }
        seen.add(s.name);
        if (s.database && !args.postgres) {
            throw new Error(`${c}: service "${s.name}" asks for database credentials but postgres is not set`);
        }
    }
    const paths = new Set<string>();
    for (const secret of args.staticSecrets ?? []) {
        if (!/^[a-z0-9][a-z0-9-]*(\/[a-z0-9][a-z0-9-]*)*$/.test(secret.path) || paths.has(secret.path)) {
            throw new Error(
                `${c}: staticSecrets[].path "${secret.path}"; allowed: unique lower-case paths of letters, digits and '-' separated by '/'`,
            );
        }
        paths.add(secret.path);
    }
    const ttl = args.databaseCredentialTtlSeconds;
    if (ttl !== undefined && (!Number.isInteger(ttl) || ttl < 300 || ttl > 86_400)) {
        throw new Error(`${c}: databaseCredentialTtlSeconds is ${ttl}; allowed: an integer from 300 to 86400`);
    }
}

/** The HCL policy of one service: read its own KV path, and its database role if it has one. */
export function servicePolicy(service: VaultService, kvMount: string): string {
    const lines = [
        `path "${kvMount}/data/${service.name}/*" {\n  capabilities = ["read"]\n}`,
        `path "${kvMount}/metadata/${service.name}/*" {\n  capabilities = ["list", "read"]\n}`,
    ];
    if (service.database) {
        lines.push(`path "database/creds/${service.name}" {\n  capabilities = ["read"]\n}`);
    }
    return lines.join("\n");
}

const TYPE: ComponentType = "platform:vault:VaultConfiguration";

/**
 * Configures a running Vault through its API: a KV v2 mount, the Kubernetes
 * auth method (Vault reviews service-account tokens with the cluster it runs
 * in), one policy and role per service, and the database engine issuing
 * short-lived Postgres credentials.
 */
export class VaultConfiguration extends pulumi.ComponentResource implements RecordSource {
    public readonly kvMount: string;
    public readonly records: ResourceRecord[];

    constructor(name: string, args: VaultConfigurationArgs, opts?: pulumi.ComponentResourceOptions) {
        validateVaultConfigurationArgs(name, args);
        super(TYPE, name, {}, opts);
        this.kvMount = args.kvMount ?? "platform";
        const provider = new Provider(`${name}-provider`, { address: args.address, token: pulumi.secret(args.token) }, { parent: this });
        const o = { parent: this, provider };

        const kv = new Mount(`${name}-kv`, { path: this.kvMount, type: "kv", options: { version: "2" }, description: "Platform secrets (KV v2)" }, o);
        const kubernetesAuth = new AuthBackend(`${name}-kubernetes-auth`, { type: "kubernetes", path: "kubernetes" }, o);
        // Vault runs in the cluster: it uses its own service account and CA to review tokens.
        new AuthBackendConfig(
            `${name}-kubernetes-auth-config`,
            { backend: kubernetesAuth.path, kubernetesHost: "https://kubernetes.default.svc", disableLocalCaJwt: false },
            o,
        );

        let databaseMount: Mount | undefined;
        if (args.postgres) {
            const pg = args.postgres;
            databaseMount = new Mount(`${name}-database`, { path: "database", type: "database" }, o);
            const ttl = args.databaseCredentialTtlSeconds ?? 3600;
            const roles = args.services.filter((s) => s.database).map((s) => s.name);
            const connection = new SecretBackendConnection(
                `${name}-postgres`,
                {
                    backend: databaseMount.path,
                    name: "postgres",
                    allowedRoles: roles,
                    postgresql: {
                        connectionUrl: pulumi.interpolate`postgresql://{{username}}:{{password}}@${pg.host}:${pg.port}/${pg.databaseName}?sslmode=${pg.requireTls ? "require" : "prefer"}`,
                        username: pg.adminUsername,
                        password: pg.adminPassword,
                    },
                    verifyConnection: true,
                },
                o,
            );
            for (const role of roles) {
                new SecretBackendRole(
                    `${name}-db-role-${role}`,
                    {
                        backend: databaseMount.path,
                        name: role,
                        dbName: connection.name,
                        defaultTtl: ttl,
                        maxTtl: Math.min(ttl * 4, 86_400),
                        creationStatements: [
                            `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`,
                            // Vault's postgres plugin only fills {{name}}, {{username}}, {{password}} and {{expiration}}.
                            pulumi.interpolate`GRANT CONNECT ON DATABASE "${pg.databaseName}" TO "{{name}}";`,
                            `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{{name}}";`,
                        ],
                        // DROP ROLE fails while the role still holds a privilege on the database.
                        revocationStatements: [
                            `REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "{{name}}";`,
                            pulumi.interpolate`REVOKE ALL ON DATABASE "${pg.databaseName}" FROM "{{name}}";`,
                            `DROP ROLE IF EXISTS "{{name}}";`,
                        ],
                    },
                    o,
                );
            }
        }

        for (const service of args.services) {
            const policy = new Policy(`${name}-policy-${service.name}`, { name: service.name, policy: servicePolicy(service, this.kvMount) }, { ...o, dependsOn: [kv] });
            new AuthBackendRole(
                `${name}-role-${service.name}`,
                {
                    backend: kubernetesAuth.path,
                    roleName: service.name,
                    boundServiceAccountNames: [service.serviceAccount ?? service.name],
                    boundServiceAccountNamespaces: [service.namespace],
                    tokenPolicies: [policy.name],
                    tokenTtl: 3600,
                    audience: "vault",
                },
                o,
            );
        }

        for (const secret of args.staticSecrets ?? []) {
            new SecretV2(
                `${name}-kv-${secret.path.replace(/\//g, "--")}`,
                { mount: kv.path, name: secret.path, dataJson: pulumi.secret(pulumi.output(secret.data).apply((d) => JSON.stringify(d))) },
                o,
            );
        }

        this.records = [
            resourceRecord(TYPE, {
                id: "vault/configuration",
                count: args.services.length,
                status: "deployed",
                entrypoints: [],
                statusEndpoints: [],
                dependsOn: args.postgres ? [RECORD_IDS.vault, RECORD_IDS.postgres] : [RECORD_IDS.vault],
            }),
        ];
        this.registerOutputs({ kvMount: this.kvMount });
    }
}
