import { describe, expect, it } from "vitest";

import { compliantDeployment } from "../test/fixtures";
import { violationsOf } from "../test/validate";
import { containerImagePinned, isPinnedImage } from "./container-image-pinned";

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";

describe("container-image-pinned", () => {
    it("is mandatory and named in kebab-case", () => {
        expect(containerImagePinned.name).toBe("container-image-pinned");
        expect(containerImagePinned.enforcementLevel).toBe("mandatory");
        expect(containerImagePinned.description).toMatch(/pinned/);
    });

    it("passes a compliant deployment", async () => {
        expect(await violationsOf(containerImagePinned, DEPLOYMENT, compliantDeployment())).toEqual([]);
    });

    it.each([
        ["no tag", "registry.example.com/api"],
        ["latest", "registry.example.com/api:latest"],
        ["a registry port but no tag", "registry.example.com:5000/api"],
    ])("reports an init container image with %s", async (_label, image) => {
        const d = compliantDeployment();
        d.spec.template.spec.initContainers[0].image = image;
        const violations = await violationsOf(containerImagePinned, DEPLOYMENT, d);
        expect(violations).toEqual([expect.stringContaining(`container "migrate" image "${image}" is not pinned`)]);
        expect(violations[0]).toContain(`urn:pulumi:test::platform::${DEPLOYMENT}::subject`);
    });

    it("recognises pinned references", () => {
        expect(isPinnedImage("nginx:1.27.2")).toBe(true);
        expect(isPinnedImage("ghcr.io/org/app@sha256:" + "b".repeat(64))).toBe(true);
        expect(isPinnedImage("nginx")).toBe(false);
    });

    it("ignores objects without pods", async () => {
        expect(await violationsOf(containerImagePinned, "kubernetes:core/v1:ConfigMap", { data: {} })).toEqual([]);
    });

    it("reads CronJobs and Pods too", async () => {
        const pod = { spec: { containers: [{ name: "c", image: "busybox" }] } };
        expect(await violationsOf(containerImagePinned, "kubernetes:core/v1:Pod", pod)).toHaveLength(1);
        const cron = { spec: { jobTemplate: { spec: { template: pod } } } };
        expect(await violationsOf(containerImagePinned, "kubernetes:batch/v1:CronJob", cron)).toHaveLength(1);
    });

    it("allows Istio's `auto` image only on pods labelled for injection", async () => {
        const gateway = compliantDeployment();
        gateway.spec.template.spec.containers[0].image = "auto";
        expect(await violationsOf(containerImagePinned, DEPLOYMENT, gateway)).toEqual([
            expect.stringContaining('container "api" image "auto" is not pinned'),
        ]);
        const injected = { ...gateway, spec: { template: { ...gateway.spec.template, metadata: { labels: { "sidecar.istio.io/inject": "true" } } } } };
        expect(await violationsOf(containerImagePinned, DEPLOYMENT, injected)).toEqual([]);
    });
});
