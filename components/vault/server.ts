import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { meshedNamespaceAllows } from "../mesh/network";
import { PlatformNamespace } from "../namespace";
import { ChartMirror } from "../shared/chart";
import { checkValuesOverride, ValuesOverride } from "../shared/chart-values";
import { Cluster } from "../shared/cluster";
import { GeneratedSecret } from "../shared/generated-secret";
import { platformChart } from "../shared/helm";
import { ALLOW_KUBE_API, checkCount, checkQuantity, deliveredStatus, serviceHost } from "../shared/kubernetes";
import { ComponentType, namespaceRecordId, RECORD_IDS, RecordSource, ResourceRecord, resourceRecord } from "../shared/records";
import { StandardTags, standardLabels } from "../shared/tags";
import { VAULT_CHART, VAULT_RELEASE_CHARTS, VaultRelease, vaultValues } from "./charts";
import { VaultMode } from "./types";

export type { VaultMode, VaultSeal } from "./types";

export interface VaultServerArgs {
    /** The cluster Vault runs in. */
    cluster: Cluster;
    /** The environment's standard tags (become labels). */
    tags: StandardTags;
    /**
     * Namespace of this instance. Default: the instance's name (the
     * platform's `vault` instance: `vault`, VAULT_NAMESPACE). The Helm
     * release and the chart's object names (`fullnameOverride`: the Service
     * `<release>`, the pods `<release>-0`…) are the instance's name too, so
     * two instances in one cluster do not collide.
     */
    namespace?: string;
    /** Namespace of the Prometheus that scrapes Vault's sidecar (the Observability instance's `namespaceName`). Default: `observability`. */
    observabilityNamespace?: string;
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
    /** Values merged last over the chart's (`vaultValues`), by release: `vault`. Default: none. */
    valuesOverride?: ValuesOverride<VaultRelease>;
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
    checkValuesOverride(c, args.valuesOverride, Object.keys(VAULT_RELEASE_CHARTS));
}

const TYPE: ComponentType = "platform:vault:VaultServer";

/**
 * Vault from HashiCorp's chart: dev mode with a generated root token for
 * `local`, an HA Raft cluster unsealed by a cloud KMS elsewhere. It joins the
 * mesh, so its traffic is encrypted by mTLS. Configure it with
 * VaultConfiguration once it answers.
 */
export class VaultServer extends pulumi.ComponentResource implements RecordSource {
    /** Namespace of this instance (`args.namespace`, default the instance's name). */
    public readonly namespace: string;
    /** Helm release name, and the chart's object names: the instance's name. */
    public readonly releaseName: string;
    /** In-cluster address of the active Vault server. */
    public readonly address: string;
    /** Root token of a dev server (secret); undefined in HA mode, where `vault operator init` creates it. */
    public readonly devRootToken: pulumi.Output<string> | undefined;
    public readonly chart: k8s.helm.v4.Chart;
    public readonly records: ResourceRecord[];

    constructor(name: string, args: VaultServerArgs, opts?: pulumi.ComponentResourceOptions) {
        validateVaultServerArgs(name, args);
        super(TYPE, name, {}, opts);
        const ns = args.namespace ?? name;
        const release = name;
        this.namespace = ns;
        this.releaseName = release;
        this.address = `http://${serviceHost(release, ns)}:8200`;
        const labels = standardLabels(args.tags, { name: "vault", instance: name, component: "secrets" });
        const namespace = new PlatformNamespace(
            `${name}-ns`,
            {
                cluster: args.cluster,
                namespaceName: ns,
                tags: args.tags,
                // Every platform service logs in to Vault; Vault reviews their tokens with the API server and reaches the KMS.
                ...meshedNamespaceAllows({
                    observabilityNamespace: args.observabilityNamespace,
                    ingress: [{ name: "clients", ports: [{ port: 8200 }], peers: "anywhere" }],
                    egress: [ALLOW_KUBE_API, { name: "kms-and-databases", ports: [{ port: 443 }, { port: 5432 }], peers: "anywhere" }],
                }),
            },
            { parent: this },
        );

        const dependsOn: pulumi.Input<pulumi.Resource>[] = [namespace, ...(args.dependsOn ?? [])];
        let replicas = 1;
        let devRootTokenSecret: string | undefined;
        if (args.mode.kind === "dev") {
            const token = new GeneratedSecret(
                `${name}-dev-root-token`,
                {
                    namespace: ns,
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
            devRootTokenSecret = token.secretName;
        } else {
            replicas = args.mode.replicas ?? 3;
        }

        this.chart = platformChart(
            `${name}-chart`,
            {
                cluster: args.cluster,
                chart: VAULT_CHART,
                mirror: args.chartMirror,
                namespace: ns,
                releaseName: release,
                labels,
                values: vaultValues({ mode: args.mode, devRootTokenSecret, fullname: release }),
                valuesOverride: args.valuesOverride?.vault,
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
                dependsOn: [namespaceRecordId(ns), RECORD_IDS.istiod],
            }),
        ];
        this.registerOutputs({ namespace: this.namespace, address: this.address });
    }
}
