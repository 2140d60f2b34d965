import { beforeAll, beforeEach, describe, expect, it } from "vitest";

import { appliedCluster, captureProtect, expectUniqueKeys, K8S, settled, setupRenderedComponent, TEST_TAGS as tags } from "../../test/helpers/component";
import { crdSchemaOf, schemaProblems } from "../../test/helpers/crd-validate";
import { isSecret, isSecretInput, MockSession, settle, unwrapSecret, valueOf } from "../../test/helpers/mocks";

const T = {
    ...K8S,
    cluster: "kubernetes:postgresql.cnpg.io/v1:Cluster",
    objectStore: "kubernetes:barmancloud.cnpg.io/v1:ObjectStore",
    scheduledBackup: "kubernetes:postgresql.cnpg.io/v1:ScheduledBackup",
    database: "kubernetes:postgresql.cnpg.io/v1:Database",
    podMonitor: "kubernetes:monitoring.coreos.com/v1:PodMonitor",
};
const s3Backup = { store: "s3", destinationPath: "s3://platform-backups/dev", credentialsSecret: "backup-creds" } as const;
const azureBackup = { store: "azure", destinationPath: "https://acct.blob.core.windows.net/backups", credentialsSecret: "azure-creds" } as const;

interface ClusterSpec {
    instances: number;
    imageName: string;
    storage: { size: string; storageClass?: string };
    bootstrap: { initdb: { database: string; owner: string } };
    enableSuperuserAccess: boolean;
    superuserSecret: { name: string };
    plugins?: { name: string; isWALArchiver: boolean; parameters: { barmanObjectName: string } }[];
}

let session: MockSession;
let mod: typeof import("./in-cluster");
let cluster: import("../cluster").ExistingCluster;

beforeAll(async () => {
    ({ session, mod, cluster } = await setupRenderedComponent(() => import("./in-cluster")));
});
beforeEach(() => session.reset());

type Args = import("./in-cluster").InClusterPostgresArgs;
/** The platform's namespace, `postgres`, whatever the test instance's name (the default is the instance's name). */
const args = (extra: Partial<Args> = {}): Args => ({ cluster, tags, namespace: "postgres", ...extra });
const build = (name: string, extra: Partial<Args> = {}) => settled(session, () => new mod.InClusterPostgres(name, args(extra)));
const specOf = (name: string) => session.get(T.cluster, `${name}-cluster`).inputs.spec as ClusterSpec;

