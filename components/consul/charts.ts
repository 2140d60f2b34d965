import { UpstreamChart } from "../shared/chart";
import { chartReleases, HelmValues } from "../shared/chart-values";
import { containerResources } from "../shared/kubernetes";

/** HashiCorp's Consul chart (consul-k8s; the chart version is the consul-k8s version). */
export const CONSUL_CHART: UpstreamChart = {
    name: "consul",
    version: "2.0.3",
    repository: "https://helm.releases.hashicorp.com",
};

/** Namespace (and release name) of the platform's instance, `new ConsulServer("consul", …)`: instances default to their own name. */
export const CONSUL_NAMESPACE = "consul";

/** Secrets the platform makes for Consul in place of the chart's Helm-hook jobs (tls-init, gossip-encryption-autogenerate). */
export const CONSUL_SECRETS = { ca: "consul-ca", serverCert: "consul-server-cert", gossip: "consul-gossip-key" } as const;

/** The releases ConsulServer installs, by release name (the keys of its `valuesOverride`). */
export const CONSUL_RELEASE_CHARTS = { consul: CONSUL_CHART } as const;
export type ConsulRelease = keyof typeof CONSUL_RELEASE_CHARTS;
/** `consul/consul` in `platform:chartValues`. */
export const CONSUL_RELEASES = chartReleases("consul", CONSUL_RELEASE_CHARTS);

/** What the Consul chart's values depend on. */
export interface ConsulValuesArgs {
    /** Prefix of the chart's object names (`global.name`): the release name. Default: `consul`. */
    name?: string;
    /** Datacenter name (the environment's). */
    datacenter: string;
    /** Consul servers. */
    replicas: number;
    /** Volume per server. */
    storageSize: string;
    storageClass?: string;
}

/**
 * The Consul chart's values: TLS from the platform's CA Secret, ACLs, gossip
 * encryption with the generated key, metrics; servers only (Istio is the
 * mesh: no Connect injection, no catalog sync).
 */
export function consulValues(args: ConsulValuesArgs): HelmValues {
    return {
        global: {
            name: args.name ?? "consul",
            datacenter: args.datacenter,
            tls: {
                enabled: true,
                httpsOnly: true,
                caCert: { secretName: CONSUL_SECRETS.ca, secretKey: "tls.crt" },
                caKey: { secretName: CONSUL_SECRETS.ca, secretKey: "tls.key" },
            },
            acls: { manageSystemACLs: true },
            gossipEncryption: { autoGenerate: false, secretName: CONSUL_SECRETS.gossip, secretKey: "key" },
            metrics: { enabled: true },
        },
        server: {
            replicas: args.replicas,
            storage: args.storageSize,
            storageClass: args.storageClass,
            resources: containerResources("100m", "256Mi", "1Gi"),
            serverCert: { secretName: CONSUL_SECRETS.serverCert },
            // The chart picks the budget's API version by asking the cluster,
            // which render mode cannot: the component makes a policy/v1 one.
            disruptionBudget: { enabled: false },
        },
        // Istio is the mesh: no Consul sidecars, no catalog sync.
        connectInject: { enabled: false },
        syncCatalog: { enabled: false },
        ui: { enabled: true, metrics: { enabled: false } },
    };
}
