import { describe, expect, it, vi } from "vitest";

import * as pulumi from "@pulumi/pulumi";

import {
    composeTransforms,
    containerResourcesTransform,
    labelTransform,
    mergePlatformLabels,
    omitEmptyRulesTransform,
    PATCH_FORCE_ANNOTATION,
    protectVolumeClaimsTransform,
    stackTransform,
    transformRenderedObjects,
} from "./helm";

const platform = {
    "app.kubernetes.io/name": "observability",
    "app.kubernetes.io/instance": "observability",
    "app.kubernetes.io/component": "metrics",
    "app.kubernetes.io/part-of": "platform",
    "app.kubernetes.io/managed-by": "pulumi",
    "platform.example.com/environment": "local",
    "platform.example.com/owner": "platform-team_at_example.com",
    "platform.example.com/cost-center": "PLT-0001",
};

describe("mergePlatformLabels", () => {
    it("keeps a chart's own selector labels and adds the platform's", () => {
        const chart = { "app.kubernetes.io/name": "grafana", "app.kubernetes.io/instance": "kube-prometheus-stack", "app.kubernetes.io/managed-by": "Helm" };
        expect(mergePlatformLabels(chart, platform)).toEqual({
            ...platform,
            "app.kubernetes.io/name": "grafana",
            "app.kubernetes.io/instance": "kube-prometheus-stack",
        });
    });

    it("gives an object without labels every platform label", () => {
        expect(mergePlatformLabels(undefined, platform)).toEqual(platform);
    });

    it("always sets the keys the platform owns", () => {
        const merged = mergePlatformLabels({ "platform.example.com/environment": "other", "app.kubernetes.io/managed-by": "Helm" }, platform);
        expect(merged["platform.example.com/environment"]).toBe("local");
        expect(merged["app.kubernetes.io/managed-by"]).toBe("pulumi");
    });
});

describe("labelTransform", () => {
    const transform = labelTransform(platform);
    const run = (type: string, props: Record<string, unknown>) =>
        transform({ type, name: "x", props, opts: {} } as Parameters<typeof transform>[0]) as { props: { metadata: { labels: Record<string, string> } } } | undefined;

    it("labels Kubernetes objects without touching their selectors", () => {
        const result = run("kubernetes:core/v1:Service", {
            metadata: { name: "grafana", labels: { "app.kubernetes.io/name": "grafana" } },
            spec: { selector: { "app.kubernetes.io/name": "grafana" } },
        });
        expect(result?.props.metadata.labels["app.kubernetes.io/name"]).toBe("grafana");
        expect(result?.props.metadata.labels["platform.example.com/owner"]).toBe("platform-team_at_example.com");
        expect((result?.props as unknown as { spec: unknown }).spec).toEqual({ selector: { "app.kubernetes.io/name": "grafana" } });
    });

    it("leaves charts and manifest files alone (they are components, not objects)", () => {
        expect(run("kubernetes:helm.sh/v4:Chart", {})).toBeUndefined();
        expect(run("kubernetes:yaml/v2:ConfigGroup", {})).toBeUndefined();
    });
});

describe("protectVolumeClaimsTransform", () => {
    const transform = protectVolumeClaimsTransform();
    const run = (type: string) => transform({ type, name: "x", props: {}, opts: {} } as Parameters<typeof transform>[0]) as { opts: { protect?: boolean } } | undefined;

    it("protects a chart's PersistentVolumeClaims and nothing else", () => {
        expect(run("kubernetes:core/v1:PersistentVolumeClaim")?.opts.protect).toBe(true);
        expect(run("kubernetes:apps/v1:Deployment")).toBeUndefined();
    });
});

describe("omitEmptyRulesTransform", () => {
    const transform = omitEmptyRulesTransform();
    const role = (type: string, rules: unknown) => ({ type, name: "r", props: { metadata: { name: "consul-server" }, rules }, opts: {}, custom: true }) as unknown as Parameters<typeof transform>[0];

    it("drops an empty rules list from Roles and ClusterRoles, which the API server reads back as none", () => {
        for (const kind of ["Role", "ClusterRole"]) {
            const result = transform(role(`kubernetes:rbac.authorization.k8s.io/v1:${kind}`, [])) as { props: Record<string, unknown> };
            expect(result.props).toEqual({ metadata: { name: "consul-server" } });
        }
    });

    it("leaves Roles with rules, and every other type, alone", () => {
        expect(transform(role("kubernetes:rbac.authorization.k8s.io/v1:Role", [{ verbs: ["get"] }]))).toBeUndefined();
        expect(transform(role("kubernetes:core/v1:ConfigMap", []))).toBeUndefined();
    });
});

describe("containerResourcesTransform", () => {
    const resources = { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "64Mi" } };
    const transform = containerResourcesTransform({ "locality-init": resources });
    type Pod = { spec: { template: { spec: { containers: { name: string; resources?: unknown }[]; initContainers?: { name: string; resources?: unknown }[] } } } };
    const run = (type: string, props: Pod) => transform({ type, name: "x", props, opts: {} } as unknown as Parameters<typeof transform>[0]) as { props: Pod } | undefined;

    it("sets the named containers' resources where the chart rendered none, and leaves the others", () => {
        const own = { requests: { cpu: "1" } };
        const result = run("kubernetes:apps/v1:StatefulSet", {
            spec: { template: { spec: { containers: [{ name: "consul", resources: own }], initContainers: [{ name: "locality-init" }] } } },
        });
        expect(result?.props.spec.template.spec.initContainers).toEqual([{ name: "locality-init", resources }]);
        expect(result?.props.spec.template.spec.containers).toEqual([{ name: "consul", resources: own }]);
    });

    it("never replaces resources a chart did render", () => {
        const own = { requests: { cpu: "1" } };
        const result = run("kubernetes:apps/v1:StatefulSet", { spec: { template: { spec: { containers: [], initContainers: [{ name: "locality-init", resources: own }] } } } });
        expect(result?.props.spec.template.spec.initContainers).toEqual([{ name: "locality-init", resources: own }]);
    });
});

