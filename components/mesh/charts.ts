import { UpstreamChart } from "../shared/chart";

/** Istio release the mesh runs; every Istio chart is pinned to it. */
export const ISTIO_VERSION = "1.30.3";
const ISTIO_REPOSITORY = "https://istio-release.storage.googleapis.com/charts";

export const ISTIO_BASE_CHART: UpstreamChart = { name: "base", version: ISTIO_VERSION, repository: ISTIO_REPOSITORY };
export const ISTIOD_CHART: UpstreamChart = { name: "istiod", version: ISTIO_VERSION, repository: ISTIO_REPOSITORY };
export const ISTIO_GATEWAY_CHART: UpstreamChart = { name: "gateway", version: ISTIO_VERSION, repository: ISTIO_REPOSITORY };

/** Namespaces of the mesh control plane and gateways. */
export const MESH_NAMESPACES = {
    control: "istio-system",
    ingress: "istio-ingress",
    egress: "istio-egress",
} as const;
