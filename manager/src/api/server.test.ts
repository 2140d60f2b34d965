import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Writable } from "node:stream";

import { SignJWT } from "jose";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";

import type { Command } from "../commands/schema";
import { createLogger } from "../log";
import { createMetrics, type Metrics } from "../metrics";
import type { AuditEntry, ClaimResult, CommandEntry, EnvironmentEntry, EnvironmentFilter, EnvironmentSummary, Store } from "../store/store";
import { createAuthenticator } from "./auth";
import { jsonSchemaOf, type OpenApiDocument } from "./openapi";
import * as s from "./schemas";
import { type ApiDeps, buildApi, SECONDARY_MESSAGE } from "./server";
import { selfServiceTemplates } from "./templates";

/** The Store interface over maps: only for these tests (the SQL store has its own). */
class MemoryStore implements Store {
    environments = new Map<string, EnvironmentEntry>();
    commands = new Map<string, CommandEntry>();
    logs = new Map<string, string[]>();
    lastFilter: EnvironmentFilter | undefined;
    async migrate() {}
    async close() {}
    async ping() {}
    async claimCommand(command: Command, at: Date): Promise<ClaimResult> {
        const existing = this.commands.get(command.commandId);
        if (existing) {
            return { kind: "duplicate", existing };
        }
        this.commands.set(command.commandId, { commandId: command.commandId, type: command.type, environment: command.environment, requestedBy: command.requestedBy, state: "accepted", acceptedAt: at.toISOString(), body: command });
        return { kind: "new" };
    }
    async rejectCommand() {}
    async markRunning() {}
    async finishCommand() {}
    async getCommand(id: string) {
        return this.commands.get(id);
    }
    async unfinishedCommands() {
        return [...this.commands.values()].filter((c) => c.state === "accepted" || c.state === "running");
    }
    async activeCommandFor(environment: string) {
        return [...this.commands.values()].find((c) => c.environment === environment && (c.state === "accepted" || c.state === "running"));
    }
    async appendLog(id: string, lines: string[]) {
        this.logs.set(id, [...(this.logs.get(id) ?? []), ...lines]);
    }
    async logTail(id: string, lines: number) {
        return (this.logs.get(id) ?? []).slice(-lines);
    }
    async putEnvironment(entry: EnvironmentEntry) {
        this.environments.set(entry.name, entry);
    }
    async setStatus() {}
    async setDrift() {}
    async recordDrift() {
        return false;
    }
    async enqueueNotification() {}
    async pendingNotifications() {
        return [];
    }
    async removeNotification() {}
    async removeEnvironment(name: string) {
        this.environments.delete(name);
    }
    async getEnvironment(name: string) {
        return this.environments.get(name);
    }
    async listEnvironments(filter: EnvironmentFilter): Promise<EnvironmentSummary[]> {
        this.lastFilter = filter;
        const all = [...this.environments.values()]
            .filter((e) => !filter.status || e.status === filter.status)
            .filter((e) => !filter.template || e.template === filter.template)
            .filter((e) => !filter.tag || (filter.tag.key in e.tags && (filter.tag.value === undefined || e.tags[filter.tag.key] === filter.tag.value)))
            .sort((a, b) => a.name.localeCompare(b.name))
            .map(({ record: _r, ...summary }) => summary);
        return all.slice(filter.offset ?? 0, (filter.offset ?? 0) + (filter.limit ?? 100));
    }
    async search(text: string, limit: number) {
        return [...this.environments.values()]
            .filter((e) => e.name.includes(text) || e.description.includes(text))
            .slice(0, limit)
            .map(({ record: _r, ...environment }) => ({ environment, matches: [`name: ${environment.name}`] }));
    }
    async replaceEnvironments(entries: EnvironmentEntry[]) {
        this.environments = new Map(entries.map((e) => [e.name, e]));
    }
    async audit(_entry: AuditEntry) {}
    async auditLog() {
        return [];
    }
}

