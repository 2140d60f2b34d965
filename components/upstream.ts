// Every upstream chart and manifest the components pin, in one list: for
// preflight checks, for filling a chart mirror, and for the README. Each pin
// lives in its component's charts.ts; so do the releases a component
// installs (the keys of `platform:chartValues`, `<component>/<release>`).
import { CERT_MANAGER_CHART, CERT_MANAGER_RELEASES } from "./cert-manager/charts";
import { CONSUL_CHART, CONSUL_RELEASES } from "./consul/charts";
import { ISTIO_BASE_CHART, ISTIO_GATEWAY_CHART, ISTIOD_CHART, MESH_RELEASES } from "./mesh/charts";
import { OBSERVABILITY_CHARTS, OBSERVABILITY_RELEASES } from "./observability/charts";
import { BARMAN_CLOUD_PLUGIN_CHART, CLOUDNATIVE_PG_CHART, POSTGRES_RELEASES } from "./postgres/charts";
import { RABBITMQ_OPERATOR_MANIFEST } from "./rabbitmq/charts";
import { UpstreamChart, UpstreamManifest } from "./shared/chart";
import { ChartRelease } from "./shared/chart-values";
import { VAULT_CHART, VAULT_RELEASES } from "./vault/charts";

export const MESH_CHARTS: UpstreamChart[] = [CERT_MANAGER_CHART, ISTIO_BASE_CHART, ISTIOD_CHART, ISTIO_GATEWAY_CHART];

/** The charts of an environment that runs every in-cluster component (backups off). */
export const IN_CLUSTER_CHARTS: UpstreamChart[] = [
    ...MESH_CHARTS,
    ...OBSERVABILITY_CHARTS,
    VAULT_CHART,
    CLOUDNATIVE_PG_CHART,
    CONSUL_CHART,
];

export const PLATFORM_CHARTS: UpstreamChart[] = [...IN_CLUSTER_CHARTS, BARMAN_CLOUD_PLUGIN_CHART];
export const PLATFORM_MANIFESTS: UpstreamManifest[] = [RABBITMQ_OPERATOR_MANIFEST];

/** Every release a component can install, in the order the platform installs them. */
export const PLATFORM_RELEASES: ChartRelease[] = [
    ...CERT_MANAGER_RELEASES,
    ...MESH_RELEASES,
    ...OBSERVABILITY_RELEASES,
    ...VAULT_RELEASES,
    ...POSTGRES_RELEASES,
    ...CONSUL_RELEASES,
];

/** The releases of an environment that runs every in-cluster component (backups off: no Barman Cloud plugin). */
export const IN_CLUSTER_RELEASES: ChartRelease[] = PLATFORM_RELEASES.filter((r) => IN_CLUSTER_CHARTS.includes(r.chart));

/** The releases of the in-cluster Postgres (CloudNativePG), which an environment with a managed server does not install. */
export const IN_CLUSTER_POSTGRES_RELEASES: ChartRelease[] = POSTGRES_RELEASES;
