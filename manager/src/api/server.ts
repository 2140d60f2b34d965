/**
 * The manager's REST API (fastify), versioned in the path: /api/v1/...,
 * plus /metrics for Prometheus. Reads come from the store (the read model);
 * commands are validated with the bus's own schema and published, never run
 * here. Every error is `{ error, message, fields? }`.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type pino from "pino";
import { z } from "zod";

import { toDot, toMermaid } from "../../../environments/catalog/graph";
import type { RecordView } from "../../../environments/catalog/model";
import { type Command, describeIssues } from "../commands/schema";
import { CENSORED } from "../log";
import type { Metrics } from "../metrics";
import type { EnvironmentEntry, EnvironmentFilter, Store } from "../store/store";
import { AuthError, type Authenticator, type Principal, SCOPES, type Scope } from "./auth";
import { API_PREFIX, buildOpenApiDocument } from "./openapi";
import * as s from "./schemas";

export interface ApiDeps {
    store: Store;
    /** Each dependency (broker, store, state backend): "ok", or why not. */
    health: () => Promise<Record<string, "ok" | string>>;
    /** Publishes a command to the bus; `actor` is the token's subject; `traceparent` the request's trace context, if it has one. */
    submit: (command: Command, actor: string, traceparent?: string) => Promise<{ commandId: string }>;
    auth: Authenticator;
    metrics: Metrics;
    logger: pino.Logger;
    templates: s.TemplateInfo[];
    role: "primary" | "secondary";
}

export const SECONDARY_MESSAGE = "this manager is a secondary: commands go to the primary";

/** An error the API answers with as is. */
export class ApiError extends Error {
    constructor(
        readonly status: number,
        readonly code: string,
        message: string,
        readonly fields?: string[],
    ) {
        super(message);
        this.name = "ApiError";
    }
}

/** `value` parsed by `schema`, or a 400 naming each field at fault. */
function parse<T extends z.ZodType>(schema: T, value: unknown, where: string): z.output<T> {
    const result = schema.safeParse(value);
    if (!result.success) {
        const fields = [...new Set(result.error.issues.map((i) => (i.path.length ? i.path.join(".") : "(body)")))];
        throw new ApiError(400, "bad_request", `invalid ${where}: ${describeIssues(result.error)}`, fields);
    }
    return result.data;
}

function parseTag(tag: string | undefined): EnvironmentFilter["tag"] {
    if (tag === undefined) {
        return undefined;
    }
    const eq = tag.indexOf("=");
    return eq < 0 ? { key: tag } : { key: tag.slice(0, eq), value: tag.slice(eq + 1) };
}

/** The catalog's record view of an entry, with the defaults graph.ts needs for what the record leaves out. */
function recordView(entry: EnvironmentEntry): RecordView {
    const r = entry.record;
    return {
        name: entry.name,
        description: entry.description,
        tags: entry.tags,
        createdAt: entry.createdAt ?? "",
        plannedDestructionAt: entry.plannedDestructionAt ?? null,
        status: entry.status,
        templates: (r?.templates ?? []).map((t) => ({ name: t.name, version: t.version ?? "", commit: t.commit ?? "" })),
        entrypoints: [],
        statusEndpoints: [],
        resources: (r?.resources ?? []).map((res) => ({
            id: res.id,
            template: res.template ?? "unknown",
            count: res.count ?? 1,
            status: res.status ?? "unknown",
            links: { entrypoints: res.links?.entrypoints ?? [], statusEndpoints: res.links?.statusEndpoints ?? [] },
            dependsOn: res.dependsOn ?? [],
        })),
    };
}

/** What fastify logs of a request: never its headers (the bearer token). */
function requestForLog(request: FastifyRequest): Record<string, unknown> {
    return { method: request.method, url: request.url, remoteAddress: request.ip };
}