const AUDIENCE = "environment-manager";
const ISSUER = "https://issuer.test";
const SECRET = "a-test-secret-that-is-long-enough-for-hs256";
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "manager-api-"));
const secretFile = path.join(dir, "secret");
fs.writeFileSync(secretFile, `${SECRET}\n`);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function token(claims: { sub?: string; scope?: string; aud?: string; iss?: string; secret?: string; expired?: boolean } = {}): Promise<string> {
    const jwt = new SignJWT({ scope: claims.scope ?? "environments:read environments:write" })
        .setProtectedHeader({ alg: "HS256" })
        .setAudience(claims.aud ?? AUDIENCE)
        .setIssuer(claims.iss ?? ISSUER)
        .setIssuedAt()
        .setExpirationTime(claims.expired ? Math.floor(Date.now() / 1000) - 3600 : "5m");
    if (claims.sub !== "") {
        jwt.setSubject(claims.sub ?? "alice");
    }
    return jwt.sign(new TextEncoder().encode(claims.secret ?? SECRET));
}

const NOW = "2026-12-01T10:00:00.000Z";
const review42: EnvironmentEntry = {
    name: "review-42",
    template: "review",
    status: "deployed-ok",
    description: "Merge request 42",
    tags: { team: "payments", tier: "gold" },
    createdAt: NOW,
    plannedDestructionAt: "2026-12-20",
    updatedAt: NOW,
    record: {
        name: "review-42",
        status: "deployed-ok",
        templates: [{ name: "review", version: "1.0.0", commit: "abc" }],
        resources: [
            { id: "postgres", template: "platform:db:Postgres", count: 1, status: "ok", dependsOn: [] },
            { id: "api", template: "platform:app:Service", count: 2, status: "ok", links: { entrypoints: ["https://api.review-42.test"] }, dependsOn: ["postgres"] },
        ],
    },
};
const review7: EnvironmentEntry = { name: "review-7", template: "review", status: "deploying", description: "Merge request 7", tags: { team: "search" }, updatedAt: NOW };

const RUNNING_ID = "6f1d9a52-3c1e-4b7a-9a0e-2d5b8c1f4e70";
const NEW_ID = "0b8e6f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b";

function createBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return {
        commandId: NEW_ID,
        type: "environment.create",
        environment: "review-99",
        requestedBy: "alice",
        template: "review",
        description: "Merge request 99",
        owner: "alice@example.com",
        costCenter: "PLT-0001",
        plannedDestruction: "2026-12-20",
        ...overrides,
    };
}

let store: MemoryStore;
let metrics: Metrics;
let submitted: { command: Command; actor: string; traceparent?: string }[];
let logLines: string[];
let healthState: Record<string, string>;

function api(role: "primary" | "secondary" = "primary") {
    return buildApi(depsFor(role));
}

function depsFor(role: "primary" | "secondary"): ApiDeps {
    const sink = new Writable({
        write(chunk: Buffer, _enc, done) {
            logLines.push(...chunk.toString("utf8").split("\n").filter((l) => l !== ""));
            done();
        },
    });
    return {
        store,
        health: async () => healthState,
        submit: async (command, actor, traceparent) => {
            submitted.push({ command, actor, ...(traceparent === undefined ? {} : { traceparent }) });
            return { commandId: command.commandId };
        },
        auth: createAuthenticator({ keys: { kind: "hs256-file", path: secretFile }, audience: AUDIENCE, issuer: ISSUER }),
        metrics,
        logger: createLogger({ level: "info", destination: sink }),
        templates: selfServiceTemplates(),
        role,
    };
}

beforeEach(async () => {
    store = new MemoryStore();
    await store.putEnvironment(review42);
    await store.putEnvironment(review7);
    store.commands.set(RUNNING_ID, {
        commandId: RUNNING_ID,
        type: "environment.update",
        environment: "review-7",
        requestedBy: "bob",
        state: "running",
        acceptedAt: NOW,
        startedAt: NOW,
        body: { commandId: RUNNING_ID, type: "environment.update", environment: "review-7", requestedBy: "bob" },
    });
    await store.appendLog(RUNNING_ID, ["line 1", "line 2", "line 3"]);
    metrics = createMetrics({ defaultMetrics: false });
    submitted = [];
    logLines = [];
    healthState = { broker: "ok", store: "ok", stateBackend: "ok" };
});

async function get(url: string, bearer?: string) {
    const app = api();
    const headers = bearer === undefined ? {} : { authorization: `Bearer ${bearer}` };
    return app.inject({ method: "GET", url, headers });
}

