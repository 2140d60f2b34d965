/**
 * The commands bus against a real RabbitMQ broker (test/helpers/rabbitmq.ts)
 * and the real store (embedded Postgres, manager/src/store/sql-store.ts),
 * with the stand-in executor (nothing is deployed): notifications in order,
 * one run per command id, refusals dead-lettered with their reason, one
 * command per environment, the concurrency bound, and a broker restart in
 * the middle of a command.
 */
import { randomUUID } from "node:crypto";
import { ChannelModel, ConfirmChannel, connect, ConsumeMessage } from "amqplib";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { RabbitBroker, startRabbitMQ } from "../../test/helpers/rabbitmq";
import { startConsumer, Consumer } from "../src/bus/consumer";
import { AmqpNotifier } from "../src/bus/notifier";
import { silentLogger } from "../src/bus/logger";
import { OutboxNotifier } from "../src/bus/outbox";
import { COMMANDS_EXCHANGE, COMMANDS_QUEUE, COMMANDS_ROUTING_KEY, DEFAULT_DELIVERY_LIMIT, DEAD_LETTER_QUEUE, declareTopology, NOTIFICATIONS_EXCHANGE, REJECTION_REASON_HEADER } from "../src/bus/topology";
import { CommandRunner } from "../src/commands/runner";
import type { Command, Notification } from "../src/commands/schema";
import { StandInExecutor, StandInOptions } from "../src/executor/stand-in";
import { openEmbeddedPostgres } from "../src/store/sql-store";
import type { Store } from "../src/store/store";
import { newCreateCommand as create } from "./helpers/commands";

const TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

interface Received {
    notification: Notification;
    headers: Record<string, unknown>;
    messageId?: string;
    routingKey: string;
}

/**
 * Keeps every message of a durable queue (bound to the notifications, or the
 * dead-letter queue) and can reconnect after a broker restart.
 */
class Collector<T> {
    readonly messages: T[] = [];
    private model?: ChannelModel;
    constructor(
        private readonly url: string,
        private readonly queue: string,
        private readonly parse: (message: ConsumeMessage) => T,
        private readonly bind?: { exchange: string; pattern: string },
    ) {}
    async start(): Promise<void> {
        this.model = await connect(this.url);
        this.model.on("error", () => undefined);
        const channel = await this.model.createChannel();
        channel.on("error", () => undefined);
        await declareTopology(channel);
        if (this.bind) {
            await channel.assertQueue(this.queue, { durable: true, arguments: { "x-queue-type": "quorum" } });
            await channel.bindQueue(this.queue, this.bind.exchange, this.bind.pattern);
        }
        await channel.consume(this.queue, (message) => {
            if (message) {
                this.messages.push(this.parse(message));
                channel.ack(message);
            }
        });
    }
    async close(): Promise<void> {
        await this.model?.close().catch(() => undefined);
    }
}

let broker: RabbitBroker;
let store: Store;
let admin: ChannelModel;
let publisher: ConfirmChannel;
let notifications: Collector<Received>;
let deadLetters: Collector<{ body: string; reason: unknown; messageId?: string }>;
const running: { consumer?: Consumer; notifier?: OutboxNotifier }[] = [];

beforeAll(async () => {
    broker = await startRabbitMQ();
    store = await openEmbeddedPostgres();
    await store.migrate();
    await openPublisher();
    await declareTopology(publisher);
    notifications = new Collector(
        broker.url,
        `test-notifications-${randomUUID()}`,
        (m) => ({ notification: JSON.parse(m.content.toString()) as Notification, headers: m.properties.headers ?? {}, messageId: m.properties.messageId, routingKey: m.fields.routingKey }),
        { exchange: NOTIFICATIONS_EXCHANGE, pattern: "#" },
    );
    await notifications.start();
    deadLetters = new Collector(broker.url, DEAD_LETTER_QUEUE, (m) => ({ body: m.content.toString(), reason: m.properties.headers?.[REJECTION_REASON_HEADER], messageId: m.properties.messageId }));
    await deadLetters.start();
});

afterEach(async () => {
    for (const r of running.splice(0)) {
        await r.consumer?.stop();
        await r.notifier?.close();
    }
});

afterAll(async () => {
    await notifications?.close();
    await deadLetters?.close();
    await admin?.close().catch(() => undefined);
    await store?.close();
    await broker?.stop();
});

/** The test's own publisher; a broker restart closes it (and amqplib throws "error" events nobody listens to). */
async function openPublisher(): Promise<void> {
    admin = await connect(broker.url);
    admin.on("error", () => undefined);
    publisher = await admin.createConfirmChannel();
    publisher.on("error", () => undefined);
}

