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
 */
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

export class OutboxNotifier implements Notifier {
    readonly outbox = { written: () => this.kick() };
    private draining: Promise<void> | undefined;
    private again = false;
    private closed = false;
    private retryTimer: NodeJS.Timeout | undefined;

    constructor(private readonly options: OutboxOptions) {}

    /** Resolves once the notification is in the store; it is published in order after what is already there. */
    async notify(input: NotificationInput, trace: TraceContext = {}): Promise<Notification> {
        const n = buildNotification(input);
        await this.options.store.enqueueNotification(n, validTraceparent(trace.traceparent), new Date());
        this.kick();
        return n;
    }

    /** Publishes what the outbox holds (at start: what a stopped manager left). */
    kick(): void {
        if (this.closed) {
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

    /** Stops publishing (what is left stays in the outbox) and closes the publisher. */
    async close(): Promise<void> {
        this.closed = true;
        clearTimeout(this.retryTimer);
        await this.draining?.catch(() => undefined);
        await this.options.publisher.close();
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
                    if (this.closed) {
                        return;
                    }
                    await publisher.notify(entry.notification, { traceparent: entry.traceparent });
                    await store.removeNotification(entry.seq);
                }
            }
        } catch (error) {
            if (this.closed) {
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
