import * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";

import { settled, setupComponent } from "../../test/helpers/component";
import { isSecretInput, MockSession, settle, unwrapSecret } from "../../test/helpers/mocks";

const T = {
    provider: "pulumi:providers:vault",
    mount: "vault:index/mount:Mount",
    auth: "vault:index/authBackend:AuthBackend",
    authConfig: "vault:kubernetes/authBackendConfig:AuthBackendConfig",
    role: "vault:kubernetes/authBackendRole:AuthBackendRole",
    policy: "vault:index/policy:Policy",
    connection: "vault:database/secretBackendConnection:SecretBackendConnection",
    dbRole: "vault:database/secretBackendRole:SecretBackendRole",
    kv: "vault:kv/secretV2:SecretV2",
};

let session: MockSession;
let mod: typeof import("./configuration");

beforeAll(async () => {
    ({ session, mod } = await setupComponent(() => import("./configuration")));
});
beforeEach(() => session.reset());

type Args = import("./configuration").VaultConfigurationArgs;
type Service = import("./configuration").VaultService;

/** A stand-in for any PostgresServer implementation. */
function fakePostgres(requireTls = true): import("../postgres/types").PostgresServer {
    return {
        host: pulumi.output("db.internal"),
        port: pulumi.output(6432),
        databaseName: pulumi.output("appdb"),
        adminUsername: pulumi.output("admin"),
        adminPassword: pulumi.secret("s3cret-admin"),
        requireTls,
        records: [],
    };
}
const orders: Service = { name: "orders", namespace: "shop", database: true };
const web: Service = { name: "web", namespace: "frontend", serviceAccount: "web-sa" };
const args = (extra: Partial<Args> = {}): Args => ({ address: "http://vault.vault:8200", token: "root-token", services: [web], ...extra });
const build = (name: string, extra: Partial<Args> = {}) => settled(session, () => new mod.VaultConfiguration(name, args(extra)));

describe("validateVaultConfigurationArgs", () => {
    const cases: [string, Partial<Args>, RegExp][] = [
        ["a duplicate service", { services: [web, { ...web }] }, /services\[\]\.name "web" appears twice/],
        ["a service name that is not lower-case", { services: [{ name: "Web_App", namespace: "x" }] }, /services\[\]\.name "Web_App"; allowed: lower-case letters/],
        ["database credentials without postgres", { services: [orders] }, /service "orders" asks for database credentials but postgres is not set/],
        ["a TTL below 5 minutes", { databaseCredentialTtlSeconds: 60 }, /databaseCredentialTtlSeconds is 60; allowed: an integer from 300 to 86400/],
        ["a TTL above a day", { databaseCredentialTtlSeconds: 86_401 }, /databaseCredentialTtlSeconds is 86401/],
        ["a fractional TTL", { databaseCredentialTtlSeconds: 900.5 }, /databaseCredentialTtlSeconds is 900\.5/],
        ["a static secret path with capitals", { staticSecrets: [{ path: "RabbitMQ/admin", data: {} }] }, /staticSecrets\[\]\.path "RabbitMQ\/admin"; allowed: unique lower-case paths/],
        ["two static secrets at one path", { staticSecrets: [{ path: "a/b", data: {} }, { path: "a/b", data: {} }] }, /staticSecrets\[\]\.path "a\/b"/],
    ];
    it.each(cases)("refuses %s, naming the setting", (_, extra, message) => {
        expect(() => mod.validateVaultConfigurationArgs("vc", args(extra))).toThrow(message);
        expect(() => new mod.VaultConfiguration("vc", args(extra))).toThrow(message);
    });

    it("accepts a valid configuration", () => {
        expect(() =>
            mod.validateVaultConfigurationArgs("vc", args({ services: [web, orders], postgres: fakePostgres(), databaseCredentialTtlSeconds: 300 })),
        ).not.toThrow();
    });
});