async function startManager(executorOptions: StandInOptions, concurrency = 2) {
    const executor = new StandInExecutor({ steps: 3, ...executorOptions });
    // As the service wires it: through the store's outbox, the AMQP notifier publishing (a few attempts, then the outbox retries).
    const notifier = new OutboxNotifier({
        store,
        publisher: new AmqpNotifier({ url: broker.url, initialDelayMs: 100, maxDelayMs: 1_000, attempts: 5 }),
        logger: silentLogger,
        retryDelayMs: 500,
    });
    const runner = new CommandRunner({ store, executor, notifier, concurrency });
    const consumer = await startConsumer({ url: broker.url, store, runner, notifier, prefetch: 10, initialDelayMs: 100, maxDelayMs: 1_000 });
    running.push({ consumer, notifier });
    return { executor, notifier, runner, consumer };
}

async function publish(body: unknown, messageId?: string): Promise<void> {
    const content = Buffer.from(typeof body === "string" ? body : JSON.stringify(body));
    await new Promise<void>((resolve, reject) =>
        publisher.publish(COMMANDS_EXCHANGE, COMMANDS_ROUTING_KEY, content, { persistent: true, contentType: "application/json", messageId, headers: { traceparent: TRACE } }, (error: unknown) =>
            error ? reject(error) : resolve(),
        ),
    );
}

