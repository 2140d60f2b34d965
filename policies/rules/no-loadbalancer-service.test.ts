import { describe, expect, it } from "vitest";

import { compliantLabels } from "../test/fixtures";
import { violationsOf } from "../test/validate";
import { noLoadBalancerService } from "./no-loadbalancer-service";

const SERVICE = "kubernetes:core/v1:Service";
const gateway = () => ({
    metadata: { labels: { ...compliantLabels(), istio: "ingressgateway" } },
    spec: { type: "LoadBalancer", ports: [{ port: 443 }] },
});

describe("no-loadbalancer-service", () => {
    it("is mandatory and named in kebab-case", () => {
        expect(noLoadBalancerService.name).toBe("no-loadbalancer-service");
        expect(noLoadBalancerService.enforcementLevel).toBe("mandatory");
    });

    it("allows the ingress gateway's load balancer", async () => {
        expect(await violationsOf(noLoadBalancerService, SERVICE, gateway())).toEqual([]);
    });

    it("allows ClusterIP services", async () => {
        const svc = { ...gateway(), metadata: { labels: compliantLabels() }, spec: { type: "ClusterIP" } };
        expect(await violationsOf(noLoadBalancerService, SERVICE, svc)).toEqual([]);
    });

    it("reports any other LoadBalancer service", async () => {
        const svc = { ...gateway(), metadata: { labels: compliantLabels() } };
        expect(await violationsOf(noLoadBalancerService, SERVICE, svc, "postgres")).toEqual([
            expect.stringContaining("::postgres (kubernetes:core/v1:Service) is of type LoadBalancer"),
        ]);
    });
});
