/**
 * Custom resources checked against a real chart's CustomResourceDefinition
 * schema, offline: the fields the API server would prune or refuse (unknown
 * fields, wrong types, values outside an enum, missing required fields).
 * Structural checks only; CEL rules (`x-kubernetes-validations`) are not run.
 */
import * as path from "node:path";

import { parseAllDocuments } from "yaml";

import { readChartArchive } from "../../components/shared/chart-archive";
import { defaultTestChartMirror } from "./real-charts";

type Schema = {
    type?: string;
    properties?: Record<string, Schema>;
    additionalProperties?: Schema | boolean;
    items?: Schema;
    required?: string[];
    enum?: unknown[];
    "x-kubernetes-preserve-unknown-fields"?: boolean;
    "x-kubernetes-int-or-string"?: boolean;
};

/** The openAPIV3Schema of `kind` (version `version`) in the chart `<name>-<version>.tgz` of the real mirror. */
export function crdSchemaOf(chartFile: string, kind: string, version = "v1"): Schema {
    const { files } = readChartArchive(path.join(defaultTestChartMirror(), chartFile));
    for (const [file, content] of files) {
        // The CRDs are in a crds/ folder (other templates are not YAML before Helm renders them).
        if (!/\/crds\/[^/]+\.ya?ml$/.test(file) || !content.includes("kind: CustomResourceDefinition")) {
            continue;
        }
        // Helm's `{{- if … }}` guards around the CRDs are not YAML.
        const text = content.toString("utf8").split("\n").filter((line) => !/^\s*\{\{.*\}\}\s*$/.test(line)).join("\n");
        for (const doc of parseAllDocuments(text)) {
            const crd = doc.toJS() as { kind?: string; spec?: { names?: { kind?: string }; versions?: { name: string; schema?: { openAPIV3Schema?: Schema } }[] } } | null;
            if (crd?.kind === "CustomResourceDefinition" && crd.spec?.names?.kind === kind) {
                const schema = crd.spec.versions?.find((v) => v.name === version)?.schema?.openAPIV3Schema;
                if (schema) {
                    return schema;
                }
            }
        }
    }
    throw new Error(`${chartFile} has no CustomResourceDefinition of kind ${kind} (${version})`);
}

/** What the API server would refuse or drop in `value`, as `path: problem` lines; empty when it fits. */
export function schemaProblems(value: unknown, schema: Schema, at = ""): string[] {
    if (value === undefined || value === null) {
        return [];
    }
    if (schema.enum && !schema.enum.includes(value)) {
        return [`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`];
    }
    if (schema["x-kubernetes-int-or-string"]) {
        return typeof value === "string" || Number.isInteger(value) ? [] : [`${at}: not an integer or a string`];
    }
    switch (schema.type) {
        case "string":
            return typeof value === "string" ? [] : [`${at}: not a string`];
        case "boolean":
            return typeof value === "boolean" ? [] : [`${at}: not a boolean`];
        case "integer":
            return Number.isInteger(value) ? [] : [`${at}: not an integer`];
        case "number":
            return typeof value === "number" ? [] : [`${at}: not a number`];
        case "array":
            return Array.isArray(value) ? value.flatMap((item, i) => (schema.items ? schemaProblems(item, schema.items, `${at}[${i}]`) : [])) : [`${at}: not an array`];
        case "object": {
            if (typeof value !== "object" || Array.isArray(value)) {
                return [`${at}: not an object`];
            }
            const v = value as Record<string, unknown>;
            const problems = (schema.required ?? []).filter((k) => v[k] === undefined).map((k) => `${at}.${k}: required`);
            for (const [key, child] of Object.entries(v)) {
                if (at === "" && key === "metadata") {
                    // ObjectMeta: validated by the API server itself, not by the CRD's schema.
                    continue;
                }
                const sub = schema.properties?.[key] ?? (typeof schema.additionalProperties === "object" ? schema.additionalProperties : undefined);
                if (sub) {
                    problems.push(...schemaProblems(child, sub, `${at}.${key}`));
                } else if (!schema["x-kubernetes-preserve-unknown-fields"] && schema.additionalProperties !== true) {
                    problems.push(`${at}.${key}: unknown field`);
                }
            }
            return problems;
        }
        default:
            return [];
    }
}
