import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { meshedNamespaceAllows, OBSERVABILITY_NAMESPACE } from "../mesh/network";
import { NetworkAllow, PlatformNamespace } from "../namespace";
import { Cluster } from "../shared/cluster";
import { GeneratedSecret } from "../shared/generated-secret";
import { ALLOW_KUBE_API, checkCount, containerResources, deliveredStatus, serviceHost, withDefaults } from "../shared/kubernetes";
import { ComponentType, namespaceRecordId, RECORD_IDS, RecordSource, ResourceRecord, resourceRecord } from "../shared/records";
import { StandardTags, standardLabels } from "../shared/tags";
import { amqpFromRabbitMq, ManagerRabbitMq } from "./amqp";
import { IMAGE_ALLOWED, isImagePinnedByDigest, MANAGER_REPLICAS } from "./args";
import { databaseFromServer, databaseFromUrlSecret, ManagerDatabase, ManagerDatabaseUrl } from "./database";

export * from "./amqp";
export * from "./args";
export * from "./database";

/** Where the manager's credentials are mounted, one directory per Secret (never environment variables). */
export const SECRETS_DIR = "/var/run/secrets/platform-manager";
/** Where non-secret files (JWKS, stack defaults) are mounted. */
export const CONFIG_DIR = "/etc/platform-manager";
/** The repository checkout inside the image (manager/Dockerfile), whose Pulumi program the manager runs. */
export const PROJECT_DIR = "/opt/platform";
/** The API's port (`--listen`). */
export const HTTP_PORT = 8080;
/** The sidecar's merged metrics (Envoy's and the manager's /metrics): what Prometheus scrapes from outside the mesh. */
export const MERGED_METRICS_PORT = 15020;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** An object name (a DNS subdomain): what a Secret may be called. */
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** State backends the manager can reach over HTTPS (object storage); `file://` has no place in a pod. */
const STATE_BACKEND = /^(s3|azblob|gs|https):\/\/\S+$/;

/** How API bearer tokens are verified. */
export type ManagerTokenVerification =
    /** An HS256 key generated once (GeneratedSecret) into `platform-manager-token`, key `key`. */
    | { kind: "hs256" }
    /** Public keys in a ConfigMap of the manager's namespace. */
    | { kind: "jwks"; configMapName: string; key?: string };

export interface EnvironmentManagerArgs {
    /** The cluster the manager runs in. */
    cluster: Cluster;
    /** The environment's standard tags (become labels). */
    tags: StandardTags;
    /** Namespace of the manager. Default: the instance's name. */
    namespace?: string;
    /** The manager's image, pinned by digest (`registry/repository@sha256:<64 hex>`; the `manager:image` CI job records it). Required. */
    image: string;
    /** Replicas; one leads (a Kubernetes Lease), the others serve reads. Default: 2; allowed 1 to 5. */
    replicas?: number;
    /** The event bus commands arrive on. */
    rabbitMq: ManagerRabbitMq;
    /** The read model's Postgres. */
    database: ManagerDatabase;
    /** Namespace of the Prometheus that scrapes the manager (the Observability instance's). Default: `observability`. */
    observabilityNamespace?: string;
    /** Bearer token verification. Default: a generated HS256 key. */
    tokenVerification?: ManagerTokenVerification;
    /** The tokens' issuer (`--issuer`). Default: `platform`. */
    issuer?: string;
    /** The tokens' audience (`--audience`). Default: `platform-manager`. */
    audience?: string;
    /** Namespaces whose pods call the API on 8080, besides the ingress gateway. Default: none. */
    clientNamespaces?: string[];
    /** PLATFORM_STATE_BACKEND_URL: where the environments it creates keep their state (s3://, azblob://, gs://, https://). Default: none (the manager refuses commands until set). */
    stateBackendUrl?: string;
    /** platform:* settings every environment it creates gets (`--stack-defaults`), mounted from a ConfigMap. Default: none. */
    stackDefaults?: Record<string, string>;
    /** Commands executed at once (`--concurrency`, each a whole pulumi run). Default: 2; allowed 1 to 16. */
    concurrency?: number;
    /** Keep the namespace and its Secrets on `pulumi destroy`. Default: false. */
    protect?: boolean;
    /** The chart that installs the ServiceMonitor CRD (Observability.monitoringCrds). Default: none (the CRD must exist). */
    monitoringCrds?: pulumi.Resource;
    /** What must exist first: the mesh (sidecar injection), the bus and the database. */
    dependsOn?: pulumi.Input<pulumi.Resource>[];
}

