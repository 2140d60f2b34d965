import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { OBSERVABILITY_NAMESPACE } from "../mesh/network";
import { PlatformNamespace } from "../namespace";
import { ChartMirror } from "../shared/chart";
import { checkValuesOverride, ValuesOverride } from "../shared/chart-values";
import { Cluster } from "../shared/cluster";
import { GeneratedSecret } from "../shared/generated-secret";
import { platformChart } from "../shared/helm";
import { ALLOW_KUBE_API, allowWebhook, checkCount, checkQuantity, containerResources, deliveredStatus, serviceHost, withDefaults } from "../shared/kubernetes";
import { ComponentType, namespaceRecordId, RECORD_IDS, ResourceRecord, resourceRecord } from "../shared/records";
import { StandardTags, standardLabels } from "../shared/tags";
import {
    ApplicationDatabase,
    ApplicationDatabaseConnection,
    applicationRoles,
    databaseResourceName,
    databaseSpec,
    managedRole,
    roleSecretName,
    validateApplicationDatabases,
} from "./app-databases";
import {
    BARMAN_CLOUD_PLUGIN_CHART,
    barmanCloudPluginValues,
    CLOUDNATIVE_PG_CHART,
    cloudnativePgValues,
    POSTGRES_RELEASE_CHARTS,
    PostgresRelease,
} from "./charts";
import { POSTGRES_MAJOR_VERSIONS, PostgresMajorVersion, PostgresServer } from "./types";

// The pins live in charts.ts; importable from here too.
export { BARMAN_CLOUD_PLUGIN_CHART, CLOUDNATIVE_PG_CHART } from "./charts";
export * from "./app-databases";

/** Postgres images per major version, pinned to a minor release. */
export const CLOUDNATIVE_PG_IMAGES: Record<PostgresMajorVersion, string> = {
    "16": "ghcr.io/cloudnative-pg/postgresql:16.10",
    "17": "ghcr.io/cloudnative-pg/postgresql:17.6",
};

/**
 * The CloudNativePG operator's namespace: the operator (and the Barman Cloud
 * plugin, their CRDs and webhooks) is cluster-wide, one per cluster, whatever the instance.
 */
export const OPERATOR_NAMESPACE = "cnpg-system";

/** Continuous backup (WAL archiving + base backups) to object storage with Barman Cloud. */
export interface PostgresBackup {
    /** Bucket/container URL, e.g. `s3://platform-backups/dev` or `https://acct.blob.core.windows.net/backups`. */
    destinationPath: string;
    /** Store kind, which decides how credentials are read. */
    store: "s3" | "azure";
    /** Secret in the Postgres namespace with the store's credentials (`ACCESS_KEY_ID`/`ACCESS_SECRET_KEY`, or `AZURE_CONNECTION_STRING`). */
    credentialsSecret: string;
    /** Days backups are kept. Default: 7. */
    retentionDays?: number;
    /** Cron schedule (six fields, seconds first) of base backups. Default: daily at 02:00. */
    schedule?: string;
}

