import { ResourceValidationPolicy } from "@pulumi/policy";

interface ServiceProps {
    metadata?: { labels?: Record<string, string> };
    spec?: { type?: string };
}

/** Labels that mark the mesh's ingress gateway, the one service allowed a load balancer. */
export const INGRESS_GATEWAY_LABELS: Record<string, string> = { istio: "ingressgateway" };

/** Only the ingress gateway is exposed through a cloud load balancer. */
export const noLoadBalancerService: ResourceValidationPolicy = {
    name: "no-loadbalancer-service",
    description: "No Service of type LoadBalancer except the mesh ingress gateway.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        if (args.type !== "kubernetes:core/v1:Service") {
            return;
        }
        const props = args.props as ServiceProps;
        if (props.spec?.type !== "LoadBalancer") {
            return;
        }
        const labels = props.metadata?.labels ?? {};
        const isGateway = Object.entries(INGRESS_GATEWAY_LABELS).every(([k, v]) => labels[k] === v);
        if (!isGateway) {
            reportViolation(
                `${args.urn} (${args.type}) is of type LoadBalancer; only the ingress gateway ` +
                    `(labels ${JSON.stringify(INGRESS_GATEWAY_LABELS)}) may be`,
            );
        }
    },
};