/** POST /api/v1/commands with a valid token (unless `bearer` is given); a string body is sent as is, as JSON text (malformed, say). */
async function post(body: unknown, options: { bearer?: string; role?: "primary" | "secondary"; traceparent?: string } = {}) {
    const app = api(options.role);
    const headers = {
        authorization: `Bearer ${options.bearer ?? (await token())}`,
        ...(typeof body === "string" ? { "content-type": "application/json" } : {}),
        ...(options.traceparent ? { traceparent: options.traceparent } : {}),
    };
    return app.inject({ method: "POST", url: "/api/v1/commands", headers, payload: body as Record<string, unknown> | string });
}

describe("authentication", () => {
    it("answers 401 without a token, with a challenge", async () => {
        const res = await get("/api/v1/environments");
        expect(res.statusCode).toBe(401);
        expect(res.headers["www-authenticate"]).toMatch(/^Bearer/);
        expect(res.json()).toEqual({ error: "unauthorized", message: "missing bearer token: send Authorization: Bearer <token>" });
    });

    it.each([
        ["a wrong signature", { secret: "another-secret-that-is-also-long-enough!!" }, "the token's signature does not verify"],
        ["another audience", { aud: "someone-else" }, "the token's aud claim is not accepted"],
        ["another issuer", { iss: "https://evil.test" }, "the token's iss claim is not accepted"],
        ["an expired token", { expired: true }, "the token has expired"],
        ["no subject", { sub: "" }, "the token has no sub claim (the actor)"],
    ])("answers 401 for %s", async (_what, claims, message) => {
        const res = await get("/api/v1/environments", await token(claims));
        expect(res.statusCode).toBe(401);
        expect(res.json()).toEqual({ error: "unauthorized", message });
    });

    it("answers 401 for a header that is not a bearer token, and for garbage", async () => {
        const app = api();
        const basic = await app.inject({ method: "GET", url: "/api/v1/environments", headers: { authorization: "Basic YWxpY2U6cGFzcw==" } });
        expect(basic.statusCode).toBe(401);
        expect(basic.json().message).toBe("the Authorization header is not a bearer token");
        const garbage = await get("/api/v1/environments", "not.a.jwt");
        expect(garbage.statusCode).toBe(401);
        expect(garbage.json().message).toBe("the token is not a valid JWT");
    });

    it("answers 403 on a read without environments:read", async () => {
        const res = await get("/api/v1/environments", await token({ scope: "environments:write" }));
        expect(res.statusCode).toBe(403);
        expect(res.json()).toEqual({ error: "forbidden", message: "the token lacks the environments:read scope" });
    });

    it("answers 403 on POST /commands without environments:write, and publishes nothing", async () => {
        const res = await post(createBody(), { bearer: await token({ scope: "environments:read" }) });
        expect(res.statusCode).toBe(403);
        expect(res.json().message).toBe("the token lacks the environments:write scope");
        expect(submitted).toEqual([]);
    });

    it("never logs the token", async () => {
        const bearer = await token();
        const res = await get("/api/v1/environments/review-42", bearer);
        expect(res.statusCode).toBe(200);
        expect(logLines.length).toBeGreaterThan(0);
        const all = logLines.join("\n");
        expect(all).toContain("/api/v1/environments/review-42");
        expect(all).not.toContain(bearer);
        expect(all).not.toContain(bearer.split(".")[2]);
    });
});

describe("failures", () => {
    it("answers 500 without details when the store fails, and logs the error (not the token)", async () => {
        store.getEnvironment = async () => {
            throw new Error("connection to postgres://manager:pw@db/manager lost");
        };
        const bearer = await token();
        const res = await get("/api/v1/environments/review-42", bearer);
        expect(res.statusCode).toBe(500);
        expect(res.json()).toEqual({ error: "internal", message: "internal error; see the manager's log" });
        const errorLine = logLines.map((l) => JSON.parse(l) as { level: string; msg: string; err?: { message: string } }).find((l) => l.level === "error");
        expect(errorLine?.msg).toBe("request failed");
        expect(errorLine?.err?.message).toBe("connection to postgres://[redacted]@db/manager lost");
        expect(logLines.join("\n")).not.toContain(bearer);
    });

    it("answers 503 from /readyz when the health check itself throws", async () => {
        const app = buildApi({ ...depsFor("primary"), health: async () => Promise.reject(new Error("timeout")) });
        const res = await app.inject({ method: "GET", url: "/api/v1/readyz" });
        expect(res.statusCode).toBe(503);
        expect(res.json()).toEqual({ status: "not-ready", role: "primary", checks: { health: "timeout" } });
    });
});