export interface InClusterPostgresArgs {
    /** The cluster Postgres runs in. */
    cluster: Cluster;
    /** The environment's standard tags (become labels). */
    tags: StandardTags;
    /**
     * Namespace of the database cluster. Default: the instance's name (the
     * platform's `postgres` instance: `postgres`). The operator is not per
     * instance: it runs in `cnpg-system`, one per cluster.
     */
    namespace?: string;
    /** Namespace of the Prometheus that scrapes the operator and the instances (the Observability instance's). Default: `observability`. */
    observabilityNamespace?: string;
    /** Postgres major version. Default: "17". */
    version?: PostgresMajorVersion;
    /** Instances (1 primary + replicas). Default: 1; 3 for production-like environments. */
    instances?: number;
    /** Volume per instance. Default: `10Gi`. */
    storageSize?: string;
    /** Storage class. Default: the cluster's default class. */
    storageClass?: string;
    /** Application database (and its owner) created at bootstrap. Default: `platform`. */
    databaseName?: string;
    /** Namespaces whose pods may connect on 5432. Default: none (add the services' namespaces). */
    clientNamespaces?: string[];
    /**
     * Databases of other services, each owned by a login role of its own
     * (`managed.roles`, password generated into a basic-auth Secret) and
     * declared as a CloudNativePG `Database` (kept in Postgres on delete).
     * `applicationDatabase(name)` gives the connection. Default: none.
     */
    applicationDatabases?: ApplicationDatabase[];
    /** Backups to object storage. Default: none (local/dev data is disposable). */
    backup?: PostgresBackup;
    /** Keep the database (and its volumes) on `pulumi destroy` and refuse deletes. Default: false. */
    protect?: boolean;
    /** Chart mirror of the environment. Default: upstream repositories. */
    chartMirror?: ChartMirror;
    /** The chart that installs the PodMonitor CRD (Observability.monitoringCrds). Default: none (the CRD must exist). */
    monitoringCrds?: pulumi.Resource;
    /**
     * The chart that installs cert-manager's CRDs (CertManager.chart): the backup plugin's chart holds an
     * Issuer and Certificates, which neither a render nor an apply can place before those CRDs exist.
     * Default: none (cert-manager must already be installed).
     */
    certManagerCrds?: pulumi.Resource;
    /** Values merged last over the charts' (`charts.ts`), by release: `cloudnative-pg`, `plugin-barman-cloud`. Default: none. */
    valuesOverride?: ValuesOverride<PostgresRelease>;
}

const defaults = { observabilityNamespace: OBSERVABILITY_NAMESPACE, version: "17", instances: 1, storageSize: "10Gi", databaseName: "platform" } as const;

/** Throws a message naming the setting and what is allowed. */
export function validateInClusterPostgresArgs(name: string, args: InClusterPostgresArgs): void {
    const c = `postgres "${name}"`;
    if (args.version !== undefined && !POSTGRES_MAJOR_VERSIONS.includes(args.version)) {
        throw new Error(`${c}: version is "${args.version}"; allowed: ${POSTGRES_MAJOR_VERSIONS.join(", ")}`);
    }
    checkCount(c, "instances", args.instances, 1, 9);
    checkQuantity(c, "storageSize", args.storageSize);
    if (args.databaseName !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(args.databaseName)) {
        throw new Error(`${c}: databaseName is "${args.databaseName}"; allowed: lower-case letters, digits and '_', not starting with a digit`);
    }
    if (args.backup) {
        if (!["s3", "azure"].includes(args.backup.store)) {
            throw new Error(`${c}: backup.store is "${args.backup.store}"; allowed: s3, azure`);
        }
        const scheme = args.backup.store === "s3" ? "s3://" : "https://";
        if (!args.backup.destinationPath.startsWith(scheme) || args.backup.destinationPath.length <= scheme.length) {
            throw new Error(
                `${c}: backup.destinationPath is "${args.backup.destinationPath}"; allowed for store "${args.backup.store}": a ${scheme} URL`,
            );
        }
        checkCount(c, "backup.retentionDays", args.backup.retentionDays, 1, 365);
    }
    validateApplicationDatabases(c, args.applicationDatabases, args.databaseName ?? defaults.databaseName);
    checkValuesOverride(c, args.valuesOverride, Object.keys(POSTGRES_RELEASE_CHARTS));
}

const TYPE: ComponentType = "platform:postgres:InClusterPostgres";

/**
 * Postgres in the cluster: the CloudNativePG operator and a `Cluster` with a
 * generated superuser secret (used by Vault's database engine), TLS from the
 * operator's own CA, a PodMonitor for Prometheus and optional Barman Cloud
 * backups. The database's namespace is per instance; the operator (and the
 * plugin) in `cnpg-system` is one per cluster.
 */
