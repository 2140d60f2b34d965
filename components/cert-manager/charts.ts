import { UpstreamChart } from "../shared/chart";
import { chartReleases, HelmValues } from "../shared/chart-values";
import { containerResources } from "../shared/kubernetes";

/** cert-manager, pinned. */
export const CERT_MANAGER_CHART: UpstreamChart = {
    name: "cert-manager",
    version: "v1.21.1",
    repository: "https://charts.jetstack.io",
};

/** The releases CertManager installs, by release name (the keys of its `valuesOverride`). */
export const CERT_MANAGER_RELEASE_CHARTS = { "cert-manager": CERT_MANAGER_CHART } as const;
export type CertManagerRelease = keyof typeof CERT_MANAGER_RELEASE_CHARTS;
/** `cert-manager/cert-manager` in `platform:chartValues`. */
export const CERT_MANAGER_RELEASES = chartReleases("cert-manager", CERT_MANAGER_RELEASE_CHARTS);

/** The cert-manager chart's values: CRDs kept, `replicas` of the controller, webhook and cainjector (with budgets from 2). */
export function certManagerValues(args: { replicas: number }): HelmValues {
    const resources = containerResources("10m", "64Mi", "256Mi");
    return {
        crds: { enabled: true, keep: true },
        replicaCount: args.replicas,
        resources,
        webhook: { replicaCount: args.replicas, resources, podDisruptionBudget: { enabled: args.replicas > 1 } },
        cainjector: { replicaCount: args.replicas, resources, podDisruptionBudget: { enabled: args.replicas > 1 } },
        // A post-install Helm hook, which the platform does not run; Pulumi waits for the webhook instead.
        startupapicheck: { enabled: false },
        podDisruptionBudget: { enabled: args.replicas > 1 },
    };
}
