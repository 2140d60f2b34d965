import * as pulumi from "@pulumi/pulumi";

/**
 * Application databases of an InClusterPostgres: for each, a login role in the
 * Cluster's `spec.managed.roles` (password from a generated basic-auth Secret)
 * and a CloudNativePG `Database` it owns. Field names are the CRDs' of
 * cloudnative-pg chart 0.29.0 (`postgresql.cnpg.io/v1`): `Cluster.spec.managed.roles[]`
 * (RoleConfiguration) and `Database.spec` (required: cluster, name, owner).
 */

/** An application database and the login role that owns it. */
export interface ApplicationDatabase {
    /** Database name in Postgres: lower-case letters, digits and '_', a letter first and a letter or digit last, at most 30 characters; not `postgres`, `template0`, `template1` or the bootstrap `databaseName`. */
    name: string;
    /** Login role that owns it (same rules; not `postgres`, `streaming_replica`, `pg_*` or the bootstrap owner). Several databases may share one. */
    owner: string;
    /** Namespace of the service that connects: it may reach 5432 (added to `clientNamespaces`). Default: none. */
    namespace?: string;
}

/** Where a service connects to its application database: everything but the password is plain. */
export interface ApplicationDatabaseConnection {
    /** The Postgres namespace, where `passwordSecret` lives. */
    namespace: string;
    /** The `-rw` service (always the primary). */
    host: string;
    port: number;
    database: string;
    username: string;
    /** basic-auth Secret (`username`, `password`) in `namespace`, the one the role's `passwordSecret` names. */
    passwordSecret: string;
    /** The password, a secret output (apply mode: the stored value; render mode: generated in the cluster, see GeneratedSecret). */
    password: pulumi.Output<string>;
    /** Connections must use TLS (the operator's own CA). */
    requireTls: boolean;
}

/**
 * Names and owners become Kubernetes names with '_' replaced by '-' (the
 * role's Secret `<cluster>-role-<owner>`, the `Database` `<cluster>-db-<name>`,
 * see roleSecretName and databaseResourceName), which must end with a letter
 * or digit: so a lower-case letter first and a letter or digit last. At most
 * 30 characters: the Secret's render-mode generator Job is `<secret>-generator`,
 * a label value (63 at most).
 */
const IDENTIFIER = /^[a-z](?:[a-z0-9_]{0,28}[a-z0-9])?$/;
const IDENTIFIER_ALLOWED = "lower-case letters, digits and '_', starting with a lower-case letter and ending with a letter or digit, at most 30 characters";
/** Databases the server has already (the CRD refuses the first three). */
const RESERVED_DATABASES = ["postgres", "template0", "template1"];
/** Roles the operator manages itself. */
const RESERVED_ROLES = ["postgres", "streaming_replica"];

/** Throws a message naming the setting and what is allowed. `bootstrap` is the initdb database (and owner). */
export function validateApplicationDatabases(component: string, databases: ApplicationDatabase[] | undefined, bootstrap: string): void {
    const seen = new Set<string>();
    for (const [i, db] of (databases ?? []).entries()) {
        const at = `applicationDatabases[${i}]`;
        if (!IDENTIFIER.test(db.name)) {
            throw new Error(`${component}: ${at}.name is "${db.name}"; allowed: ${IDENTIFIER_ALLOWED}`);
        }
        if ([...RESERVED_DATABASES, bootstrap].includes(db.name)) {
            throw new Error(`${component}: ${at}.name is "${db.name}", which the server has already; allowed: any other name (not ${[...RESERVED_DATABASES, bootstrap].join(", ")})`);
        }
        if (seen.has(db.name)) {
            throw new Error(`${component}: ${at}.name "${db.name}" is declared twice; allowed: each database once`);
        }
        seen.add(db.name);
        if (!IDENTIFIER.test(db.owner)) {
            throw new Error(`${component}: ${at}.owner is "${db.owner}"; allowed: ${IDENTIFIER_ALLOWED}`);
        }
        if ([...RESERVED_ROLES, bootstrap].includes(db.owner) || db.owner.startsWith("pg_")) {
            throw new Error(`${component}: ${at}.owner is "${db.owner}", a role the operator manages; allowed: a role of the service's own (not ${[...RESERVED_ROLES, bootstrap].join(", ")} or pg_*)`);
        }
        if (db.namespace !== undefined && !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(db.namespace)) {
            throw new Error(`${component}: ${at}.namespace is "${db.namespace}"; allowed: a namespace name (DNS label)`);
        }
    }
}

/** The Kubernetes name of an owner's basic-auth Secret ('_' is not allowed in names). */
export function roleSecretName(clusterName: string, owner: string): string {
    return `${clusterName}-role-${owner.replace(/_/g, "-")}`;
}

/** The Kubernetes name of a database's `Database` resource. */
export function databaseResourceName(clusterName: string, database: string): string {
    return `${clusterName}-db-${database.replace(/_/g, "-")}`;
}

/** The owners, each once, in order of first use. */
export function applicationRoles(databases: ApplicationDatabase[] | undefined): string[] {
    return [...new Set((databases ?? []).map((d) => d.owner))];
}

/** One entry of `Cluster.spec.managed.roles`: a login role with no privilege beyond its own objects. */
export function managedRole(clusterName: string, owner: string): Record<string, unknown> {
    return {
        name: owner,
        ensure: "present",
        comment: "application role (platform InClusterPostgres applicationDatabases)",
        login: true,
        superuser: false,
        createdb: false,
        createrole: false,
        replication: false,
        bypassrls: false,
        passwordSecret: { name: roleSecretName(clusterName, owner) },
    };
}

/** `Database.spec`: kept in Postgres when the resource goes (`retain`). */
export function databaseSpec(clusterName: string, db: ApplicationDatabase): Record<string, unknown> {
    return { cluster: { name: clusterName }, name: db.name, owner: db.owner, ensure: "present", databaseReclaimPolicy: "retain" };
}
