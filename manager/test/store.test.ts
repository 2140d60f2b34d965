/**
 * The store on both backends: one suite, run against a throwaway Postgres
 * server (test/helpers/postgres.ts) and against PGlite in memory, so the shared
 * SQL is proven on each. Then PGlite on disk: what it wrote survives a restart.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { startPostgres, type PostgresServer } from "../../test/helpers/postgres";
import type { Command } from "../src/commands/schema";
import { COMMAND_LOG_LINES, MIGRATIONS } from "../src/store/sql";
import { connectPostgres, openEmbeddedPostgres, type SqlStore } from "../src/store/sql-store";
import type { EnvironmentEntry } from "../src/store/store";

interface Backend {
    name: string;
    /** The store the suite uses, migrated. */
    open(): Promise<SqlStore>;
    /** Two stores on one new, empty database (the same one twice where only one connection can exist). */
    fresh(): Promise<[SqlStore, SqlStore]>;
    teardown(): Promise<void>;
}

function serverBackend(): Backend {
    let server: PostgresServer | undefined;
    const opened: SqlStore[] = [];
    let databases = 0;
    const database = async (): Promise<string> => {
        server ??= await startPostgres();
        const name = `store_${++databases}`;
        const admin = await connectPostgres(server.url);
        try {
            await admin.client.query(`CREATE DATABASE ${name}`);
        } finally {
            await admin.close();
        }
        return server.urlFor(name);
    };
    const connect = async (url: string) => {
        const store = await connectPostgres(url, { statementTimeoutMs: 20_000 });
        opened.push(store);
        return store;
    };
    return {
        name: "a Postgres server",
        async open() {
            const store = await connect(await database());
            await store.migrate();
            return store;
        },
        async fresh() {
            const url = await database();
            return [await connect(url), await connect(url)];
        },
        async teardown() {
            await Promise.all(opened.map((s) => s.close()));
            await server?.stop();
        },
    };
}

function embeddedBackend(): Backend {
    const opened: SqlStore[] = [];
    const open = async () => {
        const store = await openEmbeddedPostgres();
        opened.push(store);
        return store;
    };
    return {
        name: "embedded PGlite",
        async open() {
            const store = await open();
            await store.migrate();
            return store;
        },
        async fresh() {
            // One PGlite instance is one connection: the two migrations share it.
            const store = await open();
            return [store, store];
        },
        async teardown() {
            await Promise.all(opened.map((s) => s.close()));
        },
    };
}

const T0 = Date.parse("2026-03-01T10:00:00.000Z");
const at = (seconds: number) => new Date(T0 + seconds * 1000);

function create(environment: string, commandId = randomUUID()): Command {
    return {
        commandId,
        type: "environment.create",
        environment,
        requestedBy: "alice@example.com",
        template: "shop",
        description: `shop ${environment}`,
        owner: "alice@example.com",
        costCenter: "PLT-0001",
        plannedDestruction: "2026-05-01",
    };
}

function environment(name: string, fields: Partial<EnvironmentEntry> = {}): EnvironmentEntry {
    return {
        name,
        template: "shop",
        status: "deployed-ok",
        description: `the ${name} environment`,
        tags: {},
        updatedAt: "2026-03-01T10:00:00.000Z",
        ...fields,
    };
}

/** The search fixtures: names, descriptions, tags and resources each carry words the tests look for. */
const SEARCHABLE: EnvironmentEntry[] = [
    environment("checkout", {
        description: "Checkout flow for the web shop",
        tags: { team: "payments" },
        record: { resources: [{ id: "checkout-api", template: "service" }, { id: "orders-db", template: "postgres" }] },
    }),
    environment("checkout-perf", { template: "load", description: "Load tests", tags: { env: "staging" } }),
    environment("billing", {
        template: "ledger",
        description: "Invoices and checkout receipts",
        tags: { team: "finance" },
        record: { resources: [{ id: "ledger-db", template: "postgres" }] },
    }),
    environment("search-sandbox", { template: "lab", description: "Elasticsearch trial", tags: { owner: "alice" } }),
];

