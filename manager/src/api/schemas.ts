/**
 * Every request (params, query, body) and response of the REST API, as zod
 * schemas: the handlers parse with them, and openapi.ts describes the API
 * from them, so the document cannot drift from what the server accepts.
 */
import { z } from "zod";

import { ENVIRONMENT_STATUSES } from "../../../environments/record";
import { COMMAND_STATES, COMMAND_TYPES, command, driftCheck } from "../commands/schema";

/** Bounds of a page of environments. */
export const MAX_LIMIT = 500;
export const DEFAULT_LIMIT = 100;
export const MAX_LOG_LINES = 1000;
export const DEFAULT_LOG_LINES = 100;

// ---- requests ----

export const environmentParams = z.object({ name: z.string().min(1).max(63) }).strict();

export const listEnvironmentsQuery = z
    .object({
        status: z.enum(ENVIRONMENT_STATUSES).optional(),
        template: z.string().min(1).optional(),
        /** `key` (has the tag) or `key=value`. */
        tag: z
            .string()
            .regex(/^[a-z][a-z0-9-]{0,62}(=.*)?$/, "a tag key (lower-case letters, digits, dashes), optionally followed by =value")
            .optional(),
        limit: z.coerce.number().int().min(1).max(MAX_LIMIT).default(DEFAULT_LIMIT),
        offset: z.coerce.number().int().min(0).default(0),
    })
    .strict();

export const GRAPH_FORMATS = ["json", "dot", "mermaid"] as const;
export const graphQuery = z.object({ format: z.enum(GRAPH_FORMATS).default("json") }).strict();

export const searchQuery = z
    .object({
        q: z.string().trim().min(1, "a search text is required").max(256),
        limit: z.coerce.number().int().min(1).max(MAX_LIMIT).default(50),
    })
    .strict();

export const commandParams = z.object({ id: z.uuid() }).strict();
export const commandQuery = z.object({ lines: z.coerce.number().int().min(0).max(MAX_LOG_LINES).default(DEFAULT_LOG_LINES) }).strict();

/** POST /commands: exactly the bus's command schema. */
export const submitCommandBody = command;

// ---- responses ----

export const errorBody = z.object({
    /** A stable code: bad_request, unauthorized, forbidden, not_found, conflict, not_primary, internal. */
    error: z.string(),
    message: z.string(),
    /** The request fields at fault (dotted paths), on a 400. */
    fields: z.array(z.string()).optional(),
});
export type ErrorBody = z.infer<typeof errorBody>;

export const healthBody = z.object({ status: z.literal("ok") });
export const readinessBody = z.object({
    status: z.enum(["ready", "not-ready"]),
    role: z.enum(["primary", "secondary"]),
    /** Each dependency: `ok`, or why it is not. */
    checks: z.record(z.string(), z.string()),
});

const progress = z.object({ done: z.number().int().nonnegative(), total: z.number().int().nonnegative() });

export const environmentSummary = z.object({
    name: z.string(),
    template: z.string(),
    status: z.enum(ENVIRONMENT_STATUSES),
    description: z.string(),
    tags: z.record(z.string(), z.string()),
    createdAt: z.string().optional(),
    plannedDestructionAt: z.string().optional(),
    progress: progress.optional(),
    /** The last drift check: its live objects compared with the state. */
    drift: driftCheck.optional(),
    updatedAt: z.string(),
});

export const resourceRecord = z.looseObject({
    id: z.string(),
    template: z.string().optional(),
    count: z.number().optional(),
    status: z.string().optional(),
    links: z.object({ entrypoints: z.array(z.string()).optional(), statusEndpoints: z.array(z.string()).optional() }).optional(),
    dependsOn: z.array(z.string()).optional(),
});

/** The record as the stack outputs it (environments/record.schema.json); the API passes it through. */
export const environmentRecord = z.looseObject({
    id: z.string().optional(),
    name: z.string().optional(),
    description: z.string().optional(),
    tags: z.record(z.string(), z.string()).optional(),
    createdAt: z.string().optional(),
    plannedDestructionAt: z.string().nullable().optional(),
    status: z.string().optional(),
    templates: z.array(z.object({ name: z.string(), version: z.string().optional(), commit: z.string().optional() })).optional(),
    resources: z.array(resourceRecord).optional(),
});

export const environmentList = z.object({
    items: z.array(environmentSummary),
    limit: z.number().int(),
    offset: z.number().int(),
});

export const environmentDetail = environmentSummary.extend({ record: environmentRecord.optional() });

export const resourceList = z.object({ environment: z.string(), items: z.array(resourceRecord) });

export const graphJson = z.object({
    environment: z.string(),
    nodes: z.array(z.object({ id: z.string(), template: z.string(), count: z.number(), status: z.string() })),
    /** `from` depends on `to`. */
    edges: z.array(z.object({ from: z.string(), to: z.string() })),
});

export const searchResults = z.object({
    query: z.string(),
    items: z.array(z.object({ environment: environmentSummary, matches: z.array(z.string()) })),
});

export const templateInfo = z.object({
    name: z.string(),
    kind: z.string(),
    description: z.string(),
    /** platform:plannedDestruction is required and at most this many days away. */
    maxLifetimeDays: z.number().int().positive(),
    /** The JSON Schema of the create command's `parameters` for this template. */
    parameters: z.record(z.string(), z.unknown()),
});
export type TemplateInfo = z.infer<typeof templateInfo>;
export const templateList = z.object({ items: z.array(templateInfo) });

export const commandStatus = z.object({
    commandId: z.string(),
    type: z.enum(COMMAND_TYPES),
    environment: z.string(),
    requestedBy: z.string(),
    state: z.enum(COMMAND_STATES),
    reason: z.string().optional(),
    acceptedAt: z.string(),
    startedAt: z.string().optional(),
    finishedAt: z.string().optional(),
    /** The newest output lines, oldest first. */
    logTail: z.array(z.string()),
});

export const commandAccepted = z.object({
    commandId: z.string(),
    /** Where to follow it. */
    location: z.string(),
});
