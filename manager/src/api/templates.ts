/** The self-service templates as GET /templates lists them: those the reaper may destroy and that have a maximum lifetime. */
import { z } from "zod";

import { ENVIRONMENT_TEMPLATES, type EnvironmentTemplate, nameText, TEMPLATES } from "../../../environments/template-registry";
import { createCommand } from "../commands/schema";
import { jsonSchemaOf } from "./openapi";
import type { TemplateInfo } from "./schemas";

/** What any template's `parameters` may hold (platform:<key> scalars), when a template has no schema of its own. */
const GENERIC_PARAMETERS = createCommand.shape.parameters.unwrap();

/**
 * The self-service templates (`reapable` with `maxLifetimeDays` in the
 * registry), each with the JSON Schema of its parameters: `parameters[t]`
 * when given, else the generic one of the create command.
 */
export function selfServiceTemplates(parameters: Partial<Record<EnvironmentTemplate, z.ZodType>> = {}): TemplateInfo[] {
    const out: TemplateInfo[] = [];
    for (const name of ENVIRONMENT_TEMPLATES) {
        const spec = TEMPLATES[name];
        if (!spec.reapable || spec.maxLifetimeDays === undefined) {
            continue;
        }
        out.push({
            name,
            kind: spec.kind,
            description: `A ${spec.kind} environment named ${nameText(name)}, destroyed at its planned date (at most ${spec.maxLifetimeDays} days away).`,
            maxLifetimeDays: spec.maxLifetimeDays,
            parameters: jsonSchemaOf(parameters[name] ?? GENERIC_PARAMETERS, "input"),
        });
    }
    return out;
}
