/**
 * The read model against the embedded Postgres (the real store, in process):
 * the rebuild, the reconcile with the backend, and a secondary applying the
 * primary's notifications.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import type { Notification } from "./commands/schema";
import type { Executor } from "./executor/executor";
import { applyNotification, rebuildReadModel, reconcileReadModel } from "./read-model";
import { openEmbeddedPostgres, SqlStore } from "./store/sql-store";
import type { EnvironmentRecordDocument } from "./store/store";

let store: SqlStore;
const at = (s: number) => new Date(Date.UTC(2026, 11, 7, 10, 0, s)).toISOString();

function record(name: string, status = "deployed-ok"): EnvironmentRecordDocument {
    return {
        id: `id-${name}`,
        name,
        description: `the ${name} environment`,
        tags: { owner: "dev@example.com" },
        createdAt: at(0),
        plannedDestructionAt: "2026-12-20",
        status,
        templates: [{ name: "review" }],
        resources: [{ id: "rabbitmq", status: "rendered", dependsOn: [] }],
    };
}

function backend(entries: { name: string; record?: EnvironmentRecordDocument }[]): Executor {
    return {
        execute: () => Promise.reject(new Error("not in this test")),
        readAll: () => Promise.resolve(entries.map((e) => ({ ...e, template: "review" }))),
        recover: () => Promise.resolve(),
        checkDrift: () => Promise.reject(new Error("not in this test")),
    };
}

function note(type: Notification["type"], environment: string, s: number, extra: Partial<Notification> = {}): Notification {
    return { id: crypto.randomUUID(), type, environment, occurredAt: at(s), ...extra };
}

beforeAll(async () => {
    store = await openEmbeddedPostgres();
    await store.migrate();
});
afterAll(async () => store?.close());
beforeEach(async () => store.replaceEnvironments([]));

describe("the read model", () => {
    it("is rebuilt from the backend: one entry per stack, from its record", async () => {
        expect(await rebuildReadModel(store, backend([{ name: "review-a", record: record("review-a") }, { name: "review-b", record: record("review-b", "deployed-fail") }]))).toBe(2);
        expect((await store.listEnvironments({})).map((e) => [e.name, e.status, e.template])).toEqual([
            ["review-a", "deployed-ok", "review"],
            ["review-b", "deployed-fail", "review"],
        ]);
        expect((await store.getEnvironment("review-a"))?.record?.resources?.[0].id).toBe("rabbitmq");
    });

    it("is reconciled: a changed record is taken, a stack gone from the backend shows as destroyed, a busy environment is left alone", async () => {
        await rebuildReadModel(store, backend([{ name: "review-a", record: record("review-a") }, { name: "review-b", record: record("review-b") }, { name: "review-c", record: record("review-c") }]));
        await store.claimCommand(
            { commandId: crypto.randomUUID(), type: "environment.destroy", environment: "review-c", requestedBy: "dev@example.com" },
            new Date(at(1)),
        );
        const changed = await reconcileReadModel(store, backend([{ name: "review-a", record: { ...record("review-a"), description: "changed by a pipeline" } }]));
        expect(changed.sort()).toEqual(["review-a", "review-b"]);
        expect((await store.getEnvironment("review-a"))?.description).toBe("changed by a pipeline");
        expect((await store.getEnvironment("review-b"))?.status).toBe("destroyed");
        expect((await store.getEnvironment("review-c"))?.status).toBe("deployed-ok");
        // Nothing changed since: nothing is written again.
        expect(await reconcileReadModel(store, backend([{ name: "review-a", record: { ...record("review-a"), description: "changed by a pipeline" } }]))).toEqual([]);
    });

    it("keeps the manager's status when the backend's record is the same (a failed update leaves the last good outputs)", async () => {
        await rebuildReadModel(store, backend([{ name: "review-a", record: record("review-a") }]));
        await store.setStatus("review-a", "deployed-fail", new Date(at(2)));
        expect(await reconcileReadModel(store, backend([{ name: "review-a", record: record("review-a") }]))).toEqual([]);
        expect((await store.getEnvironment("review-a"))?.status).toBe("deployed-fail");
        // A new record (deployed by a pipeline) wins.
        expect(await reconcileReadModel(store, backend([{ name: "review-a", record: { ...record("review-a"), description: "redeployed" } }]))).toEqual(["review-a"]);
        expect((await store.getEnvironment("review-a"))?.status).toBe("deployed-ok");
    });

    it("at a restart, reconciles a store that has entries instead of replacing it: failures and destroyed ones stay", async () => {
        await rebuildReadModel(store, backend([{ name: "review-a", record: record("review-a") }, { name: "review-b", record: record("review-b") }]));
        await store.setStatus("review-a", "deployed-fail", new Date(at(2)));
        await store.setStatus("review-b", "destroyed", new Date(at(3)));
        expect(await rebuildReadModel(store, backend([{ name: "review-a", record: record("review-a") }]))).toBe(1);
        expect((await store.listEnvironments({})).map((e) => [e.name, e.status])).toEqual([
            ["review-a", "deployed-fail"],
            ["review-b", "destroyed"],
        ]);
    });

    it("follows a primary's notifications in order: a create, its record, then its destroy", async () => {
        const commandId = crypto.randomUUID();
        await applyNotification(store, note("environment.status", "review-x", 1, { commandId, status: "deploying" }));
        expect((await store.getEnvironment("review-x"))?.status).toBe("deploying");
        await applyNotification(store, note("environment.progress", "review-x", 2, { commandId, status: "deploying", progress: { done: 3, total: 10 } }));
        expect((await store.getEnvironment("review-x"))?.progress).toEqual({ done: 3, total: 10 });
        await applyNotification(store, note("environment.status", "review-x", 3, { commandId, status: "deployed-ok" }));
        await applyNotification(store, note("command.completed", "review-x", 4, { commandId, record: record("review-x") }));
        const deployed = await store.getEnvironment("review-x");
        expect([deployed?.status, deployed?.description, deployed?.record?.resources?.length]).toEqual(["deployed-ok", "the review-x environment", 1]);
        await applyNotification(store, note("environment.status", "review-x", 5, { status: "destroying" }));
        await applyNotification(store, note("environment.status", "review-x", 6, { status: "destroyed" }));
        expect((await store.getEnvironment("review-x"))?.status).toBe("destroyed");
    });
});
