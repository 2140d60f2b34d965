/**
 * Sends the manager's notifications (commands/schema.ts `notification`) to
 * the notifications topic exchange, routed by `<type>.<environment>`.
 *
 * One long-lived connection and confirm channel, opened on first use and
 * again after the broker goes away. A notification is published persistent,
 * with its id as the AMQP message id and the command's `traceparent`, and
 * `notify` resolves only once the broker has confirmed it. Broker calls run
 * through cockatiel: a timeout per attempt, a circuit breaker (while the
 * broker is down, waiting callers do not all reconnect at once) and retries
 * with exponential backoff, long enough to ride out a broker restart.
 */
import { randomUUID } from "node:crypto";
import { ChannelModel, ConfirmChannel, connect } from "amqplib";
import { circuitBreaker, ConsecutiveBreaker, ExponentialBackoff, handleAll, handleWhen, IPolicy, retry, timeout, TimeoutStrategy, wrap } from "cockatiel";

import { Notification, notification } from "../commands/schema";
import { validTraceparent } from "../trace";
import { Logger, messageOf, redactUrl, silentLogger } from "./logger";
import { NOTIFICATIONS_EXCHANGE } from "./topology";

/** A notification before it is sent: the id and time are filled in when not given. */
export type NotificationInput = Omit<Notification, "id" | "occurredAt"> & { id?: string; occurredAt?: string };

export interface TraceContext {
    /** W3C trace context of the command, passed on unchanged (the mesh cannot trace the bus). */
    traceparent?: string;
}

export interface Notifier {
    /** Resolves once the notification is durably with the broker; rejects after the retries are spent. */
    notify(input: NotificationInput, trace?: TraceContext): Promise<Notification>;
    close(): Promise<void>;
    /**
     * Set when notifications go through the store's outbox (outbox.ts): a caller
     * may write notifications in its own transaction (Store.finishCommand's
     * `announce`) and then call `written()` to have them published.
     */
    readonly outbox?: { written(): void };
}

// The consumer checks a command's traceparent with the same function.
export { validTraceparent };

export function buildNotification(input: NotificationInput, now: Date = new Date()): Notification {
    return notification.parse({ ...input, id: input.id ?? randomUUID(), occurredAt: input.occurredAt ?? now.toISOString() });
}

/** `<type>.<environment>`; `<type>.unknown` when a rejected message named no environment. */
export function routingKeyOf(n: Pick<Notification, "type" | "environment">): string {
    return `${n.type}.${n.environment ?? "unknown"}`;
}

export interface AmqpNotifierOptions {
    url: string;
    logger?: Logger;
    /** Publish attempts (a reconnect included) before `notify` rejects. Default: 12 (about a minute with the defaults below). */
    attempts?: number;
    /** First wait between attempts; grows exponentially up to maxDelayMs. Default: 250. */
    initialDelayMs?: number;
    maxDelayMs?: number;
    /** Time one attempt (connect, declare, publish, confirm) may take. Default: 10000. */
    timeoutMs?: number;
    /** Consecutive failures that open the circuit; it half-opens after halfOpenAfterMs. Defaults: 3, 1000. */
    breakerThreshold?: number;
    halfOpenAfterMs?: number;
}

/** Errors a retry cannot fix: refused credentials or permissions (403), an exchange of another type (406). */
export function isPermanentBrokerError(error: unknown): boolean {
    const code = (error as { code?: unknown } | null)?.code;
    return code === 403 || code === 406 || /\b403 \(ACCESS-REFUSED\)/.test(messageOf(error));
}

export class AmqpNotifier implements Notifier {
    private readonly logger: Logger;
    private readonly timeoutMs: number;
    private readonly policy: IPolicy;
    private channel?: Promise<ConfirmChannel>;
    private model?: ChannelModel;
    private closed = false;

