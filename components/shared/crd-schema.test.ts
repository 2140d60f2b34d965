import { describe, expect, it } from "vitest";

import { compactCrdSpec, compactCrdTransform, withoutDescriptions } from "./crd-schema";

const CRD = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition";

/** A schema shaped like the charts' CRDs, with a field that is itself called `description`. */
function schema(): Record<string, unknown> {
    return {
        description: "Prometheus defines a Prometheus deployment.",
        type: "object",
        required: ["spec"],
        properties: {
            spec: {
                description: "The desired state.",
                type: "object",
                properties: {
                    description: { description: "A field named description.", type: "string", maxLength: 100 },
                    replicas: { description: "Number of replicas.", type: "integer", minimum: 0 },
                    containers: {
                        type: "array",
                        items: { description: "A container.", type: "object", "x-kubernetes-preserve-unknown-fields": true },
                    },
                    labels: { type: "object", additionalProperties: { description: "A label value.", type: "string" } },
                    port: { anyOf: [{ description: "A number.", type: "integer" }, { type: "string" }], "x-kubernetes-int-or-string": true },
                },
            },
        },
    };
}

describe("withoutDescriptions", () => {
    it("removes the prose of every schema node and keeps every rule", () => {
        expect(withoutDescriptions(schema())).toEqual({
            type: "object",
            required: ["spec"],
            properties: {
                spec: {
                    type: "object",
                    properties: {
                        description: { type: "string", maxLength: 100 },
                        replicas: { type: "integer", minimum: 0 },
                        containers: { type: "array", items: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
                        labels: { type: "object", additionalProperties: { type: "string" } },
                        port: { anyOf: [{ type: "integer" }, { type: "string" }], "x-kubernetes-int-or-string": true },
                    },
                },
            },
        });
    });

    it("keeps a field named description (a property, not prose)", () => {
        const spec = (withoutDescriptions(schema()).properties as Record<string, { properties: Record<string, unknown> }>).spec;
        expect(Object.keys(spec.properties)).toContain("description");
    });

    it("leaves its input unchanged", () => {
        const input = schema();
        withoutDescriptions(input);
        expect(input).toEqual(schema());
    });
});

describe("compactCrdTransform", () => {
    const transform = compactCrdTransform();
    const props = {
        apiVersion: "apiextensions.k8s.io/v1",
        kind: "CustomResourceDefinition",
        metadata: { name: "prometheuses.monitoring.coreos.com", annotations: { "controller-gen.kubebuilder.io/version": "v0.19.0" } },
        spec: {
            group: "monitoring.coreos.com",
            versions: [{ name: "v1", served: true, storage: true, schema: { openAPIV3Schema: schema() }, subresources: { status: {} } }],
        },
    };

    it("compacts every version's schema of a CRD and keeps the rest of the object", async () => {
        const result = await transform({ type: CRD, name: "crd", props, opts: {}, custom: true });
        expect(result?.props).toEqual({ ...props, spec: compactCrdSpec(props.spec) });
        const versions = (result?.props as { spec: { versions: { schema: { openAPIV3Schema: Record<string, unknown> } }[] } }).spec.versions;
        expect(JSON.stringify(versions)).not.toContain("Number of replicas");
        expect(versions[0]).toMatchObject({ name: "v1", served: true, storage: true, subresources: { status: {} } });
    });

    it("leaves every other kind alone", async () => {
        expect(await transform({ type: "kubernetes:core/v1:ConfigMap", name: "cm", props: { data: { description: "x" } }, opts: {}, custom: true })).toBeUndefined();
    });

    it("leaves a CRD without versions as it is", () => {
        expect(compactCrdSpec({ group: "example.com" })).toEqual({ group: "example.com" });
    });
});
