import { describe, expect, it } from "vitest";

import { compliantDeployment } from "../test/fixtures";
import { violationsOf } from "../test/validate";
import { containerResources } from "./container-resources";

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";

describe("container-resources", () => {
    it("is mandatory and named in kebab-case", () => {
        expect(containerResources.name).toBe("container-resources");
        expect(containerResources.enforcementLevel).toBe("mandatory");
    });

    it("passes a compliant deployment", async () => {
        expect(await violationsOf(containerResources, DEPLOYMENT, compliantDeployment())).toEqual([]);
    });

    it.each([
        ["requests", "cpu"],
        ["requests", "memory"],
        ["limits", "memory"],
    ] as const)("reports a missing %s.%s", async (kind, resource) => {
        const d = compliantDeployment();
        delete (d.spec.template.spec.containers[0].resources[kind] as Record<string, string>)[resource];
        expect(await violationsOf(containerResources, DEPLOYMENT, d)).toEqual([
            expect.stringContaining(`container "api" has no ${kind}.${resource}`),
        ]);
    });

    it("does not require a CPU limit (requests protect neighbours; limits throttle)", async () => {
        const d = compliantDeployment();
        delete (d.spec.template.spec.containers[0].resources.limits as Record<string, string>).cpu;
        expect(await violationsOf(containerResources, DEPLOYMENT, d)).toEqual([]);
    });

    it("reports a container with no resources at all", async () => {
        const d = compliantDeployment();
        (d.spec.template.spec.containers[0] as { resources?: object }).resources = undefined;
        expect(await violationsOf(containerResources, DEPLOYMENT, d)).toEqual([
            expect.stringContaining("has no requests.cpu, requests.memory, limits.memory"),
        ]);
    });
});
