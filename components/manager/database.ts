import * as pulumi from "@pulumi/pulumi";

import type { ApplicationDatabaseConnection } from "../postgres/app-databases";
import { copiedCredential, CopiedCredentialTarget, ManagerDatabaseFiles } from "./copied-credential";

export type { ManagerDatabaseFiles } from "./copied-credential";

/** A key of a Secret in the manager's namespace. */
export interface SecretKeyRef {
    name: string;
    /** Default: `url`. */
    key?: string;
}

/**
 * The manager's Postgres, provided: a Secret in its namespace holding its own
 * URL (`postgres://user:password@host:5432/db`). For a managed server, whose
 * roles the platform does not create.
 */
export interface ManagerDatabaseUrl {
    urlSecret: SecretKeyRef;
    /** Namespace of an in-cluster server (egress 5432 to it only). Default: none, a managed server outside the cluster (5432 anywhere). */
    serverNamespace?: string;
}

/**
 * The manager's Postgres, derived: an in-cluster server's application database
 * (`InClusterPostgres.applicationDatabase(name)`), whose role and database
 * the server creates, with the password in a basic-auth Secret of the
 * server's namespace. The manager's egress to Postgres goes to `namespace`
 * only; `password` is written only to the manager's own Secret (apply mode),
 * never rendered.
 */
export type ManagerDatabaseServer = ApplicationDatabaseConnection;

/** The manager's Postgres: a provided URL, or an in-cluster server's application database. */
export type ManagerDatabase = ManagerDatabaseUrl | { server: ManagerDatabaseServer };

/** The manager's own Secret of a derived database: key `url` (no password, not secret) and key `password`. */
export const MANAGER_DATABASE_SECRET = "platform-manager-database";

/**
 * The server's URL without the password. `uselibpqcompat=true` gives
 * `sslmode=require` libpq's meaning (encrypted, certificate not verified):
 * node-postgres would otherwise verify it, and the operator's CA is in the
 * server's namespace only.
 */
export function passwordlessUrl(s: Pick<ManagerDatabaseServer, "host" | "port" | "database" | "username" | "requireTls">): string {
    const tls = s.requireTls ? "?sslmode=require&uselibpqcompat=true" : "";
    return `postgres://${encodeURIComponent(s.username)}@${s.host}:${s.port}/${encodeURIComponent(s.database)}${tls}`;
}

/** A provided URL Secret: mounted as it is. */
export function databaseFromUrlSecret(ref: SecretKeyRef, dir: string): ManagerDatabaseFiles {
    const key = ref.key ?? "url";
    return { secretName: ref.name, keys: [key], args: ["--database-url-file", `${dir}/${key}`], deps: [] };
}

/**
 * An in-cluster server's database. The role's password Secret is in the
 * server's namespace (CloudNativePG reads `passwordSecret` from the Cluster's
 * own); the manager gets its own copy (copied-credential.ts), passed as
 * `--database-url-file` and `--database-password-file`. One value, generated
 * once by the server: a second GeneratedSecret would make a second, different
 * password.
 */
export function databaseFromServer(
    name: string,
    server: ManagerDatabaseServer,
    o: CopiedCredentialTarget,
    opts: pulumi.CustomResourceOptions,
): ManagerDatabaseFiles {
    return copiedCredential(
        {
            resourceName: `${name}-database`,
            secretName: MANAGER_DATABASE_SECRET,
            url: passwordlessUrl(server),
            from: { namespace: server.namespace, secretName: server.passwordSecret },
            password: server.password,
            flagPrefix: "--database",
        },
        o,
        opts,
    );
}
