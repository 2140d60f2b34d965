import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { PlatformNamespace } from "../namespace";
import { ChartMirror } from "../shared/chart";
import { checkValuesOverride, ValuesOverride } from "../shared/chart-values";
import { Cluster } from "../shared/cluster";
import { platformChart } from "../shared/helm";
import { ALLOW_KUBE_API, allowWebhook, deliveredStatus, withDefaults } from "../shared/kubernetes";
import { ComponentType, namespaceRecordId, RECORD_IDS, RecordSource, ResourceRecord, resourceRecord } from "../shared/records";
import { StandardTags, standardLabels } from "../shared/tags";
import { CERT_MANAGER_CHART, CERT_MANAGER_RELEASE_CHARTS, CertManagerRelease, certManagerValues } from "./charts";

export * from "./charts";

/** How certificates are issued: a local CA, or ACME (Let's Encrypt or another ACME server). */
export type IssuerConfig =
    | { kind: "self-signed" }
    | {
          kind: "acme";
          /** Account email for expiry notices. */
          email: string;
          /** ACME directory URL. Default: Let's Encrypt production. */
          server?: string;
          /** Ingress class that serves HTTP-01 challenges. Default: `istio`. */
          ingressClass?: string;
      };

/** The cluster's one cert-manager (cluster-wide: one CertManager per cluster, not per instance of a service). */
export interface CertManagerArgs {
    /** The cluster cert-manager runs in. */
    cluster: Cluster;
    /** The environment's standard tags (become labels). */
    tags: StandardTags;
    /** How the platform's ClusterIssuer issues certificates. */
    issuer: IssuerConfig;
    /** Namespace cert-manager runs in. Default: `cert-manager`. cert-manager is cluster-wide: one per cluster, not per instance. */
    namespace?: string;
    /** Controller and webhook replicas. Default: 1 (2 or more in production environments). */
    replicas?: number;
    /** Chart mirror of the environment. Default: upstream repositories. */
    chartMirror?: ChartMirror;
    /** Values merged last over the chart's (`certManagerValues`), by release: `cert-manager`. Default: none. */
    valuesOverride?: ValuesOverride<CertManagerRelease>;
}

export const LETS_ENCRYPT_PRODUCTION = "https://acme-v02.api.letsencrypt.org/directory";

const defaults = { namespace: "cert-manager", replicas: 1 } as const;

/** Throws a message naming the setting and what is allowed. */
export function validateCertManagerArgs(name: string, args: CertManagerArgs): void {
    const kinds = ["self-signed", "acme"];
    if (!kinds.includes(args.issuer.kind)) {
        throw new Error(`cert-manager "${name}": issuer.kind is "${String(args.issuer.kind)}"; allowed: ${kinds.join(", ")}`);
    }
    if (args.issuer.kind === "acme") {
        if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(args.issuer.email)) {
            throw new Error(`cert-manager "${name}": issuer.email is "${args.issuer.email}"; allowed: an email address`);
        }
        if (args.issuer.server !== undefined && !args.issuer.server.startsWith("https://")) {
            throw new Error(`cert-manager "${name}": issuer.server is "${args.issuer.server}"; allowed: an https:// ACME directory URL`);
        }
    }
    const replicas = args.replicas ?? defaults.replicas;
    if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5) {
        throw new Error(`cert-manager "${name}": replicas is ${replicas}; allowed: an integer from 1 to 5`);
    }
    checkValuesOverride(`cert-manager "${name}"`, args.valuesOverride, Object.keys(CERT_MANAGER_RELEASE_CHARTS));
}

const TYPE: ComponentType = "platform:cert-manager:CertManager";

/**
 * cert-manager from the upstream chart (CRDs included) and the platform's
 * ClusterIssuer: a self-signed root CA feeding a CA issuer for `local`, ACME
 * for real environments.
 */
export class CertManager extends pulumi.ComponentResource implements RecordSource {
    /** Name of the ClusterIssuer other components request certificates from. */
    public readonly issuerName: string;
    public readonly chart: k8s.helm.v4.Chart;
    public readonly records: ResourceRecord[];