export class InClusterPostgres extends pulumi.ComponentResource implements PostgresServer {
    /** Namespace of the database cluster (`args.namespace`, default the instance's name). */
    public readonly namespace: string;
    public readonly host: pulumi.Output<string>;
    public readonly port = pulumi.output(5432);
    public readonly databaseName: pulumi.Output<string>;
    public readonly adminUsername = pulumi.output("postgres");
    public readonly adminPassword: pulumi.Output<string>;
    public readonly requireTls = true;
    public readonly records: ResourceRecord[];
    private readonly connections = new Map<string, ApplicationDatabaseConnection>();
    private readonly instanceName: string;

    constructor(name: string, args: InClusterPostgresArgs, opts?: pulumi.ComponentResourceOptions) {
        validateInClusterPostgresArgs(name, args);
        super(TYPE, name, {}, opts);
        const a = { ...withDefaults(defaults, args), namespace: args.namespace ?? name };
        this.namespace = a.namespace;
        this.instanceName = name;
        const labels = (component: string) => standardLabels(a.tags, { name: "postgres", instance: name, component });
        const appDatabases = a.applicationDatabases ?? [];
        // The services that own a database connect to it (the order of clientNamespaces kept, each once).
        const clientNamespaces = [...new Set([...(a.clientNamespaces ?? []), ...appDatabases.flatMap((d) => (d.namespace ? [d.namespace] : []))])];

        const operatorNs = new PlatformNamespace(
            `${name}-operator-ns`,
            {
                cluster: a.cluster,
                namespaceName: OPERATOR_NAMESPACE,
                tags: a.tags,
                allowIngress: [
                    allowWebhook(9443),
                    { name: "metrics", ports: [{ port: 8080 }], peers: { namespaces: [a.observabilityNamespace] } },
                    // Instances call the backup plugin's gRPC endpoint.
                    ...(a.backup ? [{ name: "plugin", ports: [{ port: 9090 }], peers: { namespaces: [a.namespace] } }] : []),
                ],
                // The operator asks each instance for its status on port 8000.
                allowEgress: [ALLOW_KUBE_API, { name: "instances", ports: [{ port: 8000 }, { port: 5432 }], peers: { namespaces: [a.namespace] } }],
            },
            { parent: this },
        );
        const dbNs = new PlatformNamespace(
            `${name}-ns`,
            {
                cluster: a.cluster,
                namespaceName: a.namespace,
                tags: a.tags,
                allowIngress: [
                    { name: "operator", ports: [{ port: 8000 }, { port: 5432 }], peers: { namespaces: [OPERATOR_NAMESPACE] } },
                    { name: "metrics", ports: [{ port: 9187 }], peers: { namespaces: [a.observabilityNamespace] } },
                    ...(clientNamespaces.length ? [{ name: "clients", ports: [{ port: 5432 }], peers: { namespaces: clientNamespaces } }] : []),
                ],
                allowEgress: [
                    ALLOW_KUBE_API,
                    ...(a.backup
                        ? [
                              { name: "backup-store", ports: [{ port: 443 }], peers: "anywhere" as const },
                              { name: "backup-plugin", ports: [{ port: 9090 }], peers: { namespaces: [OPERATOR_NAMESPACE] } },
                          ]
                        : []),
                ],
            },
            { parent: this },
        );

        const operator = platformChart(
            `${name}-operator`,
            {
                cluster: a.cluster,
                chart: CLOUDNATIVE_PG_CHART,
                mirror: a.chartMirror,
                namespace: OPERATOR_NAMESPACE,
                labels: labels("operator"),
                values: cloudnativePgValues(),
                valuesOverride: a.valuesOverride?.["cloudnative-pg"],
                dependsOn: [operatorNs],
            },
            // Deleting the operator deletes its CustomResourceDefinitions, and with
            // them every database it runs: it is protected with the data.
            { parent: this, protect: a.protect },
        );

        const clusterName = "platform-postgres";
        const superuser = new GeneratedSecret(
            `${name}-superuser`,
            {
                namespace: a.namespace,
                secretName: `${clusterName}-superuser`,
                type: "kubernetes.io/basic-auth",
                generatedKeys: ["password"],
                fixed: { username: "postgres" },
                labels: labels("database"),
                provider: a.cluster.provider,
                rendered: a.cluster.deliveryMode === "render",
            },
            { parent: this, dependsOn: [dbNs], protect: a.protect },
        );
        this.adminPassword = superuser.value("password");
        // One login role per owner; its password generated like the superuser's (render mode: in the cluster).
        const roleSecrets = new Map(
            applicationRoles(appDatabases).map((owner) => [
                owner,
                new GeneratedSecret(
                    `${name}-role-${owner}`,
                    {
                        namespace: a.namespace,
                        secretName: roleSecretName(clusterName, owner),
                        type: "kubernetes.io/basic-auth",
                        generatedKeys: ["password"],
                        fixed: { username: owner },
                        // The instance manager watches Secrets with this label: a password filled later (render mode) is applied.
                        labels: { ...labels("database"), "cnpg.io/reload": "true" },
                        provider: a.cluster.provider,
                        rendered: a.cluster.deliveryMode === "render",
                    },
                    { parent: this, dependsOn: [dbNs], protect: a.protect },
                ),
            ]),
        );

        const crOpts = { parent: this, provider: a.cluster.provider };
        const objectStoreName = `${clusterName}-backups`;
        const backupDeps: pulumi.Resource[] = [];
        if (a.backup) {
            const plugin = platformChart(
                `${name}-backup-plugin`,
                {
                    cluster: a.cluster,
                    chart: BARMAN_CLOUD_PLUGIN_CHART,
                    mirror: a.chartMirror,
                    namespace: OPERATOR_NAMESPACE,
                    labels: labels("backup"),
                    values: barmanCloudPluginValues(),
                    valuesOverride: a.valuesOverride?.["plugin-barman-cloud"],
                    dependsOn: [operator, ...(a.certManagerCrds ? [a.certManagerCrds] : [])],
                },
                // Its CustomResourceDefinitions hold the backup configuration.
                { parent: this, protect: a.protect },
            );
            const store = new k8s.apiextensions.CustomResource(
                `${name}-object-store`,
                {
                    apiVersion: "barmancloud.cnpg.io/v1",
                    kind: "ObjectStore",
                    metadata: { name: objectStoreName, namespace: a.namespace, labels: labels("backup") },
                    spec: {
                        retentionPolicy: `${a.backup.retentionDays ?? 7}d`,
                        configuration: {
                            destinationPath: a.backup.destinationPath,
                            ...(a.backup.store === "s3"
                                ? {
                                      s3Credentials: {
                                          accessKeyId: { name: a.backup.credentialsSecret, key: "ACCESS_KEY_ID" },
                                          secretAccessKey: { name: a.backup.credentialsSecret, key: "ACCESS_SECRET_KEY" },
                                      },
                                  }
                                : { azureCredentials: { connectionString: { name: a.backup.credentialsSecret, key: "AZURE_CONNECTION_STRING" } } }),
                            wal: { compression: "gzip" },
                            data: { compression: "gzip" },
                        },
                    },
                },
                { ...crOpts, dependsOn: [plugin, dbNs] },
            );
            backupDeps.push(plugin, store);
        }

        const database = new k8s.apiextensions.CustomResource(
            `${name}-cluster`,
            {
                apiVersion: "postgresql.cnpg.io/v1",
                kind: "Cluster",
                metadata: { name: clusterName, namespace: a.namespace, labels: labels("database") },
                spec: {
                    instances: a.instances,
                    imageName: CLOUDNATIVE_PG_IMAGES[a.version],
                    storage: { size: a.storageSize, storageClass: a.storageClass },
                    bootstrap: { initdb: { database: a.databaseName, owner: a.databaseName } },
                    enableSuperuserAccess: true,
                    superuserSecret: { name: superuser.secretName },
                    resources: containerResources("100m", "256Mi", "1Gi"),
                    // Replicas across nodes where there are several.
                    affinity: { enablePodAntiAffinity: true, topologyKey: "kubernetes.io/hostname" },
                    plugins: a.backup
                        ? [{ name: "barman-cloud.cloudnative-pg.io", isWALArchiver: true, parameters: { barmanObjectName: objectStoreName } }]
                        : undefined,
                    managed: roleSecrets.size > 0 ? { roles: [...roleSecrets.keys()].map((owner) => managedRole(clusterName, owner)) } : undefined,
                },
            },
            { ...crOpts, dependsOn: [operator, superuser, ...roleSecrets.values(), ...backupDeps], protect: a.protect },
        );
        const host = serviceHost(`${clusterName}-rw`, a.namespace);
        for (const db of appDatabases) {
            new k8s.apiextensions.CustomResource(
                `${name}-database-${db.name}`,
                {
                    apiVersion: "postgresql.cnpg.io/v1",
                    kind: "Database",
                    metadata: { name: databaseResourceName(clusterName, db.name), namespace: a.namespace, labels: labels("database") },
                    spec: databaseSpec(clusterName, db),
                },
                // Its data is the Cluster's: protected with it (and `retain` keeps it in Postgres anyway).
                { ...crOpts, dependsOn: [database], protect: a.protect },
            );
            const secret = roleSecrets.get(db.owner)!;
            this.connections.set(db.name, {
                namespace: a.namespace,
                host,
                port: 5432,
                database: db.name,
                username: db.owner,
                passwordSecret: secret.secretName,
                password: secret.value("password"),
                requireTls: true,
            });
        }
        // The Cluster's own `monitoring.enablePodMonitor` is deprecated; the monitor is declared here.
        new k8s.apiextensions.CustomResource(
            `${name}-pod-monitor`,
            {
                apiVersion: "monitoring.coreos.com/v1",
                kind: "PodMonitor",
                metadata: { name: clusterName, namespace: a.namespace, labels: labels("metrics") },
                spec: {
                    selector: { matchLabels: { "cnpg.io/cluster": clusterName } },
                    podMetricsEndpoints: [{ port: "metrics" }],
                },
            },
            { ...crOpts, dependsOn: [database, ...(a.monitoringCrds ? [a.monitoringCrds] : [])] },
        );
        if (a.backup) {
            new k8s.apiextensions.CustomResource(
                `${name}-scheduled-backup`,
                {
                    apiVersion: "postgresql.cnpg.io/v1",
                    kind: "ScheduledBackup",
                    metadata: { name: `${clusterName}-daily`, namespace: a.namespace, labels: labels("backup") },
                    spec: {
                        schedule: a.backup.schedule ?? "0 0 2 * * *",
                        backupOwnerReference: "self",
                        cluster: { name: clusterName },
                        method: "plugin",
                        pluginConfiguration: { name: "barman-cloud.cloudnative-pg.io" },
                    },
                },
                { ...crOpts, dependsOn: [database] },
            );
        }

        // `-rw` always points at the primary.
        this.host = pulumi.output(host);
        this.databaseName = pulumi.output(a.databaseName);
        this.records = [
            ...operatorNs.records,
            ...dbNs.records,
            resourceRecord(TYPE, {
                id: RECORD_IDS.postgres,
                count: a.instances,
                status: deliveredStatus(a.cluster),
                entrypoints: [`postgresql://${serviceHost(`${clusterName}-rw`, a.namespace)}:5432/${a.databaseName}`],
                statusEndpoints: [],
                dependsOn: [namespaceRecordId(OPERATOR_NAMESPACE), namespaceRecordId(a.namespace)],
            }),
        ];
        this.registerOutputs({ host: this.host, databaseName: this.databaseName });
    }

    /** The connection to an application database (`applicationDatabases`); throws naming the ones declared. */
    public applicationDatabase(database: string): ApplicationDatabaseConnection {
        const found = this.connections.get(database);
        if (!found) {
            throw new Error(`postgres "${this.instanceName}": no application database "${database}"; declared: ${[...this.connections.keys()].join(", ") || "none"} (applicationDatabases)`);
        }
        return found;
    }
}
