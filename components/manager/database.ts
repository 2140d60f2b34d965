import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { VALUES_NOT_RENDERED_ANNOTATION } from "../shared/generated-secret";
import { secretCopyName, secretCopyObjects } from "../shared/secret-copy";

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
 * (`InClusterPostgres.applicationDatabase(name)` fits), whose role and
 * database the server creates, with the password in a basic-auth Secret of
 * the server's namespace.
 */
export interface ManagerDatabaseServer {
    /** The server's namespace, where `passwordSecret` lives (egress to it only). */
    namespace: string;
    host: string;
    port: number;
    database: string;
    username: string;
    /** basic-auth Secret (key `password`) in `namespace`. */
    passwordSecret: string;
    /** Secret output; written only to the manager's own Secret (apply mode), never rendered. */
    password: pulumi.Output<string>;
    /** TLS required (`sslmode=require`). */
    requireTls: boolean;
}

/** The manager's Postgres: a provided URL, or an in-cluster server's application database. */
export type ManagerDatabase = ManagerDatabaseUrl | { server: ManagerDatabaseServer };

/** The manager's own Secret of a derived database: key `url` (no password, not secret) and key `password`. */
export const MANAGER_DATABASE_SECRET = "platform-manager-database";

/** What the Deployment mounts and passes: the Secret, its keys, the flags, and what must exist first. */
export interface ManagerDatabaseFiles {
    secretName: string;
    keys: string[];
    args: string[];
    deps: pulumi.Resource[];
}

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
 * own), and a pod mounts only Secrets of its own: the manager gets a Secret of
 * its own with the password-less URL (`url`) and the password (`password`),
 * passed as `--database-url-file` and `--database-password-file`. One value,
 * generated once by the server: applying, the program writes it (it knows the
 * value, a secret output); rendering, the tree holds no credential and the
 * value is only generated in the cluster, so a Job copies it there
 * (components/shared/secret-copy.ts). A second GeneratedSecret would make a
 * second, different password.
 */
export function databaseFromServer(
    name: string,
    server: ManagerDatabaseServer,
    o: { namespace: string; rendered: boolean; labels: Record<string, string>; provider: k8s.Provider; dir: string },
    opts: pulumi.CustomResourceOptions,
): ManagerDatabaseFiles {
    const url = passwordlessUrl(server);
    const secret = new k8s.core.v1.Secret(
        `${name}-database`,
        {
            metadata: {
                name: MANAGER_DATABASE_SECRET,
                namespace: o.namespace,
                labels: o.labels,
                ...(o.rendered
                    ? { annotations: { [VALUES_NOT_RENDERED_ANNOTATION]: `not rendered: key password copied in the cluster from ${server.namespace}/${server.passwordSecret} by the Job ${secretCopyName(MANAGER_DATABASE_SECRET)}` } }
                    : {}),
            },
            type: "Opaque",
            stringData: o.rendered ? { url } : pulumi.secret(pulumi.output(server.password).apply((password) => ({ url, password }))),
        },
        { ...opts, provider: o.provider, additionalSecretOutputs: ["stringData", "data"] },
    );
    const deps: pulumi.Resource[] = [secret];
    if (o.rendered) {
        deps.push(
            secretCopyObjects(
                `${name}-database`,
                {
                    from: { namespace: server.namespace, secretName: server.passwordSecret, key: "password" },
                    to: { namespace: o.namespace, secretName: MANAGER_DATABASE_SECRET, key: "password" },
                    labels: o.labels,
                    provider: o.provider,
                },
                { parent: opts.parent, dependsOn: [secret] },
            ),
        );
    }
    return {
        secretName: MANAGER_DATABASE_SECRET,
        keys: ["url", "password"],
        args: ["--database-url-file", `${o.dir}/url`, "--database-password-file", `${o.dir}/password`],
        deps,
    };
}
