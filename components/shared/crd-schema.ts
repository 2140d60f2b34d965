import * as pulumi from "@pulumi/pulumi";

/**
 * CustomResourceDefinitions without the prose of their schemas.
 *
 * The charts' CRDs are about three quarters of the platform's Pulumi state
 * (17 MB for `local`, 12.7 MB of it CRDs, 70% of that `description` text), and
 * every step of an `up` rewrites the whole state: a local file, or an upload
 * to the team's blob container. Validation does not read descriptions, so the
 * API server accepts and rejects exactly the same objects; only `kubectl
 * explain` shows the fields without their prose (read it upstream).
 * `controller-gen crd:maxDescLen=0` makes the same trade.
 */

const CRD_TYPE = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition";

type Schema = Record<string, unknown>;

function isObject(value: unknown): value is Schema {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * An OpenAPI v3 schema with every schema node's `description` removed. Walks
 * the schema's structure (properties, items, additionalProperties, allOf,
 * anyOf, oneOf, not, patternProperties), so a field that is itself named
 * `description` is kept: only the prose of a node goes.
 */
export function withoutDescriptions(schema: Schema): Schema {
    const result: Schema = {};
    for (const [key, value] of Object.entries(schema)) {
        if (key === "description" && typeof value === "string") {
            continue;
        }
        if ((key === "properties" || key === "patternProperties" || key === "definitions") && isObject(value)) {
            result[key] = Object.fromEntries(Object.entries(value).map(([name, child]) => [name, isObject(child) ? withoutDescriptions(child) : child]));
        } else if ((key === "items" || key === "additionalProperties" || key === "not") && isObject(value)) {
            result[key] = withoutDescriptions(value);
        } else if ((key === "allOf" || key === "anyOf" || key === "oneOf" || key === "items") && Array.isArray(value)) {
            result[key] = value.map((child) => (isObject(child) ? withoutDescriptions(child) : child));
        } else {
            result[key] = value;
        }
    }
    return result;
}

interface CrdVersion {
    schema?: { openAPIV3Schema?: Schema };
    [key: string]: unknown;
}

/** A CRD's spec with the descriptions of every version's schema removed; everything else as given. */
export function compactCrdSpec(spec: { versions?: CrdVersion[]; [key: string]: unknown }): { versions?: CrdVersion[]; [key: string]: unknown } {
    if (!Array.isArray(spec.versions)) {
        return spec;
    }
    return {
        ...spec,
        versions: spec.versions.map((version) =>
            isObject(version.schema) && isObject(version.schema.openAPIV3Schema)
                ? { ...version, schema: { ...version.schema, openAPIV3Schema: withoutDescriptions(version.schema.openAPIV3Schema) } }
                : version,
        ),
    };
}

/** A stack transform: every CRD, from a chart or a manifest, is registered without schema descriptions. */
export function compactCrdTransform(): pulumi.ResourceTransform {
    return (args) => {
        const spec = (args.props as { spec?: unknown }).spec;
        if (args.type !== CRD_TYPE || !isObject(spec)) {
            return undefined;
        }
        return { props: { ...args.props, spec: compactCrdSpec(spec) }, opts: args.opts };
    };
}
