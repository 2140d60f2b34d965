/**
 * Notifications through an outbox in the store: `notify` writes the
 * notification to the store (durable once it resolves) and a publisher sends
 * the outbox to the broker in order, removing each one once the broker has
 * confirmed it. A broker that is down delays notifications, it loses none; a
 * manager killed before publishing leaves them in the outbox, and the next one
 * to execute commands publishes them at start.
 *
 * Delivery is at least once: a manager killed between the broker's confirm and
 * the removal publishes that notification again, with the same id (the AMQP
 * message id), which is what consumers de-duplicate on.
 *
 * Only the manager that executes commands publishes (`resume()` when it starts
 * leading, `pause()` when it stops): two publishers of one outbox would send
 * old rows after new ones. Order is the store's sequence, which is the order
 * of writes for one environment (each environment's writes are awaited one
 * after the other); notifications of different environments written at the
 * same moment by concurrent commands may be published in either order.
 */
import { ZodError } from "zod";

import type { Notification } from "../commands/schema";
import type { Store } from "../store/store";
import { validTraceparent } from "../trace";
import { type Logger, messageOf } from "./logger";
import { buildNotification, type NotificationInput, type Notifier, type TraceContext } from "./notifier";

export interface OutboxOptions {
    store: Store;
    /** What publishes to the broker (the AMQP notifier, with its own retries). */
    publisher: Notifier;
    logger: Logger;
    /** Wait after a failed publish before the outbox is tried again. Default: 2000 ms. */
    retryDelayMs?: number;
    /** Notifications read from the store at a time. Default: 100. */
    batch?: number;
}

/** A row that can never be published (it no longer parses, or the broker refuses its size): retrying would hold every later one back. */
function unpublishable(error: unknown): boolean {
    return error instanceof ZodError || /larger than configured max size|message size/i.test(messageOf(error));
}

export class OutboxNotifier implements Notifier {
    readonly outbox = { written: () => this.kick() };
    private draining: Promise<void> | undefined;
    private again = false;
    private closed = false;
    private paused: boolean;
    private retryTimer: NodeJS.Timeout | undefined;

    /** `paused`: write to the outbox but publish nothing until `resume()` (a replica standing by for the lease). */
    constructor(
        private readonly options: OutboxOptions,
        { paused = false }: { paused?: boolean } = {},
    ) {
        this.paused = paused;
    }

    /** Starts publishing (on taking the lead), what earlier managers left first. */
    resume(): void {
        this.paused = false;
        this.kick();
    }

    /** Stops publishing after the notification in flight (on losing the lead); writes still go to the outbox. */
    async pause(): Promise<void> {
        this.paused = true;
        clearTimeout(this.retryTimer);
        await this.draining?.catch(() => undefined);
    }

    /** Resolves once the notification is in the store; it is published in order after what is already there. */
    async notify(input: NotificationInput, trace: TraceContext = {}): Promise<Notification> {
        const n = buildNotification(input);
        await this.options.store.enqueueNotification(n, validTraceparent(trace.traceparent), new Date());
        this.kick();
        return n;
    }

    /** Publishes what the outbox holds (at start: what a stopped manager left). */
    kick(): void {
        if (this.closed || this.paused) {
            return;
        }
        if (this.draining) {
            this.again = true;
            return;
        }
        this.draining = this.drain().finally(() => {
            this.draining = undefined;
            if (this.again && !this.closed) {
                this.again = false;
                this.kick();
            }
        });
    }

    /** Resolves once everything written so far is published (or a publish failed: then it is retried later). */
    async flushed(): Promise<void> {
        while (this.draining) {
            await this.draining;
        }
    }

    /** Stops publishing (what is left stays in the outbox) and closes the publisher: a publish in flight gives up at its next attempt. */
    async close(): Promise<void> {
        this.closed = true;
        clearTimeout(this.retryTimer);
        await this.options.publisher.close();
        await this.draining?.catch(() => undefined);
    }

    private async drain(): Promise<void> {
        const { store, publisher, logger } = this.options;
        try {
            for (;;) {
                const pending = await store.pendingNotifications(this.options.batch ?? 100);
                if (pending.length === 0) {
                    return;
                }
                for (const entry of pending) {
                    if (this.closed || this.paused) {
                        return;
                    }
                    try {
                        await publisher.notify(entry.notification, { traceparent: entry.traceparent });
                    } catch (error) {
                        if (!unpublishable(error)) {
                            throw error;
                        }
                        logger.error(
                            { id: entry.notification.id, type: entry.notification.type, environment: entry.notification.environment, reason: messageOf(error).split("\n")[0] },
                            "outbox: a notification that can never be published was dropped",
                        );
                    }
                    await store.removeNotification(entry.seq);
                }
            }
        } catch (error) {
            if (this.closed || this.paused) {
                return;
            }
            // In order or not at all: the rest waits behind the one that failed.
            logger.warn({ reason: messageOf(error) }, "outbox: publishing failed; the notifications stay in the outbox and are retried");
            clearTimeout(this.retryTimer);
            this.retryTimer = setTimeout(() => this.kick(), this.options.retryDelayMs ?? 2_000);
            this.retryTimer.unref();
        }
    }
}