describe.each([serverBackend(), embeddedBackend()])("the SQL store on $name", (backend) => {
    let store: SqlStore;

    beforeAll(async () => {
        store = await backend.open();
    });
    afterAll(async () => {
        await backend.teardown();
    });
    beforeEach(async () => {
        await store.client.query("TRUNCATE environments, resources, commands, command_log, audit, notification_outbox RESTART IDENTITY");
    });

    it("migrates once when two managers migrate at the same time, and again is a no-op", async () => {
        const [a, b] = await backend.fresh();
        await Promise.all([a.migrate(), b.migrate()]);
        await a.migrate();
        const { rows } = await a.client.query<{ version: number }>("SELECT version FROM manager_schema_version ORDER BY version");
        expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
        await b.putEnvironment(environment("after-migrate"));
        expect((await a.getEnvironment("after-migrate"))?.template).toBe("shop");
        await b.ping();
    });

    it("claims a command once; a redelivery is a duplicate carrying the first record", async () => {
        const command = create("shop-1");
        expect(await store.claimCommand(command, at(0))).toEqual({ kind: "new" });
        const again = await store.claimCommand({ ...command, requestedBy: "mallory" }, at(5));
        expect(again).toEqual({
            kind: "duplicate",
            existing: {
                commandId: command.commandId,
                type: "environment.create",
                environment: "shop-1",
                requestedBy: "alice@example.com",
                state: "accepted",
                acceptedAt: "2026-03-01T10:00:00.000Z",
                body: command,
                attempts: 0,
            },
        });
        // Claims racing on one id: exactly one wins.
        const racing = create("shop-2");
        const results = await Promise.all(Array.from({ length: 6 }, (_, i) => store.claimCommand(racing, at(i))));
        expect(results.filter((r) => r.kind === "new")).toHaveLength(1);
        expect(results.filter((r) => r.kind === "duplicate")).toHaveLength(5);
    });

    it("records a rejection once, turns a waiting command rejected, and leaves a running one alone", async () => {
        await store.rejectCommand({ commandId: "not-a-uuid", body: { type: "environment.explode" } }, "type: invalid", at(0));
        await store.rejectCommand({ commandId: "not-a-uuid", body: {} }, "a second reason", at(9));
        expect(await store.getCommand("not-a-uuid")).toEqual({
            commandId: "not-a-uuid",
            type: "",
            environment: "",
            requestedBy: "",
            state: "rejected",
            reason: "type: invalid",
            acceptedAt: "2026-03-01T10:00:00.000Z",
            finishedAt: "2026-03-01T10:00:00.000Z",
            body: { type: "environment.explode" },
            attempts: 0,
        });

        const waiting = create("shop-1");
        await store.claimCommand(waiting, at(1));
        await store.rejectCommand({ ...waiting, body: waiting }, "policy: template not allowed", at(2));
        expect(await store.getCommand(waiting.commandId)).toMatchObject({ state: "rejected", reason: "policy: template not allowed", finishedAt: "2026-03-01T10:00:02.000Z" });
        expect((await store.claimCommand(waiting, at(3))).kind).toBe("duplicate");

        const running = create("shop-2");
        await store.claimCommand(running, at(1));
        await store.markRunning(running.commandId, at(2));
        await store.rejectCommand({ ...running, body: running }, "too late", at(3));
        expect((await store.getCommand(running.commandId))?.state).toBe("running");
    });

    it("runs and finishes a command; the first outcome wins", async () => {
        const command = create("shop-1");
        await store.claimCommand(command, at(0));
        await store.markRunning(command.commandId, at(1));
        expect(await store.getCommand(command.commandId)).toMatchObject({ state: "running", startedAt: "2026-03-01T10:00:01.000Z" });
        await store.finishCommand(command.commandId, "succeeded", undefined, at(60));
        await store.finishCommand(command.commandId, "failed", "late failure", at(61));
        const done = await store.getCommand(command.commandId);
        expect(done).toMatchObject({ state: "succeeded", startedAt: "2026-03-01T10:00:01.000Z", finishedAt: "2026-03-01T10:01:00.000Z" });
        expect(done?.reason).toBeUndefined();

        await expect(store.markRunning(command.commandId, at(70))).rejects.toThrow(`command ${command.commandId} is succeeded`);
        await expect(store.markRunning(randomUUID(), at(70))).rejects.toThrow("never claimed");
        await expect(store.finishCommand(randomUUID(), "failed", "x", at(70))).rejects.toThrow("never claimed");

        const failing = create("shop-2");
        await store.claimCommand(failing, at(0));
        await store.finishCommand(failing.commandId, "abandoned", "manager stopped before it ran", at(5));
        expect(await store.getCommand(failing.commandId)).toMatchObject({ state: "abandoned", reason: "manager stopped before it ran" });
        expect(await store.getCommand(randomUUID())).toBeUndefined();
    });

    it("lists unfinished commands oldest first and finds the active one per environment", async () => {
        const [older, newer, finished, other] = [create("shop-1"), create("shop-1"), create("shop-1"), create("shop-2")];
        await store.claimCommand(newer, at(20));
        await store.claimCommand(older, at(10));
        await store.claimCommand(finished, at(0));
        await store.claimCommand(other, at(30));
        await store.markRunning(newer.commandId, at(21));
        await store.markRunning(finished.commandId, at(1));
        await store.finishCommand(finished.commandId, "failed", "boom", at(2));

        expect((await store.unfinishedCommands()).map((c) => [c.commandId, c.state])).toEqual([
            [older.commandId, "accepted"],
            [newer.commandId, "running"],
            [other.commandId, "accepted"],
        ]);
        // The running one, though the waiting one is older.
        expect((await store.activeCommandFor("shop-1"))?.commandId).toBe(newer.commandId);
        expect((await store.activeCommandFor("shop-2"))?.commandId).toBe(other.commandId);
        expect(await store.activeCommandFor("shop-3")).toBeUndefined();

        await store.finishCommand(newer.commandId, "succeeded", undefined, at(40));
        expect((await store.activeCommandFor("shop-1"))?.commandId).toBe(older.commandId);
        // Abandoned (a manager stopped during it) is not an outcome: it is still the environment's, and runs again.
        await store.finishCommand(older.commandId, "abandoned", "stale", at(41));
        expect((await store.activeCommandFor("shop-1"))?.state).toBe("abandoned");
        expect((await store.unfinishedCommands()).map((c) => c.commandId)).toContain(older.commandId);
        await store.markRunning(older.commandId, at(42));
        // Every run counts, the one before the stop and this one: the runner gives a command up after a few.
        expect((await store.getCommand(older.commandId))?.attempts).toBe(1);
        expect((await store.getCommand(newer.commandId))?.attempts).toBe(1);
        await store.finishCommand(older.commandId, "succeeded", undefined, at(43));
        expect(await store.activeCommandFor("shop-1")).toBeUndefined();
    });

    it("keeps the newest log lines per command, in order", async () => {
        const id = randomUUID();
        const other = randomUUID();
        const lines = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `line ${from + i}`);
        await store.appendLog(other, ["other 0", "other 1"]);
        await store.appendLog(id, lines(0, 300));
        await store.appendLog(id, lines(300, 600));
        await store.appendLog(id, []);

        const tail = await store.logTail(id, 10_000);
        expect(tail).toHaveLength(COMMAND_LOG_LINES);
        expect(tail[0]).toBe("line 100");
        expect(tail.at(-1)).toBe("line 599");
        expect(await store.logTail(id, 3)).toEqual(["line 597", "line 598", "line 599"]);
        const { rows } = await store.client.query<{ n: number }>("SELECT count(*)::int AS n FROM command_log WHERE command_id = $1", [id]);
        expect(rows[0].n).toBe(COMMAND_LOG_LINES);

        // One batch longer than the bound keeps its own newest lines.
        const big = randomUUID();
        await store.appendLog(big, lines(0, 700));
        expect((await store.logTail(big, 1))[0]).toBe("line 699");
        expect((await store.logTail(big, 10_000))[0]).toBe("line 200");

        expect(await store.logTail(other, 10)).toEqual(["other 0", "other 1"]);
        expect(await store.logTail(randomUUID(), 10)).toEqual([]);
    });

    it("puts, gets and lists environments with filters", async () => {
        const full = environment("shop-a", {
            status: "deploying",
            description: "Shop A",
            tags: { team: "payments", env: "dev" },
            createdAt: "2026-02-01T08:30:00Z",
            plannedDestructionAt: "2026-04-01",
            progress: { done: 1, total: 4 },
            record: {
                name: "shop-a",
                status: "deploying",
                resources: [{ id: "api", template: "service", links: { entrypoints: ["https://a.example"] }, dependsOn: ["db"] }, { id: "db" }],
                extra: { kept: true },
            },
        });
        await store.putEnvironment(full);
        await store.putEnvironment(environment("shop-b", { tags: { team: "payments", env: "prod" } }));
        await store.putEnvironment(environment("lab-c", { template: "lab", status: "deployed-fail", tags: { team: "research" } }));
        await store.putEnvironment(environment("lab-d", { template: "lab", tags: {} }));

        expect(await store.getEnvironment("shop-a")).toEqual({
            ...full,
            createdAt: "2026-02-01T08:30:00.000Z",
            plannedDestructionAt: "2026-04-01T00:00:00.000Z",
        });
        // Key for key, in order: callers compare records as JSON text.
        expect(JSON.stringify((await store.getEnvironment("shop-a"))?.record)).toBe(JSON.stringify(full.record));
        expect(await store.getEnvironment("nope")).toBeUndefined();
        const { rows: resources } = await store.client.query<{ id: string; endpoints: unknown; depends_on: unknown }>(
            "SELECT id, endpoints, depends_on FROM resources WHERE environment = $1 ORDER BY id",
            ["shop-a"],
        );
        expect(resources).toEqual([
            { id: "api", endpoints: { entrypoints: ["https://a.example"] }, depends_on: ["db"] },
            { id: "db", endpoints: {}, depends_on: [] },
        ]);

        const names = async (filter: Parameters<SqlStore["listEnvironments"]>[0]) => (await store.listEnvironments(filter)).map((e) => e.name);
        expect(await names({})).toEqual(["lab-c", "lab-d", "shop-a", "shop-b"]);
        const listed = await store.listEnvironments({ template: "shop", status: "deploying" });
        expect(listed).toEqual([
            {
                name: "shop-a",
                template: "shop",
                status: "deploying",
                description: "Shop A",
                tags: { team: "payments", env: "dev" },
                createdAt: "2026-02-01T08:30:00.000Z",
                plannedDestructionAt: "2026-04-01T00:00:00.000Z",
                progress: { done: 1, total: 4 },
                updatedAt: "2026-03-01T10:00:00.000Z",
            },
        ]);
        expect(listed[0]).not.toHaveProperty("record");
        expect(await names({ status: "deployed-ok" })).toEqual(["lab-d", "shop-b"]);
        expect(await names({ template: "lab" })).toEqual(["lab-c", "lab-d"]);
        expect(await names({ tag: { key: "team" } })).toEqual(["lab-c", "shop-a", "shop-b"]);
        expect(await names({ tag: { key: "team", value: "payments" } })).toEqual(["shop-a", "shop-b"]);
        expect(await names({ tag: { key: "env", value: "prod" } })).toEqual(["shop-b"]);
        expect(await names({ tag: { key: "env", value: "payments" } })).toEqual([]);
        expect(await names({ template: "lab", tag: { key: "team" } })).toEqual(["lab-c"]);
        expect(await names({ limit: 2 })).toEqual(["lab-c", "lab-d"]);
        expect(await names({ limit: 2, offset: 2 })).toEqual(["shop-a", "shop-b"]);
        expect(await names({ offset: 3 })).toEqual(["shop-b"]);
        await expect(store.listEnvironments({ limit: -1 })).rejects.toThrow(RangeError);

        // A put replaces the whole entry, resources included; removing drops them too.
        await store.putEnvironment(environment("shop-a", { description: "Shop A again", record: { resources: [{ id: "cache" }] } }));
        const replaced = await store.getEnvironment("shop-a");
        expect(replaced).toEqual(environment("shop-a", { description: "Shop A again", record: { resources: [{ id: "cache" }] } }));
        const count = async () => (await store.client.query<{ n: number }>("SELECT count(*)::int AS n FROM resources")).rows[0].n;
        expect(await count()).toBe(1);
        await store.removeEnvironment("shop-a");
        expect(await store.getEnvironment("shop-a")).toBeUndefined();
        expect(await count()).toBe(0);
    });

    it("sets a status with progress, and clears the progress with the next status", async () => {
        await store.putEnvironment(environment("shop-1", { record: { id: "rec" } }));
        await store.setStatus("shop-1", "deploying", at(30), { done: 2, total: 5 });
        expect(await store.getEnvironment("shop-1")).toMatchObject({ status: "deploying", progress: { done: 2, total: 5 }, updatedAt: "2026-03-01T10:00:30.000Z", record: { id: "rec" } });
        expect((await store.listEnvironments({ status: "deploying" })).map((e) => e.progress)).toEqual([{ done: 2, total: 5 }]);
        await store.setStatus("shop-1", "deployed-validating", at(40));
        const after = await store.getEnvironment("shop-1");
        expect(after).toMatchObject({ status: "deployed-validating", updatedAt: "2026-03-01T10:00:40.000Z" });
        expect(after).not.toHaveProperty("progress");
        // Only known environments: a status alone creates nothing.
        await store.setStatus("ghost", "deploying", at(50));
        expect(await store.getEnvironment("ghost")).toBeUndefined();
    });

    it("keeps a drift check across a record's rewrite, and lists it", async () => {
        await store.putEnvironment(environment("shop-1"));
        const drift = {
            checkedAt: "2026-03-01T10:05:00.000Z",
            state: "drifted" as const,
            resources: [{ urn: "urn:pulumi:shop-1::p::kubernetes:apps/v1:Deployment::api", type: "kubernetes:apps/v1:Deployment", name: "api", change: "changed" as const, paths: ["spec.replicas"] }],
            failedAt: "2026-03-01T10:05:00.000Z",
        };
        await store.setDrift("shop-1", drift);
        await store.putEnvironment(environment("shop-1", { description: "rewritten by a reconcile" }));
        expect((await store.getEnvironment("shop-1"))?.drift).toEqual(drift);
        expect((await store.listEnvironments({})).map((e) => e.drift?.state)).toEqual(["drifted"]);
    });

    it("keeps the outbox in order past nine entries, and announces only a command's first outcome", async () => {
        for (let i = 1; i <= 12; i++) {
            await store.enqueueNotification({ id: randomUUID(), type: "environment.progress", occurredAt: at(i).toISOString(), environment: "shop-1", progress: { done: i, total: 12 } }, undefined, at(i));
        }
        const pending = await store.pendingNotifications(100);
        expect(pending.map((e) => e.notification.progress?.done)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        for (const e of pending) {
            await store.removeNotification(e.seq);
        }
        const command = create("shop-1");
        await store.claimCommand(command, at(0));
        const completed = { id: randomUUID(), type: "command.completed" as const, occurredAt: at(60).toISOString(), commandId: command.commandId };
        await store.finishCommand(command.commandId, "succeeded", undefined, at(60), [{ notification: completed, traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" }]);
        await store.finishCommand(command.commandId, "failed", "late", at(61), [{ notification: { ...completed, id: randomUUID(), type: "command.failed" } }]);
        expect(await store.pendingNotifications(10)).toEqual([{ seq: "13", notification: completed, traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" }]);
    });

    it("searches names, description words, tag values, resource ids and partial words, best first, naming the matched fields", async () => {
        await store.replaceEnvironments(SEARCHABLE);
        const search = async (text: string, limit = 10) => (await store.search(text, limit)).map((r) => [r.environment.name, r.matches]);

        // The exact name, then a name hit, then a description hit.
        expect(await search("checkout")).toEqual([
            ["checkout", ["name", "description", "resource:checkout-api"]],
            ["checkout-perf", ["name"]],
            ["billing", ["description"]],
        ]);
        expect(await search("Checkout", 1)).toEqual([["checkout", ["name", "description", "resource:checkout-api"]]]);
        expect(await search("receipts")).toEqual([["billing", ["description"]]]);
        expect(await search("finance")).toEqual([["billing", ["tag:team"]]]);
        expect(await search("staging")).toEqual([["checkout-perf", ["tag:env"]]]);
        expect(await search("ledger-db")).toEqual([["billing", ["resource:ledger-db"]]]);
        expect(await search("orders")).toEqual([["checkout", ["resource:orders-db"]]]);
        // Words from different fields together.
        expect(await search("payments web")).toEqual([["checkout", ["description", "tag:team"]]]);
        // Prefixes through full-text search, inner parts of words through the ILIKE fallback.
        expect(await search("invo")).toEqual([["billing", ["description"]]]);
        expect(await search("lastic")).toEqual([["search-sandbox", ["description"]]]);
        expect(await search("andbo")).toEqual([["search-sandbox", ["name"]]]);
        expect((await search("kout")).map(([name]) => name)).toEqual(["billing", "checkout", "checkout-perf"]);
        // Full-text hits rank above substring-only ones.
        expect((await search("ali")).map(([name]) => name)).toEqual(["search-sandbox"]);
        expect(await search("nothing-like-this")).toEqual([]);
        // Query syntax is not syntax here.
        expect(await search("   ")).toEqual([]);
        expect(await search("!&|:*' ()")).toEqual([]);
        expect((await search("load & (tests)")).map(([name]) => name)).toEqual(["checkout-perf"]);
        expect(await search("100%_")).toEqual([]);
        const [hit] = await store.search("billing", 5);
        expect(hit.environment).toEqual({
            name: "billing",
            template: "ledger",
            status: "deployed-ok",
            description: "Invoices and checkout receipts",
            tags: { team: "finance" },
            updatedAt: "2026-03-01T10:00:00.000Z",
        });
    });

    it("replaces the whole read model in one transaction", async () => {
        await store.replaceEnvironments([environment("a", { record: { resources: [{ id: "a-db" }] } }), environment("b")]);
        await store.replaceEnvironments([environment("b", { description: "b, rebuilt" }), environment("c")]);
        expect((await store.listEnvironments({})).map((e) => [e.name, e.description])).toEqual([
            ["b", "b, rebuilt"],
            ["c", "the c environment"],
        ]);
        expect((await store.client.query<{ n: number }>("SELECT count(*)::int AS n FROM resources")).rows[0].n).toBe(0);

        // The last entry is invalid (an empty name): nothing of the rebuild lands, not even the removal of b and c.
        await expect(store.replaceEnvironments([environment("d"), environment("")])).rejects.toThrow();
        expect((await store.listEnvironments({})).map((e) => e.name)).toEqual(["b", "c"]);
        await store.replaceEnvironments([]);
        expect(await store.listEnvironments({})).toEqual([]);
    });

    it("appends audit entries and reads them newest first; the log cannot be rewritten", async () => {
        await store.audit({ at: at(0).toISOString(), actor: "alice", action: "environment.create", environment: "shop-1", commandId: "c1", outcome: "accepted" });
        await store.audit({ at: at(10).toISOString(), actor: "bob", action: "environment.destroy", environment: "shop-2", outcome: "rejected", detail: "not the owner" });
        await store.audit({ at: at(20).toISOString(), actor: "manager", action: "environment.create", environment: "shop-1", commandId: "c1", outcome: "succeeded" });

        expect(await store.auditLog({ limit: 10 })).toEqual([
            { at: "2026-03-01T10:00:20.000Z", actor: "manager", action: "environment.create", environment: "shop-1", commandId: "c1", outcome: "succeeded" },
            { at: "2026-03-01T10:00:10.000Z", actor: "bob", action: "environment.destroy", environment: "shop-2", outcome: "rejected", detail: "not the owner" },
            { at: "2026-03-01T10:00:00.000Z", actor: "alice", action: "environment.create", environment: "shop-1", commandId: "c1", outcome: "accepted" },
        ]);
        expect((await store.auditLog({ environment: "shop-1", limit: 10 })).map((e) => e.outcome)).toEqual(["succeeded", "accepted"]);
        expect((await store.auditLog({ limit: 1 })).map((e) => e.actor)).toEqual(["manager"]);
        await expect(store.client.query("UPDATE audit SET outcome = 'forged'")).rejects.toThrow("append-only");
        await expect(store.client.query("DELETE FROM audit")).rejects.toThrow("append-only");
        expect(await store.auditLog({ limit: 10 })).toHaveLength(3);
    });
});

describe("connecting to a Postgres server", () => {
    let server: PostgresServer;
    beforeAll(async () => {
        server = await startPostgres();
    });
    afterAll(async () => {
        await server?.stop();
    });

    it("names the server but never the password when it cannot log in", async () => {
        const wrong = server.url.replace(server.password, "not-the-password-42");
        const error = await connectPostgres(wrong).then(
            () => undefined,
            (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(Error);
        const message = (error as Error).message;
        expect(message).toContain(`cannot reach Postgres at postgres://platform-test:***@127.0.0.1:${server.port}/postgres`);
        expect(message).toContain("password authentication failed");
        expect(message).not.toContain("not-the-password-42");
        expect(message).not.toContain(server.password);
    });

    it("stops the server and removes its files", async () => {
        const other = await startPostgres();
        const store = await connectPostgres(other.url);
        await store.ping();
        await store.close();
        expect(fs.existsSync(path.join(other.dir, "data", "PG_VERSION"))).toBe(true);
        await other.stop();
        expect(fs.existsSync(other.dir)).toBe(false);
        await expect(connectPostgres(other.url, { connectTimeoutMs: 2_000 })).rejects.toThrow("cannot reach Postgres");
    });
});

describe("embedded PGlite on disk", () => {
    // Made in a hook, not at collection: a filtered run skips the hooks of a skipped suite.
    let dir: string;
    beforeAll(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "platform-pglite-"));
    });
    afterAll(() => {
        if (dir) {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("keeps what it wrote across a close and a reopen", async () => {
        const command = create("shop-1");
        const first = await openEmbeddedPostgres(path.join(dir, "data"));
        await first.migrate();
        await first.putEnvironment(environment("shop-1", { tags: { team: "payments" }, record: { resources: [{ id: "api" }] } }));
        expect((await first.claimCommand(command, at(0))).kind).toBe("new");
        await first.appendLog(command.commandId, ["hello"]);
        await first.close();

        const second = await openEmbeddedPostgres(path.join(dir, "data"));
        try {
            await second.migrate();
            expect(await second.getEnvironment("shop-1")).toEqual(environment("shop-1", { tags: { team: "payments" }, record: { resources: [{ id: "api" }] } }));
            expect((await second.claimCommand(command, at(1))).kind).toBe("duplicate");
            expect(await second.logTail(command.commandId, 5)).toEqual(["hello"]);
            expect((await second.search("api", 5)).map((r) => r.matches)).toEqual([["resource:api"]]);
        } finally {
            await second.close();
        }
    });
});
