import { NetworkAllow } from "../shared/kubernetes";
import { MESH_NAMESPACES } from "./charts";

/**
 * Where the platform's Prometheus runs (its Observability instance,
 * `observability`); it scrapes sidecars and gateways. The default of every
 * component's `observabilityNamespace`: platform-services passes the instance's.
 */
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
export function meshedIngress(observabilityNamespace: string = OBSERVABILITY_NAMESPACE): NetworkAllow[] {
    return [
        { name: "ingress-gateway", peers: { namespaces: [MESH_NAMESPACES.ingress] } },
        { name: "mesh-metrics", ports: [{ port: 15020 }, { port: 15090 }], peers: { namespaces: [observabilityNamespace] } },
    ];
}

/** MESHED_INGRESS with the platform's Prometheus (`observability`). */
export const MESHED_INGRESS: NetworkAllow[] = meshedIngress();

/**
 * The allows of a namespace that joins the mesh, plus its own;
 * `observabilityNamespace` is where the Prometheus that scrapes it runs
 * (default: `observability`).
 */
export function meshedNamespaceAllows(own: { ingress?: NetworkAllow[]; egress?: NetworkAllow[]; observabilityNamespace?: string } = {}) {
    return {
        meshInjection: true,
        allowIngress: [...meshedIngress(own.observabilityNamespace), ...(own.ingress ?? [])],
        allowEgress: [...MESHED_EGRESS, ...(own.egress ?? [])],
    };
}
