import * as pulumi from "@pulumi/pulumi";

import { CertManager, IssuerConfig } from "../../components/cert-manager";
import { Cluster } from "../../components/cluster/types";
import { ConsulServer } from "../../components/consul";
import { EnvironmentManager, MANAGER_DATABASE_SECRET } from "../../components/manager";
import { GATEWAY_SERVICE_TYPES, IstioMesh } from "../../components/mesh";
import { OBSERVABILITY_NAMESPACE } from "../../components/mesh/network";
import { Observability, tracingEndpoint } from "../../components/observability";
import { InClusterPostgres, PostgresBackup, PostgresServer } from "../../components/postgres";
import { RabbitMq } from "../../components/rabbitmq";
import { ChartMirror } from "../../components/shared/chart";
import { overridesOf } from "../../components/shared/chart-values";
import { ResourceRecord } from "../../components/shared/records";
import { StandardTags } from "../../components/shared/tags";
import { VaultMode, VaultServer } from "../../components/vault";
import { ChartValues } from "../chart-values-schema";
import { ManagerSetting } from "../config-schema";
import { EnvironmentTemplate, ServiceSizes, TEMPLATES } from "../template-registry";

/** Where platform services run their workloads and who may reach the shared services. */
export const PLATFORM_SERVICE_NAMESPACES = ["platform-system"];

/** Sizes and options that differ between environments; the templates fill them (the sizes from the registry's profiles). */
export interface PlatformServiceOptions extends ServiceSizes {
    /** The environment's template: what its components may do (Vault's dev mode) follows it, not the name. */
    template: EnvironmentTemplate;
    issuer: IssuerConfig;
    ingressHosts: string[];
    ingressServiceType: (typeof GATEWAY_SERVICE_TYPES)[number];
    vault: VaultMode;
    /** `in-cluster` (CloudNativePG) with its instance count, or a managed server made by the template. */
    postgres: { kind: "in-cluster"; instances: number; backup?: PostgresBackup } | { kind: "managed"; server: PostgresServer };
    chartMirror?: ChartMirror;
    /** The environment's `platform:chartValues`: values merged last over each release's, by `<component>/<release>`. Default: none. */
    chartValues?: ChartValues;
    /** The environment's `platform:manager` (local and review only): the environment manager beside the bus and the database. Default: none. */
    manager?: ManagerSetting;
}

/** The manager's namespace (its instance's name), a client of the bus and the database when it is deployed. */
export const MANAGER_NAMESPACE = "manager";
/**
 * The manager's database on the in-cluster server, owned by a role of the same
 * name: the server creates both (`applicationDatabases`) and the manager's
 * component puts the role's password into its own Secret. With a managed
 * server it is not used: the manager reads its URL from the Secret
 * MANAGER_DATABASE_SECRET (key `url`), provided in its namespace.
 */
export const MANAGER_DATABASE = "platform_manager";

/** The platform services' options a profile decides (the registry's, local and cloud alike): sizes, retention, replicas, egress and protection. */
export function servicesSizedBy(profile: ServiceSizes): ServiceSizes {
    return {
        outboundTrafficPolicy: profile.outboundTrafficPolicy,
        replicas: profile.replicas,
        metricsRetention: profile.metricsRetention,
        metricsStorage: profile.metricsStorage,
        logsRetention: profile.logsRetention,
        logsStorage: profile.logsStorage,
        rabbitmqReplicas: profile.rabbitmqReplicas,
        consulReplicas: profile.consulReplicas,
        protect: profile.protect,
    };
}

export interface PlatformServices {
    certManager: CertManager;
    mesh: IstioMesh;
    observability: Observability;
    rabbitmq: RabbitMq;
    /** Only when `platform:manager` is set. */
    manager?: EnvironmentManager;
    vault: VaultServer;
    postgres: PostgresServer;
    consul: ConsulServer;
    records: ResourceRecord[];
}

/**
 * The platform's Observability instance's names: the mesh (made first) sends
 * traces to it and lets it scrape istiod. The release names are the charts'
 * own (no prefix), as they always were.
 */
const PLATFORM_OBSERVABILITY = { namespace: OBSERVABILITY_NAMESPACE, releasePrefix: "" } as const;

/**
 * The in-cluster platform every environment runs, in dependency order:
 * certificates, mesh, observability (the mesh's tracing backend), then the
 * shared services that join the mesh. Each per-instance service's namespace
 * and release names follow its instance (`consul`, `vault`, …); the
 * references between them read the instances, not constants.
 */
