/**
 * The commands consumer: takes commands off `platform.manager.commands`
 * (topology.ts), checks them (JSON, the zod schema, the command policy) and
 * hands them to the runner.
 *
 * Acknowledgement is manual and comes last: a valid command is acked once
 * its outcome is in the store, a refused one once it is recorded rejected,
 * copied to the dead-letter exchange (with the reason in `x-rejection-reason`)
 * and answered with `command.rejected`. A message is therefore never lost:
 * when the broker or the connection goes away mid-command, the command runs
 * on, the ack on the dead channel fails quietly, and the redelivery after the
 * reconnect (with backoff) waits for the same run or, once it finished, is a
 * duplicate acked without running again. A message that crashes the manager
 * each time is dead-lettered by the broker itself (the quorum queue's
 * x-delivery-limit).
 */
import { randomUUID } from "node:crypto";
import { ChannelModel, ConfirmChannel, connect, ConsumeMessage, MessageProperties, Options } from "amqplib";
import { ExponentialBackoff, handleWhen, retry } from "cockatiel";

import { checkCommand } from "../commands/policy";
import type { CommandRunner, SubmitOutcome } from "../commands/runner";
import { Command, COMMAND_TYPES, command as commandSchema, describeIssues } from "../commands/schema";
import type { Metrics } from "../metrics";
import type { Store } from "../store/store";
import { Logger, messageOf, redactUrl, silentLogger } from "./logger";
import { closeQuietly, isPermanentBrokerError, Notifier, validTraceparent } from "./notifier";
import { COMMANDS_QUEUE, DEAD_LETTER_EXCHANGE, declareTopology, REJECTION_REASON_HEADER } from "./topology";

export interface ConsumerOptions {
    /** AMQP URL; only its host is ever logged. */
    url: string;
    store: Store;
    runner: Pick<CommandRunner, "submit" | "stop">;
    notifier: Notifier;
    /** Unacked commands the broker hands over at once; above the runner's concurrency, so that waiting commands are known. Default: 10. */
    prefetch?: number;
    logger?: Logger;
    /** The commands queue's x-delivery-limit (topology.ts). */
    deliveryLimit?: number;
    /** Reconnect backoff. Defaults: 250 ms, doubling to 10 s. */
    initialDelayMs?: number;
    maxDelayMs?: number;
    /** Time a connect may take. Default: 10000. */
    connectTimeoutMs?: number;
    now?: () => Date;
    /** Rejected commands are counted here (the runner counts the rest). */
    metrics?: Pick<Metrics, "countCommand">;
}

export interface Consumer {
    /** Stops taking commands, stops the runner (running commands are abandoned, not acked) and closes the connection. */
    stop(): Promise<void>;
    /** Commands ready in the queue (not yet handed to any manager), for metrics; undefined while disconnected. */
    queueDepth(): Promise<number | undefined>;
    /** Messages handed to this manager and not acked yet. */
    readonly unacked: number;
    readonly connected: boolean;
    /** Connections made so far (1 + reconnects). */
    readonly connections: number;
    /** Drops the connection as a network failure would (tests). */
    dropConnection(): void;
}