describe("servicePolicy", () => {
    it("grants read on the service's own KV paths only", () => {
        const hcl = mod.servicePolicy(web, "platform");
        const paths = [...hcl.matchAll(/path "([^"]+)" \{\s*capabilities = \[([^\]]*)\]/g)].map((m) => [m[1], m[2]]);
        expect(paths).toEqual([
            ["platform/data/web/*", `"read"`],
            ["platform/metadata/web/*", `"list", "read"`],
        ]);
        expect(hcl).not.toMatch(/create|update|delete|sudo/);
    });

    it("adds the database creds path only for database services", () => {
        expect(mod.servicePolicy(orders, "kv")).toContain(`path "database/creds/orders" {\n  capabilities = ["read"]\n}`);
        expect(mod.servicePolicy(orders, "kv")).toContain(`path "kv/data/orders/*"`);
        expect(mod.servicePolicy(web, "kv")).not.toContain("database/");
    });
});

describe("VaultConfiguration", () => {
    it("configures the provider with the token as a secret", async () => {
        await build("vc");
        const provider = session.get(T.provider, "vc-provider").inputs;
        expect(provider.address).toBe("http://vault.vault:8200");
        expect(isSecretInput(provider.token)).toBe(true);
        expect(unwrapSecret(provider.token)).toBe("root-token");
        const children = session.resources.filter((r) => r.type.startsWith("vault:"));
        expect(children.length).toBeGreaterThan(0);
        expect(children.every((r) => r.provider?.endsWith("::vc-provider::vc-provider-id"))).toBe(true);
    });

    it("mounts KV v2 and the Kubernetes auth method with its config", async () => {
        const vc = await build("vc", { kvMount: "secrets" });
        expect(vc.kvMount).toBe("secrets");
        expect(session.get(T.mount, "vc-kv").inputs).toMatchObject({ path: "secrets", type: "kv", options: { version: "2" } });
        expect(session.get(T.auth, "vc-kubernetes-auth").inputs).toMatchObject({ type: "kubernetes", path: "kubernetes" });
        expect(session.get(T.authConfig, "vc-kubernetes-auth-config").inputs).toMatchObject({
            backend: "kubernetes",
            kubernetesHost: "https://kubernetes.default.svc",
        });
        expect(session.get(T.policy, "vc-policy-web").inputs.policy).toContain(`path "secrets/data/web/*"`);
    });

    it("creates one policy and one role per service, bound to its namespace and service account", async () => {
        await build("vc", { services: [web, orders], postgres: fakePostgres() });
        expect(session.ofType(T.policy).map((r) => r.name).sort()).toEqual(["vc-policy-orders", "vc-policy-web"]);
        expect(session.ofType(T.role).map((r) => r.name).sort()).toEqual(["vc-role-orders", "vc-role-web"]);
        expect(session.get(T.policy, "vc-policy-orders").inputs).toEqual({ name: "orders", policy: mod.servicePolicy(orders, "platform") });
        expect(session.get(T.role, "vc-role-web").inputs).toMatchObject({
            backend: "kubernetes",
            roleName: "web",
            boundServiceAccountNames: ["web-sa"],
            boundServiceAccountNamespaces: ["frontend"],
            tokenPolicies: ["web"],
        });
        expect(session.get(T.role, "vc-role-orders").inputs).toMatchObject({
            boundServiceAccountNames: ["orders"],
            boundServiceAccountNamespaces: ["shop"],
            tokenPolicies: ["orders"],
        });
    });

    it("has no database engine without postgres", async () => {
        await build("vc");
        expect(session.ofType(T.mount).map((r) => r.name)).toEqual(["vc-kv"]);
        expect(session.ofType(T.connection)).toEqual([]);
        expect(session.ofType(T.dbRole)).toEqual([]);
    });

    it("connects the database engine to postgres over TLS with the admin password as a secret", async () => {
        await build("vc", { services: [web, orders], postgres: fakePostgres() });
        expect(session.get(T.mount, "vc-database").inputs).toMatchObject({ path: "database", type: "database" });
        const connection = session.get(T.connection, "vc-postgres").inputs;
        expect(connection).toMatchObject({ backend: "database", name: "postgres", allowedRoles: ["orders"] });
        expect(isSecretInput(connection.postgresql)).toBe(true);
        expect(unwrapSecret(connection.postgresql)).toEqual({
            connectionUrl: "postgresql://{{username}}:{{password}}@db.internal:6432/appdb?sslmode=require",
            username: "admin",
            password: "s3cret-admin",
        });
    });

    it("does not require TLS when the server does not", async () => {
        await build("vc", { postgres: fakePostgres(false) });
        const pg = unwrapSecret<{ connectionUrl: string }>(session.get(T.connection, "vc-postgres").inputs.postgresql);
        expect(pg.connectionUrl).toMatch(/\?sslmode=prefer$/);
    });

    it("issues credentials for each database service with the TTL, using only placeholders Vault fills", async () => {
        const db2: Service = { name: "billing", namespace: "shop", database: true };
        await build("vc", { services: [web, orders, db2], postgres: fakePostgres(), databaseCredentialTtlSeconds: 900 });
        expect(session.ofType(T.dbRole).map((r) => r.name).sort()).toEqual(["vc-db-role-billing", "vc-db-role-orders"]);
        const role = session.get(T.dbRole, "vc-db-role-orders").inputs as {
            name: string;
            dbName: string;
            defaultTtl: number;
            maxTtl: number;
            creationStatements: string[];
            revocationStatements: string[];
        };
        expect(role).toMatchObject({ backend: "database", name: "orders", dbName: "postgres", defaultTtl: 900, maxTtl: 3600 });
        const statements = [...role.creationStatements, ...role.revocationStatements].join("\n");
        // Vault's postgres plugin substitutes only these; anything else reaches Postgres verbatim.
        for (const [placeholder] of statements.matchAll(/\{\{[^}]*\}\}/g)) {
            expect(["{{name}}", "{{username}}", "{{password}}", "{{expiration}}"]).toContain(placeholder);
        }
        expect(role.creationStatements).toContain(`GRANT CONNECT ON DATABASE "appdb" TO "{{name}}";`);
        expect(role.revocationStatements.at(-1)).toBe(`DROP ROLE IF EXISTS "{{name}}";`);
        expect(role.revocationStatements).toContain(`REVOKE ALL ON DATABASE "appdb" FROM "{{name}}";`);
    });

    it("defaults the TTL to an hour and caps the max TTL at a day", async () => {
        new mod.VaultConfiguration("one", args({ services: [orders], postgres: fakePostgres() }));
        new mod.VaultConfiguration("two", args({ services: [orders], postgres: fakePostgres(), databaseCredentialTtlSeconds: 43_200 }));
        await settle(session);
        expect(session.get(T.dbRole, "one-db-role-orders").inputs).toMatchObject({ defaultTtl: 3600, maxTtl: 14_400 });
        expect(session.get(T.dbRole, "two-db-role-orders").inputs).toMatchObject({ defaultTtl: 43_200, maxTtl: 86_400 });
    });

    it("writes static secrets to the KV mount as secret JSON", async () => {
        await build("vc", { staticSecrets: [{ path: "rabbitmq/admin", data: { username: "admin", password: pulumi.secret("mq-pass") } }] });
        const secret = session.get(T.kv, "vc-kv-rabbitmq--admin").inputs;
        expect(secret).toMatchObject({ mount: "platform", name: "rabbitmq/admin" });
        expect(isSecretInput(secret.dataJson)).toBe(true);
        expect(JSON.parse(unwrapSecret<string>(secret.dataJson))).toEqual({ username: "admin", password: "mq-pass" });
    });

    it("marks static secret data secret even when given in plain text", async () => {
        await build("vc", { staticSecrets: [{ path: "plain", data: { key: "value" } }] });
        expect(isSecretInput(session.get(T.kv, "vc-kv-plain").inputs.dataJson)).toBe(true);
    });
});
