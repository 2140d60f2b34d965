/**
 * The REST API's OpenAPI 3.1 document, built from the zod schemas the
 * handlers parse with (schemas.ts), through zod's own JSON Schema output
 * (draft 2020-12, which OpenAPI 3.1 uses as is). Served at
 * GET /api/v1/openapi.json.
 */
import { z } from "zod";

import * as s from "./schemas";

export const API_PREFIX = "/api/v1";

type JsonSchema = Record<string, unknown>;

/** A zod schema as an OpenAPI 3.1 schema object (`$schema` dropped: the document's dialect applies). */
export function jsonSchemaOf(schema: z.ZodType, io: "input" | "output"): JsonSchema {
    const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, target: "draft-2020-12", unrepresentable: "any" }) as JsonSchema;
    return rest;
}

interface Parameter {
    name: string;
    in: "path" | "query";
    required: boolean;
    description?: string;
    schema: JsonSchema;
}

/** One OpenAPI parameter per property of an object schema (params or query). */
function parametersOf(schema: z.ZodObject, where: "path" | "query"): Parameter[] {
    const json = jsonSchemaOf(schema, "input");
    const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
    const required = new Set((json.required ?? []) as string[]);
    return Object.entries(properties).map(([name, property]) => {
        const { description, ...rest } = property;
        return {
            name,
            in: where,
            // Path parameters are always required (OpenAPI says so); a query parameter with a default is not.
            required: where === "path" || (required.has(name) && !("default" in property)),
            ...(typeof description === "string" ? { description } : {}),
            schema: rest,
        };
    });
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const jsonContent = (name: string) => ({ "application/json": { schema: ref(name) } });
const errorResponse = (description: string) => ({ description, content: jsonContent("Error") });

const READ = [{ bearerAuth: ["environments:read"] }];
const WRITE = [{ bearerAuth: ["environments:write"] }];
const AUTH_ERRORS = {
    "401": errorResponse("No bearer token, or one that does not verify (signature, expiry, audience, issuer)."),
    "403": errorResponse("The token lacks the scope this operation needs."),
};

/** The response schemas by component name; the names are what the document references. */
const COMPONENTS: Record<string, { schema: z.ZodType; io: "input" | "output" }> = {
    Error: { schema: s.errorBody, io: "output" },
    Health: { schema: s.healthBody, io: "output" },
    Readiness: { schema: s.readinessBody, io: "output" },
    EnvironmentList: { schema: s.environmentList, io: "output" },
    Environment: { schema: s.environmentDetail, io: "output" },
    ResourceList: { schema: s.resourceList, io: "output" },
    Graph: { schema: s.graphJson, io: "output" },
    SearchResults: { schema: s.searchResults, io: "output" },
    TemplateList: { schema: s.templateList, io: "output" },
    CommandStatus: { schema: s.commandStatus, io: "output" },
    CommandAccepted: { schema: s.commandAccepted, io: "output" },
    // What a client sends: the input side (defaults optional).
    Command: { schema: s.submitCommandBody, io: "input" },
};

export interface OpenApiDocument {
    openapi: "3.1.0";
    info: { title: string; version: string; description: string };
    servers?: { url: string }[];
    paths: Record<string, Record<string, unknown>>;
    components: { schemas: Record<string, JsonSchema>; securitySchemes: Record<string, unknown> };
}

export function buildOpenApiDocument(options: { version?: string; serverUrl?: string } = {}): OpenApiDocument {
    const p = (path: string) => `${API_PREFIX}${path}`;
    const nameParam = parametersOf(s.environmentParams, "path");
    const paths: OpenApiDocument["paths"] = {
        [p("/healthz")]: {
            get: { operationId: "liveness", summary: "Liveness: the process answers.", security: [], responses: { "200": { description: "Alive.", content: jsonContent("Health") } } },
        },
        [p("/readyz")]: {
            get: {
                operationId: "readiness",
                summary: "Readiness: each dependency's state (broker, store, state backend).",
                security: [],
                responses: {
                    "200": { description: "Every dependency answers.", content: jsonContent("Readiness") },
                    "503": { description: "A dependency is down; `checks` says which.", content: jsonContent("Readiness") },
                },
            },
        },
        [p("/environments")]: {
            get: {
                operationId: "listEnvironments",
                summary: "Environments, filtered and paged.",
                security: READ,
                parameters: parametersOf(s.listEnvironmentsQuery, "query"),
                responses: { "200": { description: "A page of environments.", content: jsonContent("EnvironmentList") }, "400": errorResponse("A query parameter is not valid; `fields` names it."), ...AUTH_ERRORS },
            },
        },
        [p("/environments/{name}")]: {
            get: {
                operationId: "getEnvironment",
                summary: "One environment with its record.",
                security: READ,
                parameters: nameParam,
                responses: { "200": { description: "The environment.", content: jsonContent("Environment") }, "404": errorResponse("No such environment."), ...AUTH_ERRORS },
            },
        },
        [p("/environments/{name}/resources")]: {
            get: {
                operationId: "listResources",
                summary: "An environment's resources (from its record).",
                security: READ,
                parameters: nameParam,
                responses: { "200": { description: "The resources.", content: jsonContent("ResourceList") }, "404": errorResponse("No such environment."), ...AUTH_ERRORS },
            },
        },
        [p("/environments/{name}/graph")]: {
            get: {
                operationId: "getGraph",
                summary: "An environment's resource dependency graph: JSON, Graphviz DOT or Mermaid.",
                security: READ,
                parameters: [...nameParam, ...parametersOf(s.graphQuery, "query")],
                responses: {
                    "200": {
                        description: "The graph in the format asked for.",
                        content: { "application/json": { schema: ref("Graph") }, "text/vnd.graphviz": { schema: { type: "string" } }, "text/plain": { schema: { type: "string" } } },
                    },
                    "400": errorResponse("Unknown format."),
                    "404": errorResponse("No such environment."),
                    ...AUTH_ERRORS,
                },
            },
        },
        [p("/search")]: {
            get: {
                operationId: "search",
                summary: "Environments whose name, description, tags or resources match a text.",
                security: READ,
                parameters: parametersOf(s.searchQuery, "query"),
                responses: { "200": { description: "Matches, best first.", content: jsonContent("SearchResults") }, "400": errorResponse("`q` is missing or empty."), ...AUTH_ERRORS },
            },
        },
        [p("/templates")]: {
            get: {
                operationId: "listTemplates",
                summary: "The self-service templates and their parameters' JSON Schemas.",
                security: READ,
                responses: { "200": { description: "The templates.", content: jsonContent("TemplateList") }, ...AUTH_ERRORS },
            },
        },
        [p("/commands")]: {
            post: {
                operationId: "submitCommand",
                summary: "Submit a command (create, update, extend, destroy); it runs asynchronously.",
                security: WRITE,
                requestBody: { required: true, content: jsonContent("Command") },
                responses: {
                    "202": { description: "Accepted for the bus; follow it at `location`.", content: jsonContent("CommandAccepted") },
                    "400": errorResponse("The command is not valid; `fields` names the fields at fault."),
                    "409": errorResponse("Another command is running or waiting for this environment."),
                    "503": errorResponse("This manager is a secondary: commands go to the primary."),
                    ...AUTH_ERRORS,
                    "403": errorResponse("The token lacks environments:write, or `requestedBy` is not the token's subject."),
                },
            },
        },
        [p("/commands/{id}")]: {
            get: {
                operationId: "getCommand",
                summary: "A command's state and the tail of its output.",
                security: READ,
                parameters: [...parametersOf(s.commandParams, "path"), ...parametersOf(s.commandQuery, "query")],
                responses: {
                    "200": { description: "The command.", content: jsonContent("CommandStatus") },
                    "400": errorResponse("The id is not a UUID."),
                    "404": errorResponse("No such command."),
                    ...AUTH_ERRORS,
                },
            },
        },
        [p("/openapi.json")]: {
            get: { operationId: "openapi", summary: "This document.", security: [], responses: { "200": { description: "The OpenAPI 3.1 document.", content: { "application/json": { schema: { type: "object" } } } } } },
        },
        "/metrics": {
            get: {
                operationId: "metrics",
                summary: "Prometheus metrics (outside /api/v1: scraped, not called).",
                security: [],
                responses: { "200": { description: "Prometheus text exposition.", content: { "text/plain": { schema: { type: "string" } } } } },
            },
        },
    };
    return {
        openapi: "3.1.0",
        info: {
            title: "Environment manager",
            version: options.version ?? "1.0.0",
            description: "Self-service environments: read them, and submit commands that the manager runs through Pulumi. Bearer JWTs; scopes environments:read and environments:write.",
        },
        ...(options.serverUrl ? { servers: [{ url: options.serverUrl }] } : {}),
        paths,
        components: {
            schemas: Object.fromEntries(Object.entries(COMPONENTS).map(([name, c]) => [name, jsonSchemaOf(c.schema, c.io)])),
            securitySchemes: { bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
        },
    };
}
