import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { meshedNamespaceAllows } from "../mesh/network";
import { PlatformNamespace } from "../namespace";
import { ChartMirror } from "../shared/chart";
import { Cluster } from "../shared/cluster";
import { GeneratedSecret } from "../shared/generated-secret";
import { platformChart } from "../shared/helm";
import { ALLOW_KUBE_API, checkCount, checkQuantity, containerResources, deliveredStatus, serviceHost } from "../shared/kubernetes";
import { ComponentType, namespaceRecordId, RECORD_IDS, RecordSource, ResourceRecord, resourceRecord } from "../shared/records";
import { StandardTags, standardLabels } from "../shared/tags";
import { VAULT_CHART, VAULT_NAMESPACE } from "./charts";

/** Cloud KMS that unseals Vault automatically (no unseal keys held by people or CI). */
export type VaultSeal =
    | { type: "awskms"; region: string; kmsKeyId: pulumi.Input<string> }
    | { type: "azurekeyvault"; tenantId: pulumi.Input<string>; vaultName: pulumi.Input<string>; keyName: pulumi.Input<string> };

/** `dev`: one in-memory server with a generated root token (local and review templates only). `ha`: Raft cluster with KMS auto-unseal. */
export type VaultMode =
    | { kind: "dev" }
    | {
          kind: "ha";
          /** Raft voters. Default: 3. */
          replicas?: number;
          /** Auto-unseal key. */
          seal: VaultSeal;
          /** Raft volume per replica. Default: `10Gi`. */
          storageSize?: string;
          /** Storage class. Default: the cluster's default class. */
          storageClass?: string;
          /** Annotations for Vault's service account (workload identity / IRSA to reach the KMS). Default: none. */
          serviceAccountAnnotations?: Record<string, pulumi.Input<string>>;
          /** Extra labels on Vault's pods (e.g. `azure.workload.identity/use`). Default: none. */
          podLabels?: Record<string, string>;
      };

export interface VaultServerArgs {
    /** The cluster Vault runs in. */
    cluster: Cluster;
    /** The environment's standard tags (become labels). */
    tags: StandardTags;
    /**
     * The environment's data is disposable, so Vault may run in dev mode (the
     * template says so: `vaultDevMode` in environments/template-registry.ts;
     * never the environment's name). Default: false.
     */
    devModeAllowed?: boolean;
    /** Dev or HA. */
    mode: VaultMode;
    /** Chart mirror of the environment. Default: upstream repositories. */
    chartMirror?: ChartMirror;
    /** What must exist first (the mesh). Default: nothing. */
    dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/** Throws a message naming the setting and what is allowed. */
export function validateVaultServerArgs(name: string, args: VaultServerArgs, environment = args.tags.environment): void {
    const c = `vault "${name}"`;
    const kinds = ["dev", "ha"];
    if (!kinds.includes(args.mode.kind)) {
        throw new Error(`${c}: mode.kind is "${String(args.mode.kind)}"; allowed: ${kinds.join(", ")}`);
    }
    // Dev mode keeps everything in memory: only where data is disposable, as the template says.
    if (args.mode.kind === "dev" && args.devModeAllowed !== true) {
        throw new Error(
            `${c}: mode.kind "dev" is only allowed where data is disposable (devModeAllowed: the local and review templates), and "${environment}" is not such an environment; use "ha" with a KMS seal`,
        );
    }
    if (args.mode.kind === "ha") {
        const replicas = args.mode.replicas ?? 3;
        checkCount(c, "mode.replicas", replicas, 3, 7);
        if (replicas % 2 === 0) {
            throw new Error(`${c}: mode.replicas is ${replicas}; allowed: an odd number (3, 5 or 7) so Raft keeps a quorum`);
        }
        checkQuantity(c, "mode.storageSize", args.mode.storageSize);
        const seals = ["awskms", "azurekeyvault"];
        if (!seals.includes(args.mode.seal.type)) {
            throw new Error(`${c}: mode.seal.type is "${String(args.mode.seal.type)}"; allowed: ${seals.join(", ")}`);
        }
    }
}

/** The Raft + auto-unseal configuration (HCL). Secrets never go here: it lands in a ConfigMap. */
function haConfig(seal: VaultSeal): pulumi.Output<string> {
    const sealStanza =
        seal.type === "awskms"
            ? pulumi.interpolate`seal "awskms" {\n  region     = "${seal.region}"\n  kms_key_id = "${seal.kmsKeyId}"\n}`
            : pulumi.interpolate`seal "azurekeyvault" {\n  tenant_id  = "${seal.tenantId}"\n  vault_name = "${seal.vaultName}"\n  key_name   = "${seal.keyName}"\n}`;
    return pulumi.interpolate`ui = true
listener "tcp" {
  address         = "[::]:8200"
  cluster_address = "[::]:8201"
  tls_disable     = 1 # in-cluster traffic is encrypted by the mesh's mTLS
  telemetry {
    unauthenticated_metrics_access = true
  }
}
storage "raft" {
  path = "/vault/data"
  retry_join {
    leader_api_addr = "http://vault-0.vault-internal:8200"
  }
}
${sealStanza}
service_registration "kubernetes" {}
telemetry {
  prometheus_retention_time = "30s"
  disable_hostname          = true
}
`;
}

const TYPE: ComponentType = "platform:vault:VaultServer";

/**
 * Vault from HashiCorp's chart: dev mode with a generated root token for
 * `local`, an HA Raft cluster unsealed by a cloud KMS elsewhere. It joins the
 * mesh, so its traffic is encrypted by mTLS. Configure it with
 * VaultConfiguration once it answers.
 */
export class VaultServer extends pulumi.ComponentResource implements RecordSource {
    /** In-cluster address of the active Vault server. */
    public readonly address = `http://${serviceHost("vault", VAULT_NAMESPACE)}:8200`;
    /** Root token of a dev server (secret); undefined in HA mode, where `vault operator init` creates it. */
    public readonly devRootToken: pulumi.Output<string> | undefined;
    public readonly chart: k8s.helm.v4.Chart;
    public readonly records: ResourceRecord[];