    constructor(name: string, args: CertManagerArgs, opts?: pulumi.ComponentResourceOptions) {
        validateCertManagerArgs(name, args);
        super(TYPE, name, {}, opts);
        const a = withDefaults(defaults, args);
        const labels = standardLabels(a.tags, { name: "cert-manager", instance: name, component: "certificates" });

        const namespace = new PlatformNamespace(
            `${name}-ns`,
            {
                cluster: a.cluster,
                namespaceName: a.namespace,
                tags: a.tags,
                allowIngress: [allowWebhook(10250), { name: "metrics", ports: [{ port: 9402 }], peers: "anywhere" }],
                // ACME needs the internet; the API server is outside any namespace too.
                allowEgress: [ALLOW_KUBE_API, { name: "acme", ports: [{ port: 443 }, { port: 80 }], peers: "anywhere" }],
            },
            { parent: this },
        );

        this.chart = platformChart(
            `${name}-chart`,
            {
                cluster: a.cluster,
                chart: CERT_MANAGER_CHART,
                mirror: a.chartMirror,
                namespace: a.namespace,
                labels,
                values: certManagerValues({ replicas: a.replicas }),
                valuesOverride: a.valuesOverride?.["cert-manager"],
                dependsOn: [namespace],
            },
            { parent: this },
        );

        const childOpts = { parent: this, provider: a.cluster.provider, dependsOn: [this.chart] };
        if (a.issuer.kind === "self-signed") {
            this.issuerName = "platform-ca";
            const bootstrap = new k8s.apiextensions.CustomResource(
                `${name}-selfsigned`,
                {
                    apiVersion: "cert-manager.io/v1",
                    kind: "ClusterIssuer",
                    metadata: { name: "platform-selfsigned", labels },
                    spec: { selfSigned: {} },
                },
                childOpts,
            );
            const ca = new k8s.apiextensions.CustomResource(
                `${name}-root-ca`,
                {
                    apiVersion: "cert-manager.io/v1",
                    kind: "Certificate",
                    metadata: { name: "platform-root-ca", namespace: a.namespace, labels },
                    spec: {
                        isCA: true,
                        commonName: `platform-${a.tags.environment}-root-ca`,
                        secretName: "platform-root-ca",
                        duration: "87600h",
                        privateKey: { algorithm: "ECDSA", size: 256 },
                        issuerRef: { name: "platform-selfsigned", kind: "ClusterIssuer", group: "cert-manager.io" },
                    },
                },
                { ...childOpts, dependsOn: [this.chart, bootstrap] },
            );
            new k8s.apiextensions.CustomResource(
                `${name}-issuer`,
                {
                    apiVersion: "cert-manager.io/v1",
                    kind: "ClusterIssuer",
                    metadata: { name: this.issuerName, labels },
                    spec: { ca: { secretName: "platform-root-ca" } },
                },
                { ...childOpts, dependsOn: [this.chart, ca] },
            );
        } else {
            this.issuerName = "platform-acme";
            new k8s.apiextensions.CustomResource(
                `${name}-issuer`,
                {
                    apiVersion: "cert-manager.io/v1",
                    kind: "ClusterIssuer",
                    metadata: { name: this.issuerName, labels },
                    spec: {
                        acme: {
                            email: a.issuer.email,
                            server: a.issuer.server ?? LETS_ENCRYPT_PRODUCTION,
                            privateKeySecretRef: { name: "platform-acme-account" },
                            solvers: [{ http01: { ingress: { ingressClassName: a.issuer.ingressClass ?? "istio" } } }],
                        },
                    },
                },
                childOpts,
            );
        }

        this.records = [
            resourceRecord(TYPE, {
                id: RECORD_IDS.certManager,
                count: a.replicas,
                status: deliveredStatus(a.cluster),
                entrypoints: [],
                statusEndpoints: [],
                dependsOn: [RECORD_IDS.cluster, namespaceRecordId(a.namespace)],
            }),
            ...namespace.records,
        ];
        this.registerOutputs({ issuerName: this.issuerName });
    }
}