describe("probes", () => {
    it("GET /healthz answers without a token", async () => {
        const res = await get("/api/v1/healthz");
        expect(res.statusCode).toBe(200);
        expect(res.json()).toEqual({ status: "ok" });
    });

    it("GET /readyz is 200 when every dependency is ok", async () => {
        const res = await get("/api/v1/readyz");
        expect(res.statusCode).toBe(200);
        expect(res.json()).toEqual({ status: "ready", role: "primary", checks: { broker: "ok", store: "ok", stateBackend: "ok" } });
    });

    it("GET /readyz is 503 naming the dependency that is down", async () => {
        healthState = { broker: "connection refused", store: "ok", stateBackend: "ok" };
        const res = await get("/api/v1/readyz");
        expect(res.statusCode).toBe(503);
        expect(res.json()).toEqual({ status: "not-ready", role: "primary", checks: { broker: "connection refused", store: "ok", stateBackend: "ok" } });
    });
});

describe("reads", () => {
    it("GET /environments lists summaries (without records), in the documented shape", async () => {
        const res = await get("/api/v1/environments", await token());
        expect(res.statusCode).toBe(200);
        const body = s.environmentList.parse(res.json());
        expect(body.items.map((e) => e.name)).toEqual(["review-42", "review-7"]);
        expect(body).toMatchObject({ limit: 100, offset: 0 });
        expect(res.json().items[0]).not.toHaveProperty("record");
    });

    it("GET /environments passes status, template, tag=key=value, limit and offset to the store", async () => {
        const res = await get("/api/v1/environments?status=deployed-ok&template=review&tag=team=payments&limit=5&offset=0", await token());
        expect(res.statusCode).toBe(200);
        expect(store.lastFilter).toEqual({ status: "deployed-ok", template: "review", tag: { key: "team", value: "payments" }, limit: 5, offset: 0 });
        expect(res.json().items.map((e: { name: string }) => e.name)).toEqual(["review-42"]);
    });

    it("GET /environments takes a bare tag key", async () => {
        const res = await get("/api/v1/environments?tag=tier", await token());
        expect(store.lastFilter?.tag).toEqual({ key: "tier" });
        expect(res.json().items.map((e: { name: string }) => e.name)).toEqual(["review-42"]);
    });

    it("GET /environments answers 400 naming each bad field", async () => {
        const res = await get("/api/v1/environments?status=sleeping&limit=0", await token());
        expect(res.statusCode).toBe(400);
        const body = s.errorBody.parse(res.json());
        expect(body.error).toBe("bad_request");
        expect(body.fields).toEqual(["status", "limit"]);
        expect(body.message).toMatch(/^invalid query: status: .+; limit: .+/);
    });

    it("GET /environments/:name returns the record; 404 for an unknown one", async () => {
        const bearer = await token();
        const res = await get("/api/v1/environments/review-42", bearer);
        expect(res.statusCode).toBe(200);
        const body = s.environmentDetail.parse(res.json());
        expect(body.record?.resources?.map((r) => r.id)).toEqual(["postgres", "api"]);
        const missing = await get("/api/v1/environments/review-1", bearer);
        expect(missing.statusCode).toBe(404);
        expect(missing.json()).toEqual({ error: "not_found", message: "no environment named review-1" });
    });

    it("GET /environments/:name/resources lists the record's resources (none without a record)", async () => {
        const bearer = await token();
        const res = await get("/api/v1/environments/review-42/resources", bearer);
        expect(res.statusCode).toBe(200);
        const body = s.resourceList.parse(res.json());
        expect(body.items.map((r) => [r.id, r.count])).toEqual([["postgres", 1], ["api", 2]]);
        expect((await get("/api/v1/environments/review-7/resources", bearer)).json()).toEqual({ environment: "review-7", items: [] });
        expect((await get("/api/v1/environments/nope/resources", bearer)).statusCode).toBe(404);
    });

    it("GET /environments/:name/graph answers JSON by default", async () => {
        const res = await get("/api/v1/environments/review-42/graph", await token());
        expect(res.statusCode).toBe(200);
        expect(s.graphJson.parse(res.json())).toEqual({
            environment: "review-42",
            nodes: [
                { id: "postgres", template: "platform:db:Postgres", count: 1, status: "ok" },
                { id: "api", template: "platform:app:Service", count: 2, status: "ok" },
            ],
            edges: [{ from: "api", to: "postgres" }],
        });
    });

    it("GET /environments/:name/graph?format=dot answers Graphviz", async () => {
        const res = await get("/api/v1/environments/review-42/graph?format=dot", await token());
        expect(res.statusCode).toBe(200);
        expect(res.headers["content-type"]).toBe("text/vnd.graphviz; charset=utf-8");
        expect(res.body).toBe(
            [
                'digraph "review-42" {',
                "    rankdir=LR;",
                '    node [shape=box, fontname="Helvetica"];',
                '    n_postgres [label="postgres\\nPostgres x1"];',
                '    n_api [label="api\\nService x2"];',
                "    n_api -> n_postgres;",
                "}",
                "",
            ].join("\n"),
        );
    });

    it("GET /environments/:name/graph?format=mermaid answers Mermaid", async () => {
        const res = await get("/api/v1/environments/review-42/graph?format=mermaid", await token());
        expect(res.statusCode).toBe(200);
        expect(res.headers["content-type"]).toBe("text/plain; charset=utf-8");
        expect(res.body).toBe(["graph LR", '    n_postgres["postgres<br/>Postgres x1"]', '    n_api["api<br/>Service x2"]', "    n_api --> n_postgres", ""].join("\n"));
    });

    it("GET /environments/:name/graph answers 400 for an unknown format, 404 for an unknown environment", async () => {
        const bearer = await token();
        const bad = await get("/api/v1/environments/review-42/graph?format=png", bearer);
        expect(bad.statusCode).toBe(400);
        expect(bad.json().fields).toEqual(["format"]);
        expect((await get("/api/v1/environments/nope/graph?format=dot", bearer)).statusCode).toBe(404);
    });

    it("GET /search finds by text; 400 without q", async () => {
        const bearer = await token();
        const res = await get("/api/v1/search?q=request%2042", bearer);
        expect(res.statusCode).toBe(200);
        const body = s.searchResults.parse(res.json());
        expect(body.query).toBe("request 42");
        expect(body.items.map((i) => i.environment.name)).toEqual(["review-42"]);
        const missing = await get("/api/v1/search", bearer);
        expect(missing.statusCode).toBe(400);
        expect(missing.json().fields).toEqual(["q"]);
    });

    it("GET /templates lists the self-service templates with their parameter schemas", async () => {
        const res = await get("/api/v1/templates", await token());
        expect(res.statusCode).toBe(200);
        const body = s.templateList.parse(res.json());
        // review is the registry's only reapable template with a maximum lifetime.
        expect(body.items.map((t) => [t.name, t.kind, t.maxLifetimeDays])).toEqual([["review", "review", 30]]);
        expect(body.items[0].parameters).toMatchObject({ type: "object", additionalProperties: { anyOf: expect.any(Array) } });
    });

    it("GET /commands/:id returns the state and the log tail; 404 unknown; 400 not a UUID", async () => {
        const bearer = await token();
        const res = await get(`/api/v1/commands/${RUNNING_ID}?lines=2`, bearer);
        expect(res.statusCode).toBe(200);
        expect(s.commandStatus.parse(res.json())).toEqual({
            commandId: RUNNING_ID,
            type: "environment.update",
            environment: "review-7",
            requestedBy: "bob",
            state: "running",
            acceptedAt: NOW,
            startedAt: NOW,
            logTail: ["line 2", "line 3"],
        });
        expect(res.json()).not.toHaveProperty("body");
        const missing = await get(`/api/v1/commands/${NEW_ID}`, bearer);
        expect(missing.statusCode).toBe(404);
        expect(missing.json()).toEqual({ error: "not_found", message: `no command ${NEW_ID}` });
        const bad = await get("/api/v1/commands/42", bearer);
        expect(bad.statusCode).toBe(400);
        expect(bad.json().fields).toEqual(["id"]);
    });

    it("answers 404 in the error shape for an unknown route", async () => {
        const res = await get("/api/v2/environments", await token());
        expect(res.statusCode).toBe(404);
        expect(res.json()).toEqual({ error: "not_found", message: "no route GET /api/v2/environments" });
    });
});