    constructor(name: string, args: VaultServerArgs, opts?: pulumi.ComponentResourceOptions) {
        validateVaultServerArgs(name, args);
        super(TYPE, name, {}, opts);
        const labels = standardLabels(args.tags, { name: "vault", instance: name, component: "secrets" });
        const namespace = new PlatformNamespace(
            `${name}-ns`,
            {
                cluster: args.cluster,
                namespaceName: VAULT_NAMESPACE,
                tags: args.tags,
                // Every platform service logs in to Vault; Vault reviews their tokens with the API server and reaches the KMS.
                ...meshedNamespaceAllows({
                    ingress: [{ name: "clients", ports: [{ port: 8200 }], peers: "anywhere" }],
                    egress: [ALLOW_KUBE_API, { name: "kms-and-databases", ports: [{ port: 443 }, { port: 5432 }], peers: "anywhere" }],
                }),
            },
            { parent: this },
        );

        const server: Record<string, unknown> = {
            resources: containerResources("100m", "256Mi", "1Gi"),
            // The chart's own data-storage defaults; overridden per mode below.
            dataStorage: { enabled: args.mode.kind === "ha" },
        };
        const dependsOn: pulumi.Input<pulumi.Resource>[] = [namespace, ...(args.dependsOn ?? [])];
        let replicas = 1;
        if (args.mode.kind === "dev") {
            const token = new GeneratedSecret(
                `${name}-dev-root-token`,
                {
                    namespace: VAULT_NAMESPACE,
                    secretName: "vault-dev-root-token",
                    generatedKeys: ["token"],
                    labels,
                    provider: args.cluster.provider,
                    rendered: args.cluster.deliveryMode === "render",
                },
                { parent: this, dependsOn: [namespace] },
            );
            dependsOn.push(token);
            this.devRootToken = token.value("token");
            // The chart would put `devRootToken` in the pod spec in plain text; the
            // flag reads it from the Secret instead and takes precedence over it.
            server.dev = { enabled: true, devRootToken: "set-from-secret" };
            server.extraSecretEnvironmentVars = [{ envName: "PLATFORM_DEV_ROOT_TOKEN", secretName: token.secretName, secretKey: "token" }];
            server.extraArgs = "-dev-root-token-id=$PLATFORM_DEV_ROOT_TOKEN";
        } else {
            replicas = args.mode.replicas ?? 3;
            server.ha = { enabled: true, replicas, raft: { enabled: true, setNodeId: true, config: haConfig(args.mode.seal) } };
            server.dataStorage = { enabled: true, size: args.mode.storageSize ?? "10Gi", storageClass: args.mode.storageClass };
            server.serviceAccount = { annotations: args.mode.serviceAccountAnnotations ?? {} };
            server.extraLabels = args.mode.podLabels ?? {};
            server.affinity = ""; // the chart's default anti-affinity is required; let the scheduler spread instead
            server.topologySpreadConstraints = [
                {
                    maxSkew: 1,
                    topologyKey: "topology.kubernetes.io/zone",
                    whenUnsatisfiable: "ScheduleAnyway",
                    labelSelector: { matchLabels: { "app.kubernetes.io/name": "vault", component: "server" } },
                },
            ];
        }

        this.chart = platformChart(
            `${name}-chart`,
            {
                cluster: args.cluster,
                chart: VAULT_CHART,
                mirror: args.chartMirror,
                namespace: VAULT_NAMESPACE,
                labels,
                values: {
                    fullnameOverride: "vault",
                    global: { tlsDisable: true },
                    // Services authenticate with the Kubernetes auth method directly; no agent injector webhook.
                    injector: { enabled: false },
                    // `server.annotations` are the pods' annotations in this chart.
                    server: { ...server, annotations: { "sidecar.istio.io/inject": "true" } },
                    ui: { enabled: true },
                },
                dependsOn,
            },
            { parent: this },
        );

        this.records = [
            ...namespace.records,
            resourceRecord(TYPE, {
                id: RECORD_IDS.vault,
                count: replicas,
                status: deliveredStatus(args.cluster),
                entrypoints: [this.address],
                statusEndpoints: [`${this.address}/v1/sys/health`],
                dependsOn: [namespaceRecordId(VAULT_NAMESPACE), RECORD_IDS.istiod],
            }),
        ];
        this.registerOutputs({ address: this.address });
    }
}