export const ENVIRONMENT_MANAGER_DEFAULTS = {
    replicas: MANAGER_REPLICAS.default,
    observabilityNamespace: OBSERVABILITY_NAMESPACE,
    issuer: "platform",
    audience: "platform-manager",
    concurrency: 2,
    leaseName: "platform-manager-leader",
} as const;

/** Throws a message naming the setting and what is allowed. */
export function validateEnvironmentManagerArgs(name: string, args: EnvironmentManagerArgs): void {
    const c = `manager "${name}"`;
    // Unknown: a program in JavaScript, or config read as JSON, may pass anything.
    const image: unknown = args.image;
    if (!isImagePinnedByDigest(image)) {
        const tagged = typeof image === "string" && !image.includes("@") ? " (a tag can move to another image)" : "";
        throw new Error(`${c}: image is ${JSON.stringify(image)}${tagged}; allowed: ${IMAGE_ALLOWED}`);
    }
    checkCount(c, "replicas", args.replicas, MANAGER_REPLICAS.min, MANAGER_REPLICAS.max);
    checkCount(c, "concurrency", args.concurrency, 1, 16);
    const ns = args.namespace ?? name;
    if (!DNS_LABEL.test(ns)) {
        throw new Error(`${c}: namespace is "${ns}"; allowed: a DNS label (lower-case letters, digits and '-', at most 63 characters)`);
    }
    for (const [setting, value] of [["issuer", args.issuer], ["audience", args.audience]] as const) {
        if (value !== undefined && value.trim() === "") {
            throw new Error(`${c}: ${setting} is empty; allowed: the tokens' ${setting}, such as ${ENVIRONMENT_MANAGER_DEFAULTS[setting]}`);
        }
    }
    if (args.stateBackendUrl !== undefined && !STATE_BACKEND.test(args.stateBackendUrl)) {
        throw new Error(`${c}: stateBackendUrl is "${args.stateBackendUrl}"; allowed: an s3://, azblob://, gs:// or https:// backend URL`);
    }
    if (!DNS_LABEL.test(args.rabbitMq.namespace)) {
        throw new Error(`${c}: rabbitMq.namespace is "${args.rabbitMq.namespace}"; allowed: the broker's namespace (DNS label)`);
    }
    if (args.rabbitMq.username.trim() === "") {
        throw new Error(`${c}: rabbitMq.username is empty; allowed: the broker user the manager connects as (a RabbitMq instance's username)`);
    }
    if (!DNS_SUBDOMAIN.test(args.rabbitMq.credentialsSecretName)) {
        throw new Error(
            `${c}: rabbitMq.credentialsSecretName is "${args.rabbitMq.credentialsSecretName}"; allowed: a Secret name in the broker's namespace holding key password (a RabbitMq instance's credentialsSecretName)`,
        );
    }
    if ("urlSecret" in args.database && !DNS_LABEL.test(args.database.urlSecret.name)) {
        throw new Error(`${c}: database.urlSecret.name is "${args.database.urlSecret.name}"; allowed: a Secret name (DNS label) in the manager's namespace`);
    }
    if ("server" in args.database && !DNS_LABEL.test(args.database.server.namespace)) {
        throw new Error(`${c}: database.server.namespace is "${args.database.server.namespace}"; allowed: the server's namespace (DNS label)`);
    }
    if (args.tokenVerification?.kind === "jwks" && !DNS_LABEL.test(args.tokenVerification.configMapName)) {
        throw new Error(`${c}: tokenVerification.configMapName is "${args.tokenVerification.configMapName}"; allowed: a ConfigMap name (DNS label) in the manager's namespace`);
    }
    for (const client of args.clientNamespaces ?? []) {
        if (!DNS_LABEL.test(client)) {
            throw new Error(`${c}: clientNamespaces has "${client}"; allowed: namespace names (DNS labels)`);
        }
    }
}