export function buildApi(deps: ApiDeps): FastifyInstance {
    const { store, metrics } = deps;
    // Belt and braces: whatever logger we are given, the authorization header is censored.
    // Typed as fastify's base logger so the instance is a plain FastifyInstance.
    const logger: FastifyBaseLogger = deps.logger.child(
        { component: "api" },
        {
            redact: { paths: ["req.headers.authorization", "request.headers.authorization", "headers.authorization"], censor: CENSORED },
            serializers: { req: requestForLog },
        },
    );
    const app = Fastify({ loggerInstance: logger, bodyLimit: 256 * 1024 });
    const principals = new WeakMap<FastifyRequest, Principal>();
    const openapi = buildOpenApiDocument();

    const requireScope = (scope: Scope) => async (request: FastifyRequest) => {
        const principal = await deps.auth.authenticate(request.headers.authorization);
        if (!principal.scopes.has(scope)) {
            throw new ApiError(403, "forbidden", `the token lacks the ${scope} scope`);
        }
        principals.set(request, principal);
    };
    const read = { preHandler: requireScope(SCOPES.read) };
    const write = { preHandler: requireScope(SCOPES.write) };

    const environmentOr404 = async (name: string): Promise<EnvironmentEntry> => {
        const entry = await store.getEnvironment(name);
        if (!entry) {
            throw new ApiError(404, "not_found", `no environment named ${name}`);
        }
        return entry;
    };

    app.addHook("onResponse", async (request, reply) => {
        // The route template, not the URL: one series per route, not per environment name.
        const route = request.routeOptions.url ?? "unmatched";
        metrics.observeHttpRequest({ route, method: request.method, status: reply.statusCode }, reply.elapsedTime / 1000);
    });

    app.setErrorHandler(async (error: unknown, request: FastifyRequest, reply: FastifyReply) => {
        if (error instanceof ApiError) {
            return reply.status(error.status).send({ error: error.code, message: error.message, ...(error.fields ? { fields: error.fields } : {}) });
        }
        if (error instanceof AuthError) {
            return reply.status(401).header("www-authenticate", 'Bearer error="invalid_token"').send({ error: "unauthorized", message: error.message });
        }
        const status = typeof error === "object" && error !== null && "statusCode" in error && typeof error.statusCode === "number" ? error.statusCode : 500;
        if (status >= 400 && status < 500) {
            // fastify's own: a body that is not JSON, too large, an unsupported content type.
            const message = error instanceof Error ? error.message : "bad request";
            return reply.status(status).send({ error: status === 400 ? "bad_request" : "client_error", message, ...(status === 400 ? { fields: ["(body)"] } : {}) });
        }
        request.log.error({ err: error }, "request failed");
        return reply.status(500).send({ error: "internal", message: "internal error; see the manager's log" });
    });

    app.setNotFoundHandler(async (request, reply) => reply.status(404).send({ error: "not_found", message: `no route ${request.method} ${request.url.split("?")[0]}` }));

    // ---- unauthenticated: probes, scrapes, the document ----

    app.get(`${API_PREFIX}/healthz`, async () => ({ status: "ok" as const }));

    app.get(`${API_PREFIX}/readyz`, async (_request, reply) => {
        let checks: Record<string, string>;
        try {
            checks = await deps.health();
        } catch (error) {
            checks = { health: error instanceof Error ? error.message : String(error) };
        }
        const ready = Object.values(checks).every((v) => v === "ok");
        return reply.status(ready ? 200 : 503).send({ status: ready ? "ready" : "not-ready", role: deps.role, checks });
    });

    app.get(`${API_PREFIX}/openapi.json`, async () => openapi);

    app.get("/metrics", async (_request, reply) => {
        const { contentType, body } = await metrics.render();
        return reply.type(contentType).send(body);
    });

    // ---- reads ----

    app.get(`${API_PREFIX}/environments`, read, async (request) => {
        const q = parse(s.listEnvironmentsQuery, request.query, "query");
        const items = await store.listEnvironments({ status: q.status, template: q.template, tag: parseTag(q.tag), limit: q.limit, offset: q.offset });
        return { items, limit: q.limit, offset: q.offset };
    });

    app.get(`${API_PREFIX}/environments/:name`, read, async (request) => {
        const { name } = parse(s.environmentParams, request.params, "path");
        return environmentOr404(name);
    });

    app.get(`${API_PREFIX}/environments/:name/resources`, read, async (request) => {
        const { name } = parse(s.environmentParams, request.params, "path");
        const entry = await environmentOr404(name);
        return { environment: name, items: entry.record?.resources ?? [] };
    });

    app.get(`${API_PREFIX}/environments/:name/graph`, read, async (request, reply) => {
        const { name } = parse(s.environmentParams, request.params, "path");
        const { format } = parse(s.graphQuery, request.query, "query");
        const view = recordView(await environmentOr404(name));
        switch (format) {
            case "dot":
                return reply.type("text/vnd.graphviz; charset=utf-8").send(toDot(view));
            case "mermaid":
                // Mermaid has no registered media type.
                return reply.type("text/plain; charset=utf-8").send(toMermaid(view));
            case "json":
                return {
                    environment: name,
                    nodes: view.resources.map((r) => ({ id: r.id, template: r.template, count: r.count, status: r.status })),
                    edges: view.resources.flatMap((r) => r.dependsOn.map((to) => ({ from: r.id, to }))),
                };
        }
    });

    app.get(`${API_PREFIX}/search`, read, async (request) => {
        const { q, limit } = parse(s.searchQuery, request.query, "query");
        return { query: q, items: await store.search(q, limit) };
    });

    app.get(`${API_PREFIX}/templates`, read, async () => ({ items: deps.templates }));

    app.get(`${API_PREFIX}/commands/:id`, read, async (request) => {
        const { id } = parse(s.commandParams, request.params, "path");
        const { lines } = parse(s.commandQuery, request.query, "query");
        const entry = await store.getCommand(id);
        if (!entry) {
            throw new ApiError(404, "not_found", `no command ${id}`);
        }
        const { body: _body, ...status } = entry;
        return { ...status, logTail: lines === 0 ? [] : await store.logTail(id, lines) };
    });

    // ---- the one write ----

    app.post(`${API_PREFIX}/commands`, write, async (request, reply) => {
        if (deps.role === "secondary") {
            throw new ApiError(503, "not_primary", SECONDARY_MESSAGE);
        }
        const cmd = parse(s.submitCommandBody, request.body, "command");
        const principal = principals.get(request);
        if (!principal) {
            throw new ApiError(401, "unauthorized", "not authenticated");
        }
        if (cmd.requestedBy !== principal.subject) {
            // The audit trail names the token's subject; a body cannot claim to be someone else.
            throw new ApiError(403, "forbidden", `requestedBy (${cmd.requestedBy}) must be the token's subject (${principal.subject})`, ["requestedBy"]);
        }
        if (cmd.type === "environment.create" && !deps.templates.some((t) => t.name === cmd.template)) {
            throw new ApiError(400, "bad_request", `template: ${cmd.template} is not a self-service template (${deps.templates.map((t) => t.name).join(", ") || "none"})`, ["template"]);
        }
        const accepted = (commandId: string) =>
            reply.status(202).header("location", `${API_PREFIX}/commands/${commandId}`).send({ commandId, location: `${API_PREFIX}/commands/${commandId}` });
        // A resend of a command already taken: the same answer, nothing published again.
        if (await store.getCommand(cmd.commandId)) {
            return accepted(cmd.commandId);
        }
        const active = await store.activeCommandFor(cmd.environment);
        if (active) {
            throw new ApiError(409, "conflict", `environment ${cmd.environment} has a command ${active.state}: ${active.commandId} (${active.type}); wait for it to finish`);
        }
        // The caller's trace (W3C traceparent header), continued on the bus.
        const traceparent = request.headers.traceparent;
        const { commandId } = await deps.submit(cmd, principal.subject, typeof traceparent === "string" ? traceparent : undefined);
        request.log.info({ commandId, type: cmd.type, environment: cmd.environment, actor: principal.subject }, "command submitted");
        return accepted(commandId);
    });

    return app;
}
