import { UpstreamChart } from "../shared/chart";
import { chartReleases, HelmValues } from "../shared/chart-values";
import { containerResources } from "../shared/kubernetes";

/** The CloudNativePG operator. */
export const CLOUDNATIVE_PG_CHART: UpstreamChart = {
    name: "cloudnative-pg",
    version: "0.29.0",
    repository: "https://cloudnative-pg.github.io/charts",
};

/**
 * The Barman Cloud plugin: CloudNativePG's in-tree `barmanObjectStore` backup
 * is deprecated since 1.26, backups go through this plugin instead.
 */
export const BARMAN_CLOUD_PLUGIN_CHART: UpstreamChart = {
    name: "plugin-barman-cloud",
    version: "0.7.0",
    repository: "https://cloudnative-pg.github.io/charts",
};

/** The releases InClusterPostgres installs, by release name (the keys of its `valuesOverride`); the plugin only with backups. */
export const POSTGRES_RELEASE_CHARTS = { "cloudnative-pg": CLOUDNATIVE_PG_CHART, "plugin-barman-cloud": BARMAN_CLOUD_PLUGIN_CHART } as const;
export type PostgresRelease = keyof typeof POSTGRES_RELEASE_CHARTS;
/** `postgres/cloudnative-pg` and `postgres/plugin-barman-cloud` in `platform:chartValues` (managed servers install no chart). */
export const POSTGRES_RELEASES = chartReleases("postgres", POSTGRES_RELEASE_CHARTS);

/** The CloudNativePG operator chart's values. */
export function cloudnativePgValues(): HelmValues {
    return { fullnameOverride: "cnpg", resources: containerResources("50m", "128Mi", "512Mi") };
}

/** The Barman Cloud plugin chart's values. */
export function barmanCloudPluginValues(): HelmValues {
    return { resources: containerResources("10m", "64Mi", "256Mi") };
}