async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = await probe();
        if (value) {
            return value;
        }
        if (Date.now() > deadline) {
            throw new Error(`timed out waiting for ${what}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
}

function about(commandId: string): Received[] {
    return notifications.messages.filter((m) => m.notification.commandId === commandId);
}

function steps(commandId: string): string[] {
    return about(commandId).map(({ notification: n }) => (n.type === "environment.status" ? `status:${n.status}` : n.type === "environment.progress" ? "progress" : n.type));
}

const finished = (commandId: string) => () => about(commandId).some((m) => m.notification.type === "command.completed" || m.notification.type === "command.failed");

/** Every message is acked: none ready, none held by the consumer. */
async function drained(consumer: Consumer): Promise<boolean> {
    return consumer.unacked === 0 && (await consumer.queueDepth()) === 0;
}

describe("the commands bus", () => {
    it("runs a create command to its end, with notifications in order, routed, persistent and traced", async () => {
        const { consumer } = await startManager({ durationMs: 300 });
        const c = create("review-order");
        await publish(c, c.commandId);
        await waitFor("command.completed", finished(c.commandId));
        expect(steps(c.commandId)).toEqual(["command.accepted", "status:deploying", "progress", "progress", "progress", "status:deployed-validating", "status:deployed-ok", "command.completed"]);
        for (const m of about(c.commandId)) {
            expect(m.headers.traceparent).toBe(TRACE);
            expect(m.messageId).toBe(m.notification.id);
            expect(m.routingKey).toBe(`${m.notification.type}.review-order`);
        }
        expect(await store.getCommand(c.commandId)).toMatchObject({ state: "succeeded" });
        expect(await store.getEnvironment("review-order")).toMatchObject({ status: "deployed-ok", template: "review" });
        expect(await store.auditLog({ environment: "review-order", limit: 10 })).toEqual([expect.objectContaining({ actor: "alice@example.com", action: "environment.create", outcome: "succeeded" })]);
        await waitFor("the ack", () => drained(consumer));
    });

    it("runs a command published twice once, and acks both", async () => {
        const { executor, consumer } = await startManager({ durationMs: 400 });
        const c = create("review-twice");
        await publish(c, c.commandId);
        await publish(c, c.commandId);
        await waitFor("command.completed", finished(c.commandId));
        await waitFor("both acks", () => drained(consumer));
        // A third copy after the end: a duplicate, acked without running.
        await publish(c, c.commandId);
        await waitFor("the duplicate's ack", async () => (await consumer.queueDepth()) === 0 && consumer.unacked === 0);
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(executor.runsOf(c.commandId)).toBe(1);
        expect(steps(c.commandId).filter((s) => s === "command.completed")).toHaveLength(1);
    });

    it("dead-letters a malformed message and a prod command with the reason, and answers command.rejected", async () => {
        const { consumer, executor } = await startManager({ durationMs: 50 });
        const malformedId = randomUUID();
        await publish("{ not json", malformedId);
        const prod = { ...create("prod"), template: "prod" };
        await publish(prod, prod.commandId);
        const bad = { ...create("review-bad"), owner: "not-an-email" };
        await publish(bad, bad.commandId);

        const letters = await waitFor("three dead letters", () => {
            const mine = deadLetters.messages.filter((d) => [malformedId, prod.commandId, bad.commandId].includes(d.messageId ?? ""));
            return mine.length === 3 && mine;
        });
        expect(letters.find((d) => d.messageId === malformedId)).toMatchObject({ body: "{ not json", reason: expect.stringMatching(/^the body is not JSON/) });
        expect(letters.find((d) => d.messageId === prod.commandId)?.reason).toMatch(/^refused: prod environments .* merge request/);
        expect(letters.find((d) => d.messageId === bad.commandId)?.reason).toMatch(/^not a valid command: owner: /);
        for (const id of [malformedId, prod.commandId, bad.commandId]) {
            const rejected = await waitFor(`command.rejected for ${id}`, () => about(id).find((m) => m.notification.type === "command.rejected"));
            expect(rejected.notification.reason).toBeTruthy();
            expect(await store.getCommand(id)).toMatchObject({ state: "rejected" });
        }
        expect(about(prod.commandId)[0].routingKey).toBe("command.rejected.prod");
        expect(executor.executions).toHaveLength(0);
        await waitFor("the acks", () => drained(consumer));
    });

    it("runs two commands for one environment one after the other, in order", async () => {
        const { executor } = await startManager({ durationMs: 400 }, 4);
        const first = create("review-serial");
        const second: Command = { commandId: randomUUID(), type: "environment.update", environment: "review-serial", requestedBy: "bob", description: "second" };
        await publish(first, first.commandId);
        await publish(second, second.commandId);
        await waitFor("both ends", () => finished(first.commandId)() && finished(second.commandId)());
        const [a, b] = executor.executions.filter((e) => e.environment === "review-serial");
        expect([a.commandId, b.commandId]).toEqual([first.commandId, second.commandId]);
        expect(b.startedAt).toBeGreaterThanOrEqual(a.finishedAt ?? Infinity);
        expect(await store.getCommand(second.commandId)).toMatchObject({ state: "succeeded" });
    });

    it("holds the concurrency bound", async () => {
        const { executor, consumer } = await startManager({ durationMs: 500 }, 2);
        const commands = Array.from({ length: 6 }, (_, i) => create(`review-bound-${i}`));
        for (const c of commands) {
            await publish(c, c.commandId);
        }
        await waitFor("six ends", () => commands.every((c) => finished(c.commandId)()), 60_000);
        expect(executor.maxConcurrent).toBe(2);
        const figures = executor.executions.map((e) => (e.finishedAt ?? 0) - e.startedAt);
        expect(Math.min(...figures)).toBeGreaterThanOrEqual(490);
        await waitFor("the acks", () => drained(consumer));
    });

    it("loses nothing when the broker restarts in the middle of a command", async () => {
        const { executor, consumer } = await startManager({ durationMs: 6_000, steps: 6 });
        const c = create("review-restart");
        await publish(c, c.commandId);
        await waitFor("deploying", () => steps(c.commandId).includes("status:deploying"));

        const down = Date.now();
        await broker.pause();
        expect(consumer.connected).toBe(false);
        await broker.resume();
        const downtimeMs = Date.now() - down;
        await notifications.start();
        await deadLetters.start();
        await openPublisher();

        await waitFor("command.completed after the restart", finished(c.commandId), 60_000);
        await waitFor("the redelivery's ack", () => drained(consumer), 30_000);
        expect(consumer.connections).toBeGreaterThanOrEqual(2);
        expect(executor.runsOf(c.commandId)).toBe(1);
        expect(await store.getCommand(c.commandId)).toMatchObject({ state: "succeeded" });
        // Notifications made while the broker was down waited in the outbox: the whole sequence arrived, in order, progress included.
        await waitFor("the outbox to drain", async () => (await store.pendingNotifications(1)).length === 0);
        expect(steps(c.commandId)).toEqual([
            "command.accepted",
            "status:deploying",
            ...Array<string>(6).fill("progress"),
            "status:deployed-validating",
            "status:deployed-ok",
            "command.completed",
        ]);
        console.log(`broker down for ${downtimeMs} ms; all 6 progress notifications arrived`);

        // And the manager goes on taking commands.
        const after = create("review-after-restart");
        await publish(after, after.commandId);
        await waitFor("the next command", finished(after.commandId));
    });

    it("survives its connection being cut (no broker restart): the redelivery is acked, not re-run", async () => {
        const { executor, consumer } = await startManager({ durationMs: 1_500 });
        const c = create("review-cut");
        await publish(c, c.commandId);
        await waitFor("deploying", () => steps(c.commandId).includes("status:deploying"));
        consumer.dropConnection();
        await waitFor("command.completed", finished(c.commandId));
        await waitFor("the redelivery's ack", () => drained(consumer));
        expect(consumer.connections).toBeGreaterThanOrEqual(2);
        expect(executor.runsOf(c.commandId)).toBe(1);
    });
    it("lets the broker dead-letter a command that keeps coming back (the delivery limit)", async () => {
        // No manager: a raw consumer returns the message as a crashing manager would, until the broker gives up on it.
        const c = create("review-poison");
        await publish(c, c.commandId);
        const channel = await admin.createChannel();
        let deliveries = 0;
        await waitFor("the dead letter", async () => {
            const message = await channel.get(COMMANDS_QUEUE, { noAck: false });
            if (message) {
                deliveries++;
                channel.nack(message, false, true);
            }
            return deadLetters.messages.some((d) => d.messageId === c.commandId);
        });
        await channel.close();
        expect(deliveries).toBe(DEFAULT_DELIVERY_LIMIT + 1);
        expect(deadLetters.messages.find((d) => d.messageId === c.commandId)?.reason).toBeUndefined();
    });
});