export function installPlatformServices(cluster: Cluster, tags: StandardTags, o: PlatformServiceOptions): PlatformServices {
    const mirror = o.chartMirror;
    // Each component gets the overrides of its own releases (`mesh/istiod` becomes the mesh's `istiod`).
    const valuesOverride = (component: string) => overridesOf(component, o.chartValues);
    const certManager = new CertManager("cert-manager", {
        cluster,
        tags,
        issuer: o.issuer,
        replicas: o.replicas,
        chartMirror: mirror,
        valuesOverride: valuesOverride("cert-manager"),
    });
    const mesh = new IstioMesh("mesh", {
        cluster,
        tags,
        issuerName: certManager.issuerName,
        ingressHosts: o.ingressHosts,
        ingressServiceType: o.ingressServiceType,
        outboundTrafficPolicy: o.outboundTrafficPolicy,
        replicas: o.replicas,
        tracing: tracingEndpoint(PLATFORM_OBSERVABILITY.namespace, PLATFORM_OBSERVABILITY.releasePrefix),
        observabilityNamespace: PLATFORM_OBSERVABILITY.namespace,
        chartMirror: mirror,
        valuesOverride: valuesOverride("mesh"),
        dependsOn: [certManager],
    });
    const observability = new Observability("observability", {
        cluster,
        tags,
        ...PLATFORM_OBSERVABILITY,
        metricsRetention: o.metricsRetention,
        metricsStorage: o.metricsStorage,
        logsRetention: o.logsRetention,
        logsStorage: o.logsStorage,
        replicas: o.replicas,
        chartMirror: mirror,
        valuesOverride: valuesOverride("observability"),
        protect: o.protect,
        dependsOn: [certManager, mesh],
    });
    const meshReady: pulumi.Resource[] = [mesh];
    // Unset, the lists are PLATFORM_SERVICE_NAMESPACES as before: nothing else changes.
    const busAndDatabaseClients = [...PLATFORM_SERVICE_NAMESPACES, ...(o.manager ? [MANAGER_NAMESPACE] : [])];
    const vault = new VaultServer("vault", {
        cluster,
        tags,
        devModeAllowed: TEMPLATES[o.template].vaultDevMode,
        mode: o.vault,
        observabilityNamespace: observability.namespaceName,
        chartMirror: mirror,
        valuesOverride: valuesOverride("vault"),
        dependsOn: meshReady,
    });
    const postgres =
        o.postgres.kind === "in-cluster"
            ? new InClusterPostgres("postgres", {
                  cluster,
                  tags,
                  instances: o.postgres.instances,
                  backup: o.postgres.backup,
                  clientNamespaces: [...busAndDatabaseClients, vault.namespace],
                  // Only with the manager: unset, the Cluster is declared as before.
                  ...(o.manager ? { applicationDatabases: [{ name: MANAGER_DATABASE, owner: MANAGER_DATABASE, namespace: MANAGER_NAMESPACE }] } : {}),
                  observabilityNamespace: observability.namespaceName,
                  protect: o.protect,
                  chartMirror: mirror,
                  valuesOverride: valuesOverride("postgres"),
                  monitoringCrds: observability.monitoringCrds,
                  certManagerCrds: certManager.chart,
              })
            : o.postgres.server;
    const rabbitmq = new RabbitMq("rabbitmq", {
        cluster,
        tags,
        replicas: o.rabbitmqReplicas,
        clientNamespaces: busAndDatabaseClients,
        observabilityNamespace: observability.namespaceName,
        protect: o.protect,
        chartMirror: mirror,
        monitoringCrds: observability.monitoringCrds,
        dependsOn: [certManager, mesh],
    });
    const consul = new ConsulServer("consul", {
        cluster,
        tags,
        replicas: o.consulReplicas,
        observabilityNamespace: observability.namespaceName,
        protect: o.protect,
        chartMirror: mirror,
        valuesOverride: valuesOverride("consul"),
        dependsOn: [certManager],
    });

    const manager = o.manager
        ? new EnvironmentManager(MANAGER_NAMESPACE, {
              cluster,
              tags,
              image: o.manager.image,
              replicas: o.manager.replicas,
              rabbitMq: rabbitmq,
              database:
                  postgres instanceof InClusterPostgres
                      ? { server: postgres.applicationDatabase(MANAGER_DATABASE) }
                      : { urlSecret: { name: MANAGER_DATABASE_SECRET } },
              observabilityNamespace: observability.namespaceName,
              protect: o.protect,
              monitoringCrds: observability.monitoringCrds,
              dependsOn: [mesh, rabbitmq, ...(postgres instanceof InClusterPostgres ? [postgres] : [])],
          })
        : undefined;

    const records = [certManager, mesh, observability, vault, postgres, rabbitmq, consul, ...(manager ? [manager] : [])].flatMap((c) => c.records);
    return { certManager, mesh, observability, rabbitmq, ...(manager ? { manager } : {}), vault, postgres, consul, records };
}