describe("validateInClusterPostgresArgs", () => {
    const cases: [string, Partial<Args>, RegExp][] = [
        ["an unsupported version", { version: "15" as "17" }, /version is "15"; allowed: 16, 17/],
        ["no instances", { instances: 0 }, /instances is 0; allowed: an integer from 1 to 9/],
        ["too many instances", { instances: 10 }, /instances is 10/],
        ["a malformed storage size", { storageSize: "10GB" }, /storageSize is "10GB"; allowed: a size such as/],
        ["a database name with capitals or dashes", { databaseName: "App-DB" }, /databaseName is "App-DB"; allowed: lower-case letters, digits and '_'/],
        ["an unknown backup store", { backup: { ...s3Backup, store: "gcs" as "s3" } }, /backup\.store is "gcs"; allowed: s3, azure/],
        ["a backup path that is not a URL", { backup: { ...s3Backup, destinationPath: "gs://bucket" } }, /backup\.destinationPath is "gs:\/\/bucket"; allowed for store "s3": a s3:\/\/ URL/],
        ["a backup path of another store", { backup: { ...azureBackup, destinationPath: "s3://bucket" } }, /allowed for store "azure": a https:\/\/ URL/],
        ["a backup retention of 0 days", { backup: { ...s3Backup, retentionDays: 0 } }, /backup\.retentionDays is 0; allowed: an integer from 1 to 365/],
        ["a backup retention beyond a year", { backup: { ...s3Backup, retentionDays: 400 } }, /backup\.retentionDays is 400/],
        ["an application database name with a dash", { applicationDatabases: [{ name: "my-app", owner: "app" }] }, /applicationDatabases\[0\]\.name is "my-app"; allowed: lower-case letters, digits and '_'/],
        ["an application database name over 30 characters", { applicationDatabases: [{ name: "a".repeat(31), owner: "app" }] }, /applicationDatabases\[0\]\.name is "a{31}"; allowed: .*at most 30 characters/],
        ["a reserved database name", { applicationDatabases: [{ name: "template1", owner: "app" }] }, /applicationDatabases\[0\]\.name is "template1", which the server has already; allowed: any other name \(not postgres, template0, template1, platform\)/],
        ["the bootstrap database as an application database", { applicationDatabases: [{ name: "platform", owner: "app" }] }, /applicationDatabases\[0\]\.name is "platform", which the server has already/],
        ["a database declared twice", { applicationDatabases: [{ name: "app", owner: "app" }, { name: "app", owner: "other" }] }, /applicationDatabases\[1\]\.name "app" is declared twice/],
        ["an owner with capitals", { applicationDatabases: [{ name: "app", owner: "App" }] }, /applicationDatabases\[0\]\.owner is "App"; allowed: lower-case letters/],
        // Each becomes a Kubernetes name with '_' as '-', which must start and end with a letter or digit.
        ["an application database name ending with '_'", { applicationDatabases: [{ name: "app_", owner: "app" }] }, /applicationDatabases\[0\]\.name is "app_"; allowed: .*starting with a lower-case letter and ending with a letter or digit/],
        ["an application database name of a lone '_'", { applicationDatabases: [{ name: "_", owner: "app" }] }, /applicationDatabases\[0\]\.name is "_"; allowed: lower-case letters, digits and '_', starting with a lower-case letter/],
        ["an application database name starting with '_'", { applicationDatabases: [{ name: "_app", owner: "app" }] }, /applicationDatabases\[0\]\.name is "_app"; allowed: /],
        ["an application database name starting with a digit", { applicationDatabases: [{ name: "1app", owner: "app" }] }, /applicationDatabases\[0\]\.name is "1app"; allowed: /],
        ["an owner ending with '_'", { applicationDatabases: [{ name: "app", owner: "app_" }] }, /applicationDatabases\[0\]\.owner is "app_"; allowed: .*ending with a letter or digit/],
        ["an owner of a lone '_'", { applicationDatabases: [{ name: "app", owner: "_" }] }, /applicationDatabases\[0\]\.owner is "_"; allowed: .*starting with a lower-case letter/],
        ["an owner starting with '_'", { applicationDatabases: [{ name: "app", owner: "_app" }] }, /applicationDatabases\[0\]\.owner is "_app"; allowed: /],
        ["the superuser as owner", { applicationDatabases: [{ name: "app", owner: "postgres" }] }, /applicationDatabases\[0\]\.owner is "postgres", a role the operator manages; allowed: a role of the service's own/],
        ["a pg_ role as owner", { applicationDatabases: [{ name: "app", owner: "pg_monitor" }] }, /applicationDatabases\[0\]\.owner is "pg_monitor", a role the operator manages/],
        ["a client namespace that is not a DNS label", { applicationDatabases: [{ name: "app", owner: "app", namespace: "My_Ns" }] }, /applicationDatabases\[0\]\.namespace is "My_Ns"; allowed: a namespace name/],
    ];
    it.each(cases)("refuses %s, naming the setting", (_, extra, message) => {
        expect(() => mod.validateInClusterPostgresArgs("pg", args(extra))).toThrow(message);
        expect(() => new mod.InClusterPostgres("pg", args(extra))).toThrow(/^postgres "pg": /);
    });

    it("accepts application database names and owners of one letter, or with '_' inside and a digit last, up to 30 characters", () => {
        const applicationDatabases = [
            { name: "a", owner: "b" },
            { name: "app_2", owner: "platform_manager" },
            { name: `a${"_".repeat(28)}9`, owner: "b" },
        ];
        expect(() => mod.validateInClusterPostgresArgs("pg", args({ applicationDatabases }))).not.toThrow();
    });

    it("accepts a complete configuration", () => {
        expect(() =>
            mod.validateInClusterPostgresArgs("pg", args({ version: "16", instances: 3, storageSize: "50Gi", databaseName: "app_db", backup: { ...azureBackup, retentionDays: 30 } })),
        ).not.toThrow();
    });
});

describe("InClusterPostgres", () => {
    it("installs the pinned CloudNativePG operator", async () => {
        expect(mod.CLOUDNATIVE_PG_CHART).toEqual({ name: "cloudnative-pg", version: "0.29.0", repository: "https://cloudnative-pg.github.io/charts" });
        await build("pg");
        expect(session.get(T.chart, "pg-operator").inputs).toMatchObject({
            chart: "cloudnative-pg",
            version: "0.29.0",
            repositoryOpts: { repo: "https://cloudnative-pg.github.io/charts" },
            namespace: mod.OPERATOR_NAMESPACE,
        });
    });

    it("declares the Cluster with defaults: one instance, 10Gi, Postgres 17", async () => {
        const pg = await build("pg");
        const cr = session.get(T.cluster, "pg-cluster").inputs as { metadata: { name: string; namespace: string } };
        expect(cr.metadata).toMatchObject({ name: "platform-postgres", namespace: "postgres" });
        expect(specOf("pg")).toMatchObject({
            instances: 1,
            imageName: mod.CLOUDNATIVE_PG_IMAGES["17"],
            storage: { size: "10Gi" },
            bootstrap: { initdb: { database: "platform", owner: "platform" } },
        });
        expect(await valueOf(pg.databaseName)).toBe("platform");
        expect(await valueOf(pg.port)).toBe(5432);
        expect(pg.requireTls).toBe(true);
    });

    it("takes instances, storage, version and database name from the args", async () => {
        const pg = await build("pg", { instances: 3, storageSize: "50Gi", storageClass: "fast", version: "16", databaseName: "shop", namespace: "db" });
        expect(specOf("pg")).toMatchObject({
            instances: 3,
            imageName: "ghcr.io/cloudnative-pg/postgresql:16.10",
            storage: { size: "50Gi", storageClass: "fast" },
            bootstrap: { initdb: { database: "shop", owner: "shop" } },
        });
        expect(await valueOf(pg.host)).toBe("platform-postgres-rw.db.svc.cluster.local");
        expect(await valueOf(pg.databaseName)).toBe("shop");
    });

    it("generates the superuser password into a basic-auth Secret the Cluster references", async () => {
        const pg = await build("pg", { cluster: await appliedCluster() });
        const secret = session.get(T.secret, "pg-superuser-secret").inputs as { metadata: { name: string; namespace: string }; type: string; stringData: unknown };
        expect(secret.type).toBe("kubernetes.io/basic-auth");
        expect(secret.metadata).toMatchObject({ name: "platform-postgres-superuser", namespace: "postgres" });
        expect(isSecretInput(secret.stringData)).toBe(true);
        const data = unwrapSecret<{ username: string; password: string }>(secret.stringData);
        expect(data.username).toBe("postgres");
        expect(data.password).toMatch(/^[A-Za-z0-9]{32}$/);
        expect(specOf("pg")).toMatchObject({ enableSuperuserAccess: true, superuserSecret: { name: "platform-postgres-superuser" } });

        expect(await isSecret(pg.adminPassword)).toBe(true);
        expect(await valueOf(pg.adminPassword)).toBe(data.password);
        expect(await valueOf(pg.adminUsername)).toBe("postgres");
        expect(await valueOf(pg.host)).toBe("platform-postgres-rw.postgres.svc.cluster.local");
    });

    it("declares a PodMonitor for the cluster's pods", async () => {
        await build("pg");
        const monitor = session.get(T.podMonitor, "pg-pod-monitor").inputs as { metadata: { namespace: string }; spec: object };
        expect(monitor.metadata.namespace).toBe("postgres");
        expect(monitor.spec).toEqual({ selector: { matchLabels: { "cnpg.io/cluster": "platform-postgres" } }, podMetricsEndpoints: [{ port: "metrics" }] });
    });

    it("has no backup plugin, ObjectStore or ScheduledBackup without backup", async () => {
        await build("pg");
        expect(session.ofType(T.chart).map((r) => r.name)).toEqual(["pg-operator"]);
        expect(session.ofType(T.objectStore)).toEqual([]);
        expect(session.ofType(T.scheduledBackup)).toEqual([]);
        expect(specOf("pg").plugins).toBeUndefined();
        const policies = session.ofType(T.networkPolicy).map((r) => r.name);
        expect(policies).not.toContain("pg-ns-allow-backup-store");
        expect(policies).not.toContain("pg-operator-ns-allow-plugin");
    });

    it("installs the backup plugin after cert-manager's CRDs (its chart holds an Issuer and Certificates)", async () => {
        // Any resource stands for cert-manager's chart here: what matters is that the plugin's chart waits for it.
        const k8s = await import("@pulumi/kubernetes");
        const crds = new k8s.core.v1.ConfigMap("cert-manager-crds", {});
        await build("pg", { backup: s3Backup, certManagerCrds: crds });
        const dependencies = session.get(T.chart, "pg-backup-plugin").dependencies;
        expect(dependencies.some((urn) => urn.endsWith("::cert-manager-crds")), dependencies.join(", ")).toBe(true);
        expect(dependencies.some((urn) => urn.endsWith("::pg-operator")), dependencies.join(", ")).toBe(true);
    });

    it("backs up to S3 through the pinned Barman Cloud plugin", async () => {
        expect(mod.BARMAN_CLOUD_PLUGIN_CHART).toEqual({ name: "plugin-barman-cloud", version: "0.7.0", repository: "https://cloudnative-pg.github.io/charts" });
        await build("pg", { backup: { ...s3Backup, retentionDays: 14, schedule: "0 30 1 * * *" } });
        expect(session.get(T.chart, "pg-backup-plugin").inputs).toMatchObject({ chart: "plugin-barman-cloud", version: "0.7.0", namespace: "cnpg-system" });
        const store = session.get(T.objectStore, "pg-object-store").inputs as { metadata: { name: string }; spec: { retentionPolicy: string; configuration: Record<string, unknown> } };
        expect(store.metadata.name).toBe("platform-postgres-backups");
        expect(store.spec.retentionPolicy).toBe("14d");
        expect(store.spec.configuration).toMatchObject({
            destinationPath: "s3://platform-backups/dev",
            s3Credentials: {
                accessKeyId: { name: "backup-creds", key: "ACCESS_KEY_ID" },
                secretAccessKey: { name: "backup-creds", key: "ACCESS_SECRET_KEY" },
            },
        });
        expect(store.spec.configuration).not.toHaveProperty("azureCredentials");
        expect(specOf("pg").plugins).toEqual([
            { name: "barman-cloud.cloudnative-pg.io", isWALArchiver: true, parameters: { barmanObjectName: "platform-postgres-backups" } },
        ]);
        expect(session.get(T.scheduledBackup, "pg-scheduled-backup").inputs.spec).toMatchObject({
            schedule: "0 30 1 * * *",
            cluster: { name: "platform-postgres" },
            method: "plugin",
            pluginConfiguration: { name: "barman-cloud.cloudnative-pg.io" },
        });
        const policies = session.ofType(T.networkPolicy).map((r) => r.name);
        expect(policies).toEqual(expect.arrayContaining(["pg-ns-allow-backup-store", "pg-ns-allow-backup-plugin", "pg-operator-ns-allow-plugin"]));
    });

    it("backs up to Azure Blob with the connection string reference, 7 days and daily by default", async () => {
        await build("pg", { backup: azureBackup });
        const store = session.get(T.objectStore, "pg-object-store").inputs.spec as { retentionPolicy: string; configuration: Record<string, unknown> };
        expect(store.retentionPolicy).toBe("7d");
        expect(store.configuration).toMatchObject({
            destinationPath: "https://acct.blob.core.windows.net/backups",
            azureCredentials: { connectionString: { name: "azure-creds", key: "AZURE_CONNECTION_STRING" } },
        });
        expect(store.configuration).not.toHaveProperty("s3Credentials");
        expect(session.get(T.scheduledBackup, "pg-scheduled-backup").inputs.spec).toMatchObject({ schedule: "0 0 2 * * *", method: "plugin" });
        expect(specOf("pg").plugins?.[0].parameters.barmanObjectName).toBe("platform-postgres-backups");
    });

    it("with protect: protects the Cluster and the superuser Secret, and nothing without it", async () => {
        // The superuser Secret is protected through its GeneratedSecret parent: check the effective value.
        const { transformations, protect } = captureProtect();
        new mod.InClusterPostgres("keep", args({ protect: true }), { transformations });
        new mod.InClusterPostgres("temp", args(), { transformations });
        await settle(session);
        expect(protect.get(`${T.cluster} keep-cluster`)).toBe(true);
        expect(protect.get(`${T.secret} keep-superuser-secret`)).toBe(true);
        expect(protect.get(`${T.cluster} temp-cluster`)).toBe(false);
        expect(protect.get(`${T.secret} temp-superuser-secret`)).toBe(false);
    });

    it("lets the client namespaces reach 5432, and only them", async () => {
        new mod.InClusterPostgres("pg", args({ clientNamespaces: ["shop", "billing"] }));
        new mod.InClusterPostgres("closed", args({ clientNamespaces: [] }));
        await settle(session);
        const policy = session.get(T.networkPolicy, "pg-ns-allow-clients").inputs as {
            metadata: { namespace: string };
            spec: { policyTypes: string[]; ingress: { from: { namespaceSelector: { matchLabels: Record<string, string> } }[]; ports: { port: number }[] }[] };
        };
        expect(policy.metadata.namespace).toBe("postgres");
        expect(policy.spec.policyTypes).toEqual(["Ingress"]);
        expect(policy.spec.ingress[0].ports).toEqual([{ port: 5432, protocol: "TCP" }]);
        expect(policy.spec.ingress[0].from.map((f) => f.namespaceSelector.matchLabels["kubernetes.io/metadata.name"])).toEqual(["shop", "billing"]);
        expect(session.ofType(T.networkPolicy).map((r) => r.name)).not.toContain("closed-ns-allow-clients");
    });

    it("names children after the instance, so two instances do not collide", async () => {
        const apps = { applicationDatabases: [{ name: "app", owner: "app" }] };
        new mod.InClusterPostgres("c", args(apps));
        new mod.InClusterPostgres("d", args({ ...apps, namespace: "other" }));
        await settle(session);
        expectUniqueKeys(session);
        session.reset();
        new mod.InClusterPostgres("a", args({ backup: s3Backup }));
        new mod.InClusterPostgres("b", args({ backup: s3Backup }));
        await settle(session);
        expectUniqueKeys(session);
        expect(session.ofType(T.cluster).map((r) => r.name).sort()).toEqual(["a-cluster", "b-cluster"]);
    });
});

describe("InClusterPostgres application databases", () => {
    const manager = { name: "platform_manager", owner: "platform_manager", namespace: "manager" };
    interface RoleSpec {
        name: string;
        ensure: string;
        login: boolean;
        superuser: boolean;
        createdb: boolean;
        passwordSecret: { name: string };
    }
    const clusterCr = (name: string) => session.get(T.cluster, `${name}-cluster`).inputs as { apiVersion: string; kind: string; metadata: object; spec: ClusterSpec & { managed?: { roles: RoleSpec[] } } };

    it("declares nothing new without them: no managed roles, no Database, no role Secret", async () => {
        await build("pg");
        expect(clusterCr("pg").spec.managed).toBeUndefined();
        expect(session.ofType(T.database)).toEqual([]);
        expect(session.ofType(T.secret).map((r) => r.name)).toEqual(["pg-superuser-secret"]);
    });

    it("adds a login role without privileges to managed.roles, its password in a generated basic-auth Secret", async () => {
        await build("pg", { cluster: await appliedCluster(), applicationDatabases: [manager] });
        expect(clusterCr("pg").spec.managed?.roles).toEqual([
            {
                name: "platform_manager",
                ensure: "present",
                comment: expect.any(String),
                login: true,
                superuser: false,
                createdb: false,
                createrole: false,
                replication: false,
                bypassrls: false,
                passwordSecret: { name: "platform-postgres-role-platform-manager" },
            },
        ]);
        const secret = session.get(T.secret, "pg-role-platform_manager-secret").inputs as {
            metadata: { name: string; namespace: string; labels: Record<string, string> };
            type: string;
            stringData: unknown;
        };
        expect(secret.type).toBe("kubernetes.io/basic-auth");
        expect(secret.metadata).toMatchObject({ name: "platform-postgres-role-platform-manager", namespace: "postgres" });
        expect(secret.metadata.labels["cnpg.io/reload"]).toBe("true");
        expect(isSecretInput(secret.stringData)).toBe(true);
        const data = unwrapSecret<{ username: string; password: string }>(secret.stringData);
        expect(data.username).toBe("platform_manager");
        expect(data.password).toMatch(/^[A-Za-z0-9]{32}$/);
    });

    it("declares a Database owned by the role, kept in Postgres when the resource goes", async () => {
        await build("pg", { applicationDatabases: [manager] });
        const db = session.get(T.database, "pg-database-platform_manager").inputs as { apiVersion: string; kind: string; metadata: { name: string; namespace: string }; spec: object };
        expect(db.metadata).toMatchObject({ name: "platform-postgres-db-platform-manager", namespace: "postgres" });
        expect(db.spec).toEqual({ cluster: { name: "platform-postgres" }, name: "platform_manager", owner: "platform_manager", ensure: "present", databaseReclaimPolicy: "retain" });
    });

    it("fits the chart's own CRD schemas (cloudnative-pg 0.29.0): the Cluster with managed roles and the Database", async () => {
        await build("pg", { applicationDatabases: [manager, { name: "billing", owner: "billing" }] });
        const cluster = clusterCr("pg");
        expect(schemaProblems({ apiVersion: cluster.apiVersion, kind: cluster.kind, metadata: cluster.metadata, spec: cluster.spec }, crdSchemaOf("cloudnative-pg-0.29.0.tgz", "Cluster"))).toEqual([]);
        const databaseSchema = crdSchemaOf("cloudnative-pg-0.29.0.tgz", "Database");
        for (const r of session.ofType(T.database)) {
            const { apiVersion, kind, metadata, spec } = r.inputs as Record<string, unknown>;
            expect(schemaProblems({ apiVersion, kind, metadata, spec }, databaseSchema), r.name).toEqual([]);
        }
        // The check does find what the API server would drop or refuse.
        expect(schemaProblems({ metadata: {}, spec: { cluster: { name: "x" }, name: "n", owner: 1, reclaim: "keep", databaseReclaimPolicy: "keep" } }, databaseSchema)).toEqual([
            ".spec.owner: not a string",
            ".spec.reclaim: unknown field",
            '.spec.databaseReclaimPolicy: "keep" is not one of ["delete","retain"]',
        ]);
    });

    it("makes one role for an owner of several databases, and lets each client namespace reach 5432 once", async () => {
        await build("pg", {
            clientNamespaces: ["platform-system", "manager"],
            applicationDatabases: [manager, { name: "audit", owner: "platform_manager", namespace: "manager" }, { name: "billing", owner: "billing", namespace: "billing" }],
        });
        expect(clusterCr("pg").spec.managed?.roles.map((r) => r.name)).toEqual(["platform_manager", "billing"]);
        expect(session.ofType(T.database).map((r) => r.name)).toEqual(["pg-database-platform_manager", "pg-database-audit", "pg-database-billing"]);
        const policy = session.get(T.networkPolicy, "pg-ns-allow-clients").inputs as { spec: { ingress: { from: { namespaceSelector: { matchLabels: Record<string, string> } }[] }[] } };
        expect(policy.spec.ingress[0].from.map((f) => f.namespaceSelector.matchLabels["kubernetes.io/metadata.name"])).toEqual(["platform-system", "manager", "billing"]);
    });

    it("gives each database's connection: the -rw host, port, database, user and the password Secret, the password a secret output", async () => {
        const pg = await build("pg", { cluster: await appliedCluster(), applicationDatabases: [manager] });
        const c = pg.applicationDatabase("platform_manager");
        expect({ ...c, password: undefined }).toEqual({
            namespace: "postgres",
            host: "platform-postgres-rw.postgres.svc.cluster.local",
            port: 5432,
            database: "platform_manager",
            username: "platform_manager",
            passwordSecret: "platform-postgres-role-platform-manager",
            password: undefined,
            requireTls: true,
        });
        expect(await isSecret(c.password)).toBe(true);
        const secret = session.get(T.secret, "pg-role-platform_manager-secret").inputs as { stringData: unknown };
        expect(await valueOf(c.password)).toBe(unwrapSecret<{ password: string }>(secret.stringData).password);
        expect(() => pg.applicationDatabase("shop")).toThrow('postgres "pg": no application database "shop"; declared: platform_manager (applicationDatabases)');
    });

    it("rendered: the role Secret holds only its username, and a Job fills the password in the cluster", async () => {
        await build("pg", { applicationDatabases: [manager] });
        const secret = session.get(T.secret, "pg-role-platform_manager-secret").inputs as { stringData: unknown; metadata: { annotations: Record<string, string> } };
        expect(unwrapSecret(secret.stringData)).toEqual({ username: "platform_manager" });
        expect(secret.metadata.annotations["platform.example.com/values"]).toMatch(/^not rendered: generated in the cluster by the Job platform-postgres-role-platform-manager-generator/);
        expect(session.get("kubernetes:batch/v1:Job", "pg-role-platform_manager-generator").inputs).toMatchObject({ metadata: { namespace: "postgres" } });
    });

    it("with protect: protects the role Secret and the Database like the Cluster", async () => {
        const { transformations, protect } = captureProtect();
        new mod.InClusterPostgres("keep", args({ protect: true, applicationDatabases: [manager] }), { transformations });
        await settle(session);
        expect(protect.get(`${T.database} keep-database-platform_manager`)).toBe(true);
        expect(protect.get(`${T.secret} keep-role-platform_manager-secret`)).toBe(true);
    });
});