    constructor(private readonly options: AmqpNotifierOptions) {
        this.logger = options.logger ?? silentLogger;
        this.timeoutMs = options.timeoutMs ?? 10_000;
        const retries = retry(
            handleWhen((error) => !isPermanentBrokerError(error) && !this.closed),
            {
                maxAttempts: (options.attempts ?? 12) - 1,
                backoff: new ExponentialBackoff({ initialDelay: options.initialDelayMs ?? 250, maxDelay: options.maxDelayMs ?? 5_000 }),
            },
        );
        retries.onRetry((event) => {
            const reason = "error" in event ? messageOf(event.error) : "a failed result";
            this.logger.warn({ attempt: event.attempt, delayMs: Math.round(event.delay), reason: redactUrl(reason, options.url) }, "notifier: publishing failed, retrying");
        });
        const breaker = circuitBreaker(handleAll, { halfOpenAfter: options.halfOpenAfterMs ?? 1_000, breaker: new ConsecutiveBreaker(options.breakerThreshold ?? 3) });
        const perAttempt = timeout(this.timeoutMs, TimeoutStrategy.Aggressive);
        this.policy = wrap(retries, breaker, perAttempt);
    }

    async notify(input: NotificationInput, trace: TraceContext = {}): Promise<Notification> {
        const n = buildNotification(input);
        const body = Buffer.from(JSON.stringify(n));
        const traceparent = validTraceparent(trace.traceparent);
        await this.policy.execute(async () => {
            if (this.closed) {
                throw new Error("the notifier is closed");
            }
            try {
                await this.publishOnce(n, body, traceparent);
            } catch (error) {
                // The channel may be half-dead (a timeout, a nack after a broker restart): the next attempt opens a new one.
                this.reset();
                throw error;
            }
        });
        return n;
    }

    async close(): Promise<void> {
        this.closed = true;
        const model = this.model;
        this.reset();
        if (model) {
            await closeQuietly(model);
        }
    }

    private async publishOnce(n: Notification, body: Buffer, traceparent: string | undefined): Promise<void> {
        const channel = await this.openChannel();
        await new Promise<void>((resolve, reject) => {
            channel.publish(
                NOTIFICATIONS_EXCHANGE,
                routingKeyOf(n),
                body,
                {
                    persistent: true,
                    contentType: "application/json",
                    contentEncoding: "utf-8",
                    messageId: n.id,
                    type: n.type,
                    timestamp: Math.floor(Date.parse(n.occurredAt) / 1000),
                    appId: "platform-environment-manager",
                    headers: traceparent ? { traceparent } : {},
                },
                (error: unknown) => (error ? reject(new Error(`the broker did not confirm notification ${n.id}: ${messageOf(error)}`)) : resolve()),
            );
        });
    }

    private openChannel(): Promise<ConfirmChannel> {
        if (!this.channel) {
            const opening = this.connect();
            this.channel = opening;
            opening.catch(() => {
                if (this.channel === opening) {
                    this.channel = undefined;
                }
            });
        }
        return this.channel;
    }

    private async connect(): Promise<ConfirmChannel> {
        const model = await connect(this.options.url, { timeout: this.timeoutMs, clientProperties: { connection_name: "environment manager notifier" } });
        // Without "error" listeners amqplib would throw these out of its socket handler.
        model.on("error", (error: Error) => this.logger.warn({ reason: redactUrl(messageOf(error), this.options.url) }, "notifier: connection error"));
        model.on("close", () => {
            if (this.model === model) {
                this.reset();
            }
        });
        this.model = model;
        if (this.closed) {
            await closeQuietly(model);
            throw new Error("the notifier is closed");
        }
        const channel = await model.createConfirmChannel();
        channel.on("error", (error: Error) => this.logger.warn({ reason: messageOf(error) }, "notifier: channel error"));
        channel.on("close", () => {
            if (this.model === model) {
                this.reset();
            }
        });
        await channel.assertExchange(NOTIFICATIONS_EXCHANGE, "topic", { durable: true });
        return channel;
    }

    /** Forgets the connection (closing it without waiting): the next publish opens a new one. */
    private reset(): void {
        const model = this.model;
        this.model = undefined;
        this.channel = undefined;
        if (model) {
            void closeQuietly(model);
        }
    }
}

/** Closing can fail on a connection the broker already dropped, or hang on a half-open socket: neither matters here. */
export async function closeQuietly(model: ChannelModel): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
        await Promise.race([model.close(), new Promise<void>((resolve) => (timer = setTimeout(resolve, 2_000).unref()))]);
    } catch {
        // already closed
    } finally {
        clearTimeout(timer);
    }
}
