// Every upstream chart and manifest the components pin, in one list: for
// preflight checks, for filling a chart mirror, and for the README.
import { CERT_MANAGER_CHART } from "./cert-manager";
import { CONSUL_CHART } from "./consul/server";
import { ISTIO_BASE_CHART, ISTIO_GATEWAY_CHART, ISTIOD_CHART } from "./mesh/charts";
import { OBSERVABILITY_CHARTS } from "./observability/charts";
import { BARMAN_CLOUD_PLUGIN_CHART, CLOUDNATIVE_PG_CHART } from "./postgres/in-cluster";
import { RABBITMQ_OPERATOR_MANIFEST } from "./rabbitmq";
import { UpstreamChart, UpstreamManifest } from "./shared/chart";
import { VAULT_CHART } from "./vault/charts";

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
