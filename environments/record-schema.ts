import * as fs from "node:fs";
import * as path from "node:path";
import Ajv2020 from "ajv/dist/2020";
import addFormats from "ajv-formats";

import { RECORD_SCHEMA_VERSION } from "./record";

/** The committed JSON Schema of the environment record (environments/record.schema.json). */
export const RECORD_SCHEMA_FILE = path.join(__dirname, "record.schema.json");

let validator: ReturnType<Ajv2020["compile"]> | undefined;

/** Problems of a record against the schema, as `<path>: <message>` lines (empty when valid). */
export function recordProblems(record: unknown): string[] {
    if (!validator) {
        const schema = JSON.parse(fs.readFileSync(RECORD_SCHEMA_FILE, "utf8")) as { properties: { schemaVersion: { const: string } } };
        if (schema.properties.schemaVersion.const !== RECORD_SCHEMA_VERSION) {
            throw new Error(`record.schema.json is for ${schema.properties.schemaVersion.const}, the code writes ${RECORD_SCHEMA_VERSION}`);
        }
        const ajv = new Ajv2020({ allErrors: true, strict: true });
        addFormats(ajv);
        validator = ajv.compile(schema);
    }
    return validator(record) ? [] : (validator.errors ?? []).map((e) => `${e.instancePath || "/"}: ${e.message ?? "invalid"}`);
}