const TYPE: ComponentType = "platform:manager:EnvironmentManager";
/** The record id other records may depend on. */
export const MANAGER_RECORD = "manager";

/** A mounted file: the directory of its volume, then the key. */
const mounted = (dir: string, key: string) => `${dir}/${key}`;

/**
 * The environment manager (manager/, `platform-manager server --primary`) in a
 * meshed namespace: replicas that elect a leader with a Lease, credentials
 * mounted as files, a Service for the API, a ServiceMonitor on the sidecar's
 * merged metrics and a PodDisruptionBudget.
 */
export class EnvironmentManager extends pulumi.ComponentResource implements RecordSource {
    public readonly namespace: string;
    /** In-cluster host name of the API (port 8080). */
    public readonly host: string;
    public readonly port = HTTP_PORT;
    public readonly leaseName: string = ENVIRONMENT_MANAGER_DEFAULTS.leaseName;
    /** Secret holding the HS256 key (`key`) when tokens are verified with one. */
    public readonly tokenSecretName: string | undefined;
    public readonly records: ResourceRecord[];

    constructor(name: string, args: EnvironmentManagerArgs, opts?: pulumi.ComponentResourceOptions) {
        validateEnvironmentManagerArgs(name, args);
        super(TYPE, name, {}, opts);
        const a = { ...withDefaults(ENVIRONMENT_MANAGER_DEFAULTS, args), namespace: args.namespace ?? name };
        this.namespace = a.namespace;
        const serviceName = "platform-manager";
        this.host = serviceHost(serviceName, a.namespace);
        const labels = (component: string) => standardLabels(a.tags, { name: "platform-manager", instance: name, component });
        const selector = { "app.kubernetes.io/name": "platform-manager", "app.kubernetes.io/instance": name };
        const rendered = a.cluster.deliveryMode === "render";
        const childOpts = { parent: this, provider: a.cluster.provider };
        const server = "server" in a.database ? a.database.server : undefined;
        const serverNamespace = server ? server.namespace : "urlSecret" in a.database ? a.database.serverNamespace : undefined;

        const egress: NetworkAllow[] = [
            { name: "rabbitmq", ports: [{ port: a.rabbitMq.port }], peers: { namespaces: [a.rabbitMq.namespace] } },
            { name: "postgres", ports: [{ port: server?.port ?? 5432 }], peers: serverNamespace ? { namespaces: [serverNamespace] } : "anywhere" },
            // The Lease, and the clusters of the environments it deploys.
            ALLOW_KUBE_API,
            // State backend, secrets providers and chart mirrors are object stores and APIs outside the cluster.
            { name: "state-backend", ports: [{ port: 443 }], peers: "anywhere" },
        ];
        const namespace = new PlatformNamespace(
            `${name}-ns`,
            {
                cluster: a.cluster,
                namespaceName: a.namespace,
                tags: a.tags,
                // The ingress gateway (every port) and Prometheus on the sidecar's merged metrics come with the mesh allows.
                ...meshedNamespaceAllows({
                    observabilityNamespace: a.observabilityNamespace,
                    ingress: a.clientNamespaces?.length ? [{ name: "clients", ports: [{ port: HTTP_PORT }], peers: { namespaces: a.clientNamespaces } }] : [],
                    egress,
                }),
            },
            { parent: this, protect: a.protect },
        );
        const nsDeps = [namespace];

        // The broker's URL and password: a Secret of the manager's own (pods mount no Secret of another namespace).
        const amqp = amqpFromRabbitMq(
            name,
            a.rabbitMq,
            { namespace: a.namespace, rendered, labels: labels("credentials"), provider: a.cluster.provider, dir: `${SECRETS_DIR}/amqp` },
            { ...childOpts, dependsOn: nsDeps },
        );

        const tokenVerification = a.tokenVerification ?? { kind: "hs256" as const };
        const credentialDeps: pulumi.Resource[] = [...amqp.deps];
        let tokenVolume: k8s.types.input.core.v1.Volume;
        let tokenArgs: string[];
        if (tokenVerification.kind === "hs256") {
            const token = new GeneratedSecret(
                `${name}-token`,
                {
                    namespace: a.namespace,
                    secretName: "platform-manager-token",
                    generatedKeys: ["key"],
                    length: 64,
                    labels: labels("credentials"),
                    provider: a.cluster.provider,
                    rendered,
                },
                { parent: this, dependsOn: nsDeps, protect: a.protect },
            );
            this.tokenSecretName = token.secretName;
            credentialDeps.push(token);
            tokenVolume = { name: "token", secret: { secretName: token.secretName, defaultMode: 0o440 } };
            tokenArgs = ["--token-secret-file", mounted(`${SECRETS_DIR}/token`, "key")];
        } else {
            const key = tokenVerification.key ?? "jwks.json";
            tokenVolume = { name: "token", configMap: { name: tokenVerification.configMapName, items: [{ key, path: key }] } };
            tokenArgs = ["--jwks-file", mounted(`${CONFIG_DIR}/jwks`, key)];
        }

        const configVolumes: k8s.types.input.core.v1.Volume[] = [];
        const configArgs: string[] = [];
        if (a.stackDefaults && Object.keys(a.stackDefaults).length > 0) {
            const defaultsMap = new k8s.core.v1.ConfigMap(
                `${name}-stack-defaults`,
                {
                    metadata: { name: "platform-manager-stack-defaults", namespace: a.namespace, labels: labels("config") },
                    data: { "stack-defaults.json": JSON.stringify(a.stackDefaults) },
                },
                { ...childOpts, dependsOn: nsDeps },
            );
            credentialDeps.push(defaultsMap);
            configVolumes.push({ name: "stack-defaults", configMap: { name: "platform-manager-stack-defaults" } });
            configArgs.push("--stack-defaults", mounted(`${CONFIG_DIR}/stack-defaults`, "stack-defaults.json"));
        }

        const serviceAccount = new k8s.core.v1.ServiceAccount(
            `${name}-sa`,
            { metadata: { name: "platform-manager", namespace: a.namespace, labels: labels("identity") } },
            { ...childOpts, dependsOn: nsDeps },
        );
        const role = new k8s.rbac.v1.Role(
            `${name}-lease-role`,
            {
                metadata: { name: "platform-manager-lease", namespace: a.namespace, labels: labels("identity") },
                rules: [
                    { apiGroups: ["coordination.k8s.io"], resources: ["leases"], resourceNames: [this.leaseName], verbs: ["get", "update"] },
                    // RBAC cannot limit `create` by name (the object has none yet); the Role is confined to this namespace.
                    { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
                ],
            },
            { ...childOpts, dependsOn: nsDeps },
        );
        const binding = new k8s.rbac.v1.RoleBinding(
            `${name}-lease-binding`,
            {
                metadata: { name: "platform-manager-lease", namespace: a.namespace, labels: labels("identity") },
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "platform-manager-lease" },
                subjects: [{ kind: "ServiceAccount", name: "platform-manager", namespace: a.namespace }],
            },
            { ...childOpts, dependsOn: [role, serviceAccount] },
        );

        const database = server
            ? databaseFromServer(name, server, { namespace: a.namespace, rendered, labels: labels("credentials"), provider: a.cluster.provider, dir: `${SECRETS_DIR}/database` }, { ...childOpts, dependsOn: nsDeps })
            : databaseFromUrlSecret((a.database as ManagerDatabaseUrl).urlSecret, `${SECRETS_DIR}/database`);
        credentialDeps.push(...database.deps);
        const serverArgs = [
            "server",
            "--primary",
            "--listen",
            `0.0.0.0:${HTTP_PORT}`,
            ...amqp.args,
            ...database.args,
            ...tokenArgs,
            "--issuer",
            a.issuer,
            "--audience",
            a.audience,
            "--lease-namespace",
            a.namespace,
            "--lease-name",
            this.leaseName,
            "--project-dir",
            PROJECT_DIR,
            "--concurrency",
            String(a.concurrency),
            ...configArgs,
        ];
        const restricted = {
            runAsNonRoot: true,
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ["ALL"] },
            seccompProfile: { type: "RuntimeDefault" },
        };
        const podLabels = labels("manager");
        new k8s.apps.v1.Deployment(
            `${name}-deployment`,
            {
                metadata: { name: "platform-manager", namespace: a.namespace, labels: podLabels },
                spec: {
                    replicas: a.replicas,
                    selector: { matchLabels: selector },
                    // One replica at a time: the new one waits for the Lease while the old one finishes its run.
                    strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
                    template: {
                        metadata: {
                            labels: podLabels,
                            annotations: {
                                // Istio's metrics merging: the sidecar serves these on 15020 with its own, reachable from outside the mesh.
                                "prometheus.io/scrape": "true",
                                "prometheus.io/port": String(HTTP_PORT),
                                "prometheus.io/path": "/metrics",
                            },
                        },
                        spec: {
                            serviceAccountName: "platform-manager",
                            // A pulumi run stopped mid-way is recovered by the next leader; this gives the current one time to finish a step.
                            terminationGracePeriodSeconds: 120,
                            securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001, seccompProfile: { type: "RuntimeDefault" } },
                            topologySpreadConstraints: [
                                // ScheduleAnyway: a one-node local cluster still runs every replica.
                                { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: selector } },
                            ],
                            initContainers: [
                                {
                                    // The stack files the manager writes live beside the committed ones, on a writable volume.
                                    name: "stacks",
                                    image: a.image,
                                    command: ["cp", "-R", `${PROJECT_DIR}/stacks/.`, "/stacks/"],
                                    securityContext: restricted,
                                    resources: containerResources("50m", "64Mi"),
                                    volumeMounts: [{ name: "stacks", mountPath: "/stacks" }],
                                },
                            ],
                            containers: [
                                {
                                    name: "manager",
                                    image: a.image,
                                    args: serverArgs,
                                    ports: [{ name: "http", containerPort: HTTP_PORT, protocol: "TCP" }],
                                    // No credential here: they are files (args above), and env shows in `kubectl describe`.
                                    env: [
                                        ...(a.stateBackendUrl ? [{ name: "PLATFORM_STATE_BACKEND_URL", value: a.stateBackendUrl }] : []),
                                        { name: "PULUMI_HOME", value: "/var/lib/platform-manager/pulumi-home" },
                                        { name: "PULUMI_SKIP_UPDATE_CHECK", value: "true" },
                                        { name: "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION", value: "true" },
                                    ],
                                    securityContext: restricted,
                                    // Each command is a pulumi run (engine, language host, provider): memory goes with --concurrency.
                                    resources: containerResources("500m", "1Gi", "4Gi"),
                                    livenessProbe: { httpGet: { path: "/api/v1/healthz", port: "http" }, initialDelaySeconds: 10, periodSeconds: 20, failureThreshold: 3 },
                                    readinessProbe: { httpGet: { path: "/api/v1/readyz", port: "http" }, periodSeconds: 10, failureThreshold: 3 },
                                    volumeMounts: [
                                        { name: "amqp", mountPath: `${SECRETS_DIR}/amqp`, readOnly: true },
                                        { name: "database", mountPath: `${SECRETS_DIR}/database`, readOnly: true },
                                        tokenVerification.kind === "hs256"
                                            ? { name: "token", mountPath: `${SECRETS_DIR}/token`, readOnly: true }
                                            : { name: "token", mountPath: `${CONFIG_DIR}/jwks`, readOnly: true },
                                        ...configVolumes.map((v) => ({ name: v.name, mountPath: `${CONFIG_DIR}/${v.name}`, readOnly: true })),
                                        { name: "stacks", mountPath: `${PROJECT_DIR}/stacks` },
                                        { name: "rendered", mountPath: `${PROJECT_DIR}/rendered` },
                                        { name: "pulumi-home", mountPath: "/var/lib/platform-manager/pulumi-home" },
                                        { name: "tmp", mountPath: "/tmp" },
                                    ],
                                },
                            ],
                            volumes: [
                                { name: "amqp", secret: { secretName: amqp.secretName, defaultMode: 0o440, items: amqp.keys.map((k) => ({ key: k, path: k })) } },
                                { name: "database", secret: { secretName: database.secretName, defaultMode: 0o440, items: database.keys.map((k) => ({ key: k, path: k })) } },
                                tokenVolume,
                                ...configVolumes,
                                { name: "stacks", emptyDir: {} },
                                { name: "rendered", emptyDir: {} },
                                { name: "pulumi-home", emptyDir: {} },
                                { name: "tmp", emptyDir: {} },
                            ],
                        },
                    },
                },
            },
            { ...childOpts, dependsOn: [...credentialDeps, binding, ...(a.dependsOn ?? [])] },
        );

        const service = new k8s.core.v1.Service(
            `${name}-service`,
            {
                metadata: { name: serviceName, namespace: a.namespace, labels: labels("api") },
                spec: {
                    type: "ClusterIP",
                    selector,
                    ports: [
                        { name: "http", port: HTTP_PORT, targetPort: "http", protocol: "TCP" },
                        { name: "http-monitoring", port: MERGED_METRICS_PORT, targetPort: MERGED_METRICS_PORT, protocol: "TCP" },
                    ],
                },
            },
            { ...childOpts, dependsOn: nsDeps },
        );
        // STRICT mTLS keeps Prometheus (outside the mesh) off 8080: it scrapes the sidecar's merged metrics, which include /metrics.
        new k8s.apiextensions.CustomResource(
            `${name}-service-monitor`,
            {
                apiVersion: "monitoring.coreos.com/v1",
                kind: "ServiceMonitor",
                metadata: { name: serviceName, namespace: a.namespace, labels: labels("metrics") },
                spec: {
                    selector: { matchLabels: selector },
                    endpoints: [{ port: "http-monitoring", path: "/stats/prometheus", interval: "30s" }],
                },
            },
            { ...childOpts, dependsOn: [service, ...(a.monitoringCrds ? [a.monitoringCrds] : [])] },
        );
        // With one replica, minAvailable 1 would block every node drain.
        if (a.replicas > 1) {
            new k8s.policy.v1.PodDisruptionBudget(
                `${name}-pdb`,
                {
                    metadata: { name: "platform-manager", namespace: a.namespace, labels: labels("availability") },
                    spec: { minAvailable: 1, selector: { matchLabels: selector } },
                },
                { ...childOpts, dependsOn: nsDeps },
            );
        }

        this.records = [
            ...namespace.records,
            resourceRecord(TYPE, {
                id: MANAGER_RECORD,
                count: a.replicas,
                status: deliveredStatus(a.cluster),
                entrypoints: [`http://${this.host}:${HTTP_PORT}/api/v1`],
                statusEndpoints: [`http://${this.host}:${HTTP_PORT}/api/v1/readyz`],
                // "rabbitmq" is RabbitMq's record id.
                dependsOn: [namespaceRecordId(a.namespace), RECORD_IDS.istiod, "rabbitmq", ...(serverNamespace ? [RECORD_IDS.postgres] : [])],
            }),
        ];
        this.registerOutputs({ namespace: this.namespace, host: this.host, leaseName: this.leaseName });
    }
}