/** The properties kept when a message is copied to the dead-letter exchange (user-id would have to match this connection's user). */
function copiedProperties(properties: MessageProperties, reason: string): Options.Publish {
    return {
        persistent: true,
        contentType: properties.contentType,
        contentEncoding: properties.contentEncoding,
        messageId: properties.messageId,
        correlationId: properties.correlationId,
        timestamp: properties.timestamp,
        type: properties.type,
        appId: properties.appId,
        headers: { ...(properties.headers ?? {}), [REJECTION_REASON_HEADER]: reason },
    };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A field of a refused body, when it is a short string (the store records it beside the reason). */
function field(body: unknown, key: string): string | undefined {
    if (body === null || typeof body !== "object" || Array.isArray(body)) {
        return undefined;
    }
    const value = (body as Record<string, unknown>)[key];
    return typeof value === "string" && value.length <= 256 ? value : undefined;
}

type Checked = { ok: true; command: Command } | { ok: false; reason: string; body: unknown };

export async function startConsumer(options: ConsumerOptions): Promise<Consumer> {
    const { url, store, runner, notifier } = options;
    const logger = options.logger ?? silentLogger;
    const prefetch = options.prefetch ?? 10;
    const now = options.now ?? (() => new Date());
    const stopSignal = new AbortController();

    let model: ChannelModel | undefined;
    let channel: ConfirmChannel | undefined;
    let consumerTag: string | undefined;
    let connections = 0;
    let reconnecting: Promise<void> | undefined;
    const handling = new Set<Promise<void>>();

    const reconnectPolicy = retry(
        handleWhen((error) => !isPermanentBrokerError(error)),
        {
            maxAttempts: Number.POSITIVE_INFINITY,
            backoff: new ExponentialBackoff({ initialDelay: options.initialDelayMs ?? 250, maxDelay: options.maxDelayMs ?? 10_000 }),
        },
    );
    reconnectPolicy.onRetry((event) => {
        const reason = "error" in event ? messageOf(event.error) : "";
        logger.warn({ attempt: event.attempt, delayMs: Math.round(event.delay), reason: redactUrl(reason, url) }, "consumer: cannot reach the broker, retrying");
    });

    /** Acks on the channel the message came on; a dead channel means the broker will redeliver, which is safe (a duplicate). */
    const ack = (on: ConfirmChannel, message: ConsumeMessage): void => {
        try {
            on.ack(message);
        } catch (error) {
            logger.warn({ messageId: message.properties.messageId, reason: messageOf(error) }, "consumer: ack failed; the redelivery will be taken as a duplicate");
        }
    };

    const nack = (on: ConfirmChannel, message: ConsumeMessage): void => {
        try {
            on.nack(message, false, true);
        } catch {
            // The channel is gone: the broker requeues the message anyway.
        }
    };

    const check = async (message: ConsumeMessage): Promise<Checked> => {
        let body: unknown;
        try {
            body = JSON.parse(message.content.toString("utf8"));
        } catch (error) {
            return { ok: false, reason: `the body is not JSON: ${messageOf(error)}`, body: message.content.toString("utf8").slice(0, 4096) };
        }
        const parsed = commandSchema.safeParse(body);
        if (!parsed.success) {
            return { ok: false, reason: `not a valid command: ${describeIssues(parsed.error)}`, body };
        }
        const known = await store.getEnvironment(parsed.data.environment);
        const verdict = checkCommand(parsed.data, now(), { environmentTemplate: known?.template });
        return verdict.ok ? { ok: true, command: parsed.data } : { ok: false, reason: `refused: ${verdict.reason}`, body };
    };

    const refuse = async (on: ConfirmChannel, message: ConsumeMessage, reason: string, body: unknown, traceparent: string | undefined): Promise<void> => {
        const bodyId = field(body, "commandId");
        const messageId = typeof message.properties.messageId === "string" ? message.properties.messageId : undefined;
        // The store keys commands by id: a body without a usable one is recorded under the message id, else a new one.
        const commandId = bodyId && UUID.test(bodyId) ? bodyId : messageId && messageId.length <= 256 ? messageId : randomUUID();
        const environment = field(body, "environment");
        await store.rejectCommand({ commandId, type: field(body, "type"), environment, requestedBy: field(body, "requestedBy"), body }, reason, now());
        await new Promise<void>((resolve, reject) =>
            on.publish(DEAD_LETTER_EXCHANGE, "", message.content, copiedProperties(message.properties, reason), (error: unknown) =>
                error ? reject(new Error(`the broker did not confirm the dead letter: ${messageOf(error)}`)) : resolve(),
            ),
        );
        try {
            await notifier.notify({ type: "command.rejected", commandId, ...(environment ? { environment } : {}), reason }, { traceparent });
        } catch (error) {
            logger.error({ commandId, reason: messageOf(error) }, "consumer: could not send command.rejected");
        }
        // Only known types as the label: a sender's arbitrary strings must not grow the metric's series.
        const type = field(body, "type");
        options.metrics?.countCommand(type !== undefined && (COMMAND_TYPES as readonly string[]).includes(type) ? type : "invalid", "rejected");
        logger.info({ commandId, environment, reason }, "consumer: command rejected");
    };

    const handle = async (on: ConfirmChannel, message: ConsumeMessage): Promise<void> => {
        const traceparent = validTraceparent(message.properties.headers?.traceparent);
        try {
            const checked = await check(message);
            if (!checked.ok) {
                await refuse(on, message, checked.reason, checked.body, traceparent);
                ack(on, message);
                return;
            }
            const outcome: SubmitOutcome = await runner.submit(checked.command, { traceparent });
            if (outcome.kind === "abandoned") {
                // Stopping: left unacked, the broker hands it to the next manager. Otherwise (the store failed): again, later.
                if (!stopSignal.signal.aborted) {
                    nack(on, message);
                }
                return;
            }
            ack(on, message);
        } catch (error) {
            // The store or the broker failed before the outcome was recorded: the message comes back (and counts towards the delivery limit).
            logger.error({ messageId: message.properties.messageId, reason: redactUrl(messageOf(error), url) }, "consumer: could not handle a command; it will be redelivered");
            if (!stopSignal.signal.aborted) {
                await new Promise((resolve) => setTimeout(resolve, 1_000));
                nack(on, message);
            }
        }
    };

    const connectOnce = async (): Promise<void> => {
        const opened = await connect(url, { timeout: options.connectTimeoutMs ?? 10_000, clientProperties: { connection_name: "environment manager consumer" } });
        opened.on("error", (error: Error) => logger.warn({ reason: redactUrl(messageOf(error), url) }, "consumer: connection error"));
        opened.on("close", () => lost(opened));
        try {
            const ch = await opened.createConfirmChannel();
            ch.on("error", (error: Error) => logger.warn({ reason: messageOf(error) }, "consumer: channel error"));
            ch.on("close", () => lost(opened));
            await declareTopology(ch, { deliveryLimit: options.deliveryLimit });
            await ch.prefetch(prefetch);
            model = opened;
            channel = ch;
            connections++;
            const consumed = await ch.consume(
                COMMANDS_QUEUE,
                (message) => {
                    if (message === null) {
                        // Cancelled by the broker (the queue was deleted): start over.
                        lost(opened);
                        return;
                    }
                    const work = handle(ch, message);
                    handling.add(work);
                    void work.finally(() => handling.delete(work));
                },
                { noAck: false },
            );
            consumerTag = consumed.consumerTag;
            logger.info({ prefetch }, "consumer: consuming commands");
        } catch (error) {
            await closeQuietly(opened);
            throw error;
        }
    };

    const reconnect = (): Promise<void> => {
        if (!reconnecting) {
            reconnecting = reconnectPolicy
                .execute(async () => {
                    if (stopSignal.signal.aborted) {
                        return;
                    }
                    await connectOnce();
                }, stopSignal.signal)
                .finally(() => (reconnecting = undefined));
        }
        return reconnecting;
    };

    function lost(from: ChannelModel): void {
        if (model !== from) {
            return;
        }
        model = undefined;
        channel = undefined;
        consumerTag = undefined;
        void closeQuietly(from);
        if (stopSignal.signal.aborted) {
            return;
        }
        logger.warn({}, "consumer: lost the broker; reconnecting");
        reconnect().catch((error: unknown) => {
            if (!stopSignal.signal.aborted) {
                logger.error({ reason: redactUrl(messageOf(error), url) }, "consumer: gave up reconnecting");
            }
        });
    }

    await reconnect();

    return {
        async stop(): Promise<void> {
            stopSignal.abort();
            const ch = channel;
            if (ch && consumerTag) {
                await ch.cancel(consumerTag).catch(() => undefined);
            }
            await runner.stop();
            await Promise.allSettled([...handling]);
            const current = model;
            model = undefined;
            channel = undefined;
            if (current) {
                await closeQuietly(current);
            }
        },
        async queueDepth(): Promise<number | undefined> {
            const current = model;
            if (!current) {
                return undefined;
            }
            // Its own channel: a failed check closes the channel it runs on. Unknown while the connection is failing.
            try {
                const ch = await current.createChannel();
                ch.on("error", () => undefined);
                try {
                    return (await ch.checkQueue(COMMANDS_QUEUE)).messageCount;
                } finally {
                    await ch.close().catch(() => undefined);
                }
            } catch {
                return undefined;
            }
        },
        get unacked(): number {
            return handling.size;
        },
        get connected(): boolean {
            return model !== undefined;
        },
        get connections(): number {
            return connections;
        },
        dropConnection(): void {
            const current = model;
            if (current) {
                // Fails the socket without the AMQP close handshake, as a network failure would (amqplib reacts to the socket's "error").
                const stream = (current.connection as unknown as { stream?: { destroy(error?: Error): void } }).stream;
                stream?.destroy(new Error("connection dropped on purpose (a test)"));
            }
        },
    };
}