describe("POST /commands", () => {
    it("publishes a valid command with the token's subject as actor and answers 202", async () => {
        const res = await post(createBody());
        expect(res.statusCode).toBe(202);
        expect(res.json()).toEqual({ commandId: NEW_ID, location: `/api/v1/commands/${NEW_ID}` });
        expect(res.headers.location).toBe(`/api/v1/commands/${NEW_ID}`);
        expect(submitted).toHaveLength(1);
        expect(submitted[0].actor).toBe("alice");
        expect(submitted[0].command).toEqual(createBody());
        expect(submitted[0].traceparent).toBeUndefined();
    });

    it("hands the request's traceparent on with the command, for the bus", async () => {
        const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        expect((await post(createBody(), { traceparent })).statusCode).toBe(202);
        expect(submitted[0].traceparent).toBe(traceparent);
    });

    it("answers 400 naming every bad field, and publishes nothing", async () => {
        const res = await post(createBody({ owner: "not-an-email", costCenter: "x", plannedDestruction: "soon" }));
        expect(res.statusCode).toBe(400);
        const body = s.errorBody.parse(res.json());
        expect(body.fields?.sort()).toEqual(["costCenter", "owner", "plannedDestruction"]);
        expect(body.message).toContain("owner: ");
        expect(submitted).toEqual([]);
    });

    it("answers 400 for an unknown type, an unknown key and a body that is not JSON", async () => {
        const badType = await post(createBody({ type: "environment.explode" }));
        expect(badType.statusCode).toBe(400);
        expect(badType.json().fields).toEqual(["type"]);
        const extra = await post(createBody({ sneaky: true }));
        expect(extra.statusCode).toBe(400);
        expect(extra.json().message).toContain("sneaky");
        const notJson = await post("{nope");
        expect(notJson.statusCode).toBe(400);
        expect(notJson.json().error).toBe("bad_request");
        expect(submitted).toEqual([]);
    });

    it("answers 400 for a template that is not self-service", async () => {
        const res = await post(createBody({ template: "prod" }));
        expect(res.statusCode).toBe(400);
        expect(res.json()).toEqual({ error: "bad_request", message: "template: prod is not a self-service template (review)", fields: ["template"] });
    });

    it("answers 403 when requestedBy is not the token's subject", async () => {
        const res = await post(createBody({ requestedBy: "mallory" }));
        expect(res.statusCode).toBe(403);
        expect(res.json().fields).toEqual(["requestedBy"]);
        expect(submitted).toEqual([]);
    });

    it("answers 409 while another command holds the environment", async () => {
        const res = await post({ commandId: NEW_ID, type: "environment.destroy", environment: "review-7", requestedBy: "alice" });
        expect(res.statusCode).toBe(409);
        expect(res.json()).toEqual({ error: "conflict", message: `environment review-7 has a command running: ${RUNNING_ID} (environment.update); wait for it to finish` });
        expect(submitted).toEqual([]);
    });

    it("answers a resend of a known command with 202 and does not publish it again", async () => {
        const res = await post({ commandId: RUNNING_ID, type: "environment.update", environment: "review-7", requestedBy: "alice" });
        expect(res.statusCode).toBe(202);
        expect(res.json().commandId).toBe(RUNNING_ID);
        expect(submitted).toEqual([]);
    });

    it("is refused on a secondary with 503", async () => {
        const res = await post(createBody(), { role: "secondary" });
        expect(res.statusCode).toBe(503);
        expect(res.json()).toEqual({ error: "not_primary", message: SECONDARY_MESSAGE });
        expect(SECONDARY_MESSAGE).toBe("this manager is a secondary: commands go to the primary");
        expect(submitted).toEqual([]);
    });
});