describe("composeTransforms", () => {
    const args = (props: Record<string, unknown>) => ({ type: "kubernetes:core/v1:ConfigMap", name: "x", custom: true, props, opts: {} }) as pulumi.ResourceTransformArgs;
    const add = (key: string): pulumi.ResourceTransform => (a) => ({ props: { ...a.props, order: [...((a.props.order as string[] | undefined) ?? []), key] }, opts: a.opts });

    it("runs each transform on the previous one's result, in order, and keeps the options they set", async () => {
        const protect: pulumi.ResourceTransform = (a) => ({ props: a.props, opts: { ...a.opts, protect: true } });
        const result = await composeTransforms([add("first"), protect, () => undefined, add("second")])(args({}));
        expect(result).toEqual({ props: { order: ["first", "second"] }, opts: { protect: true } });
    });

    it("answers undefined when no transform changed anything, as each one alone would", async () => {
        expect(await composeTransforms([() => undefined, () => undefined])(args({ data: {} }))).toBeUndefined();
        expect(await composeTransforms([])(args({}))).toBeUndefined();
    });
});

describe("stackTransform", () => {
    const transform = stackTransform();
    const run = async (type: string, props: Record<string, unknown>) =>
        (await transform({ type, name: "x", custom: true, props, opts: {} } as pulumi.ResourceTransformArgs)) as { props: Record<string, unknown> & { metadata?: { annotations?: Record<string, string> } } } | undefined;

    it("compacts a CRD's schema and marks it for drift repair, in one pass", async () => {
        const schema = { type: "object", description: "prose", properties: { spec: { type: "object", description: "more prose" } } };
        const result = await run("kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition", {
            metadata: { name: "things.example.com" },
            spec: { group: "example.com", versions: [{ name: "v1", schema: { openAPIV3Schema: schema } }] },
        });
        expect(result?.props.spec).toEqual({ group: "example.com", versions: [{ name: "v1", schema: { openAPIV3Schema: { type: "object", properties: { spec: { type: "object" } } } } }] });
        expect(result?.props.metadata?.annotations).toEqual({ [PATCH_FORCE_ANNOTATION]: "true" });
    });

    it("drops a Role's empty rules and marks it for drift repair", async () => {
        const result = await run("kubernetes:rbac.authorization.k8s.io/v1:Role", { metadata: { name: "r", annotations: { keep: "me" } }, rules: [] });
        expect(result?.props).toEqual({ metadata: { name: "r", annotations: { keep: "me", [PATCH_FORCE_ANNOTATION]: "true" } } });
    });

    it("leaves components (charts, manifest files) alone", async () => {
        expect(await run("kubernetes:helm.sh/v4:Chart", { chart: "x" })).toBeUndefined();
        expect(await run("platform:mesh:Mesh", {})).toBeUndefined();
    });
});

describe("transformRenderedObjects", () => {
    const chartUrn = "urn:pulumi:local::platform::platform:mesh:Mesh$kubernetes:helm.sh/v4:Chart::mesh-istiod";
    const transform = stackTransform();
    const run = async (name: string, parentUrn: string | undefined) =>
        (await transform({
            type: "kubernetes:core/v1:Service",
            name,
            custom: true,
            props: { metadata: { name: "istiod", labels: { app: "istiod" } } },
            opts: parentUrn ? { parent: new pulumi.DependencyResource(parentUrn) } : {},
        } as pulumi.ResourceTransformArgs)) as { props: { metadata: { labels: Record<string, string>; annotations: Record<string, string> } } } | undefined;

    it("gives a chart's objects the chart's transforms, then the stack's, in one call; other resources only the stack's", async () => {
        vi.spyOn(pulumi.runtime, "hasEngine").mockReturnValue(true);
        const registered = vi.spyOn(pulumi.runtime, "registerResourceTransform").mockImplementation(() => undefined);
        try {
            transformRenderedObjects("mesh-istiod", [labelTransform(platform)]);
            expect(() => transformRenderedObjects("mesh-istiod", [labelTransform(platform)])).toThrow(/two charts or manifests are named mesh-istiod/);
            // A program that has not registered the stack transform gets it with its first chart, once.
            expect(registered).toHaveBeenCalledTimes(1);
        } finally {
            vi.restoreAllMocks();
        }
        const child = await run("mesh-istiod:istio-system/istiod", chartUrn);
        expect(child?.props.metadata.labels).toEqual({ app: "istiod", ...platform });
        expect(child?.props.metadata.annotations).toEqual({ [PATCH_FORCE_ANNOTATION]: "true" });

        // The name alone does not make an object the chart's: its parent must be the chart.
        for (const other of [await run("mesh-istiod:istio-system/istiod", chartUrn.replace("::mesh-istiod", "::mesh-istiod-2")), await run("mesh-istiod:istio-system/istiod", undefined), await run("istiod", chartUrn)]) {
            expect(other?.props.metadata.labels).toEqual({ app: "istiod" });
            expect(other?.props.metadata.annotations).toEqual({ [PATCH_FORCE_ANNOTATION]: "true" });
        }
    });
});
