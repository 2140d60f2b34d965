import { NetworkAllow } from "../shared/kubernetes";
import { MESH_NAMESPACES } from "./charts";

/** Where Prometheus runs; it scrapes sidecars and gateways. */
export const OBSERVABILITY_NAMESPACE = "observability";

/**
 * Egress every meshed namespace needs on top of default-deny: the sidecar
 * fetches its configuration and certificates from istiod (15012) and sends
 * traffic out through the egress gateway.
 */
export const MESHED_EGRESS: NetworkAllow[] = [
    { name: "istiod", ports: [{ port: 15012 }, { port: 15017 }], peers: { namespaces: [MESH_NAMESPACES.control] } },
    { name: "egress-gateway", peers: { namespaces: [MESH_NAMESPACES.egress] } },
];

/**
 * Ingress every meshed namespace needs: requests routed by the ingress
 * gateway, and Prometheus scraping the sidecars' merged metrics (15020) and
 * Envoy stats (15090).
 */
export const MESHED_INGRESS: NetworkAllow[] = [
    { name: "ingress-gateway", peers: { namespaces: [MESH_NAMESPACES.ingress] } },
    { name: "mesh-metrics", ports: [{ port: 15020 }, { port: 15090 }], peers: { namespaces: [OBSERVABILITY_NAMESPACE] } },
];

/** The allows of a namespace that joins the mesh, plus its own. */
export function meshedNamespaceAllows(own: { ingress?: NetworkAllow[]; egress?: NetworkAllow[] } = {}) {
    return {
        meshInjection: true,
        allowIngress: [...MESHED_INGRESS, ...(own.ingress ?? [])],
        allowEgress: [...MESHED_EGRESS, ...(own.egress ?? [])],
    };
}