describe("GET /api/v1/openapi.json", () => {
    const ROUTES: [string, string][] = [
        ["get", "/api/v1/healthz"],
        ["get", "/api/v1/readyz"],
        ["get", "/api/v1/environments"],
        ["get", "/api/v1/environments/{name}"],
        ["get", "/api/v1/environments/{name}/resources"],
        ["get", "/api/v1/environments/{name}/graph"],
        ["get", "/api/v1/search"],
        ["get", "/api/v1/templates"],
        ["get", "/api/v1/commands/{id}"],
        ["post", "/api/v1/commands"],
        ["get", "/api/v1/openapi.json"],
        ["get", "/metrics"],
    ];

    it("is an OpenAPI 3.1 document describing exactly the server's routes", async () => {
        const app = api();
        const res = await app.inject({ method: "GET", url: "/api/v1/openapi.json" });
        expect(res.statusCode).toBe(200);
        const doc = res.json() as OpenApiDocument;
        expect(doc.openapi).toBe("3.1.0");
        const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => [m, p]));
        expect(documented.sort()).toEqual([...ROUTES].sort());
        for (const [method, p] of ROUTES) {
            // Each documented path is a real route (fastify spells parameters :name).
            expect(app.hasRoute({ method: method.toUpperCase() as "GET" | "POST", url: p.replace(/\{(\w+)\}/g, ":$1") }), `${method} ${p}`).toBe(true);
        }
    });

    it("takes the POST /commands body schema from the bus's zod schema", async () => {
        const doc = (await get("/api/v1/openapi.json")).json() as OpenApiDocument;
        const requestBody = (doc.paths["/api/v1/commands"].post as { requestBody: { content: Record<string, { schema: { $ref: string } }> } }).requestBody;
        const ref = requestBody.content["application/json"].schema.$ref;
        expect(ref).toBe("#/components/schemas/Command");
        const { $schema: _dialect, ...expected } = z.toJSONSchema(s.submitCommandBody, { io: "input" }) as Record<string, unknown>;
        expect(doc.components.schemas.Command).toEqual(expected);
        // A real schema, not an empty one: four command types, each with its own required fields.
        expect((doc.components.schemas.Command as { oneOf: unknown[] }).oneOf).toHaveLength(4);
    });

    it("resolves every $ref and documents each query parameter", async () => {
        const doc = (await get("/api/v1/openapi.json")).json() as OpenApiDocument;
        const refs = [...JSON.stringify(doc.paths).matchAll(/"\$ref":"#\/components\/schemas\/(\w+)"/g)].map((m) => m[1]);
        expect(refs.length).toBeGreaterThan(10);
        for (const name of refs) {
            expect(doc.components.schemas, name).toHaveProperty(name);
        }
        const list = doc.paths["/api/v1/environments"].get as { parameters: { name: string; in: string; schema: Record<string, unknown> }[] };
        expect(list.parameters.map((p) => p.name)).toEqual(["status", "template", "tag", "limit", "offset"]);
        expect(list.parameters.find((p) => p.name === "limit")?.schema).toEqual(jsonSchemaOf(s.listEnvironmentsQuery.shape.limit, "input"));
        expect(doc.components.securitySchemes).toEqual({ bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT" } });
    });
});

describe("GET /metrics", () => {
    it("exposes every metric, with the request just made under its route template", async () => {
        const app = api();
        const bearer = await token();
        await app.inject({ method: "GET", url: "/api/v1/environments/review-42", headers: { authorization: `Bearer ${bearer}` } });
        metrics.countCommand("environment.create", "accepted");
        const res = await app.inject({ method: "GET", url: "/metrics" });
        expect(res.statusCode).toBe(200);
        expect(res.headers["content-type"]).toMatch(/^text\/plain; version=0\.0\.4/);
        for (const name of ["platform_manager_commands_total", "platform_manager_command_duration_seconds", "platform_manager_queue_depth", "platform_manager_store_query_seconds", "platform_manager_http_request_duration_seconds"]) {
            expect(res.body).toContain(`# TYPE ${name} `);
        }
        expect(res.body).toContain('platform_manager_http_request_duration_seconds_count{route="/api/v1/environments/:name",method="GET",status="200"} 1');
        expect(res.body).toContain('platform_manager_commands_total{type="environment.create",outcome="accepted"} 1');
    });
});
