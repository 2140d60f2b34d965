/**
 * The notification outbox on the embedded Postgres (the real store, in
 * process), with the runner and the stand-in executor: order, a publisher that
 * fails, and a manager that stops before publishing.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { CREATE_NOTIFICATION_STEPS, newCreateCommand } from "../../test/helpers/commands";
import { CommandRunner } from "../commands/runner";
import type { Notification } from "../commands/schema";
import { StandInExecutor } from "../executor/stand-in";
import { openEmbeddedPostgres, type SqlStore } from "../store/sql-store";
import { silentLogger } from "./logger";
import { buildNotification, type NotificationInput, type Notifier, type TraceContext } from "./notifier";
import { OutboxNotifier } from "./outbox";

const TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/** Stands for the broker: keeps what was published; `down` makes every publish fail. */
class Broker implements Notifier {
    readonly published: (Notification & { traceparent?: string })[] = [];
    down = false;
    async notify(input: NotificationInput, trace: TraceContext = {}): Promise<Notification> {
        if (this.down) {
            throw new Error("broker unreachable");
        }
        const n = buildNotification(input);
        this.published.push({ ...n, ...(trace.traceparent ? { traceparent: trace.traceparent } : {}) });
        return n;
    }
    async close(): Promise<void> {}
    steps(commandId: string): string[] {
        return this.published.filter((n) => n.commandId === commandId).map((n) => (n.type === "environment.status" ? `status:${n.status}` : n.type));
    }
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
        if (Date.now() > deadline) {
            throw new Error(`timed out waiting for ${what}`);
        }
        await new Promise((r) => setTimeout(r, 10));
    }
}

let store: SqlStore;
beforeAll(async () => {
    store = await openEmbeddedPostgres();
    await store.migrate();
});
afterAll(() => store.close());
beforeEach(async () => {
    for (const e of await store.pendingNotifications(1000)) {
        await store.removeNotification(e.seq);
    }
});

describe("the notification outbox", () => {
    it("publishes a command's notifications in order, with its trace, and empties the outbox", async () => {
        const broker = new Broker();
        const outbox = new OutboxNotifier({ store, publisher: broker, logger: silentLogger });
        const runner = new CommandRunner({ store, notifier: outbox, executor: new StandInExecutor({ durationMs: 10, steps: 2 }) });
        const c = newCreateCommand("review-outbox-1");
        expect(await runner.submit(c, { traceparent: TRACE })).toEqual({ kind: "finished", state: "succeeded" });
        await until("the outbox to drain", async () => (await store.pendingNotifications(10)).length === 0 && broker.steps(c.commandId).includes("command.completed"));
        expect(broker.steps(c.commandId)).toEqual(CREATE_NOTIFICATION_STEPS);
        expect(broker.published.every((n) => n.traceparent === TRACE)).toBe(true);
        expect(broker.published.at(-1)?.record).toMatchObject({ name: "review-outbox-1" });
        await outbox.close();
    });

    it("keeps every notification while the broker is down, and publishes them in order once it is back", async () => {
        const broker = new Broker();
        broker.down = true;
        const outbox = new OutboxNotifier({ store, publisher: broker, logger: silentLogger, retryDelayMs: 20 });
        const runner = new CommandRunner({ store, notifier: outbox, executor: new StandInExecutor({ durationMs: 10, steps: 2 }) });
        const c = newCreateCommand("review-outbox-2");
        // The outcome does not wait for the broker: the notifications are durable in the store.
        expect(await runner.submit(c)).toEqual({ kind: "finished", state: "succeeded" });
        expect((await store.pendingNotifications(100)).map((e) => e.notification.type)).toEqual([
            "command.accepted",
            "environment.status",
            "environment.progress",
            "environment.progress",
            "environment.status",
            "environment.status",
            "command.completed",
        ]);
        broker.down = false;
        await until("the retry to publish them", () => broker.steps(c.commandId).length === 7);
        expect(broker.steps(c.commandId).at(-1)).toBe("command.completed");
        await until("the outbox to be empty", async () => (await store.pendingNotifications(10)).length === 0);
        await outbox.close();
    });

    it("leaves what a stopped manager did not publish for the next one, with the same ids", async () => {
        const before = new Broker();
        before.down = true;
        const first = new OutboxNotifier({ store, publisher: before, logger: silentLogger, retryDelayMs: 60_000 });
        const runner = new CommandRunner({ store, notifier: first, executor: new StandInExecutor({ durationMs: 10, steps: 1 }) });
        const c = newCreateCommand("review-outbox-3");
        await runner.submit(c);
        await first.close();
        const left = await store.pendingNotifications(100);
        expect(left.at(-1)?.notification).toMatchObject({ type: "command.completed", commandId: c.commandId });

        const after = new Broker();
        const next = new OutboxNotifier({ store, publisher: after, logger: silentLogger });
        next.kick();
        await until("the next manager to publish them", async () => (await store.pendingNotifications(10)).length === 0);
        expect(after.published.map((n) => n.id)).toEqual(left.map((e) => e.notification.id));
        await next.close();
    });

    it("publishes nothing while paused (a replica standing by), everything once resumed", async () => {
        const broker = new Broker();
        const outbox = new OutboxNotifier({ store, publisher: broker, logger: silentLogger }, { paused: true });
        await outbox.notify({ type: "environment.status", environment: "review-outbox-5", status: "deploying" });
        await outbox.flushed();
        expect(broker.published).toEqual([]);
        expect(await store.pendingNotifications(10)).toHaveLength(1);
        outbox.resume();
        await until("the resumed outbox to publish", () => broker.published.length === 1);
        await outbox.pause();
        await outbox.notify({ type: "environment.status", environment: "review-outbox-5", status: "deployed-ok" });
        await outbox.flushed();
        expect(broker.published).toHaveLength(1);
        await outbox.close();
    });

    it("drops a row that can never be published instead of holding back the ones after it", async () => {
        // A row a newer manager wrote with a type this one does not know.
        await store.enqueueNotification({ ...buildNotification({ type: "environment.status", environment: "review-outbox-6" }), type: "environment.renamed" } as unknown as Notification, undefined, new Date());
        const broker = new Broker();
        const outbox = new OutboxNotifier({ store, publisher: broker, logger: silentLogger });
        await outbox.notify({ type: "environment.status", environment: "review-outbox-6", status: "deployed-ok" });
        await until("the outbox to drain", async () => (await store.pendingNotifications(10)).length === 0);
        expect(broker.published.map((n) => n.status)).toEqual(["deployed-ok"]);
        await outbox.close();
    });

    it("announces a command's outcome only once, in the outcome's own transaction", async () => {
        const c = newCreateCommand("review-outbox-4");
        await store.claimCommand(c, new Date());
        const completed = buildNotification({ type: "command.completed", commandId: c.commandId, environment: c.environment });
        await store.finishCommand(c.commandId, "succeeded", undefined, new Date(), [{ notification: completed, traceparent: TRACE }]);
        // A second outcome (a retried write, a redelivery) changes nothing and announces nothing.
        await store.finishCommand(c.commandId, "failed", "late", new Date(), [{ notification: buildNotification({ type: "command.failed", commandId: c.commandId }) }]);
        const pending = await store.pendingNotifications(10);
        expect(pending.map((e) => [e.notification.id, e.traceparent])).toEqual([[completed.id, TRACE]]);
        expect((await store.getCommand(c.commandId))?.state).toBe("succeeded");
    });
});
