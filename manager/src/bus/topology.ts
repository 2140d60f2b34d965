/**
 * The manager's exchanges and queues, declared by whoever connects first
 * (declarations are idempotent):
 *
 * - `platform.manager.commands` (direct, durable) -> queue `platform.manager.commands`
 *   (durable, quorum): the commands. Rejected messages go to its dead-letter exchange.
 * - `platform.manager.dead-letter` (fanout, durable) -> queue `platform.manager.dead-letter`:
 *   malformed or forbidden commands, with the reason in the `x-rejection-reason` header.
 * - `platform.manager.notifications` (topic, durable): every notification, routed by
 *   `<type>.<environment>` (e.g. `environment.status.review-42`).
 */
import type { Channel } from "amqplib";

export const COMMANDS_EXCHANGE = "platform.manager.commands";
export const COMMANDS_QUEUE = "platform.manager.commands";
export const COMMANDS_ROUTING_KEY = "command";
export const DEAD_LETTER_EXCHANGE = "platform.manager.dead-letter";
export const DEAD_LETTER_QUEUE = "platform.manager.dead-letter";
export const NOTIFICATIONS_EXCHANGE = "platform.manager.notifications";
export const REJECTION_REASON_HEADER = "x-rejection-reason";

export interface TopologyOptions {
    /**
     * Deliveries of one command before the broker dead-letters it (quorum
     * queues count every return, a crashed manager's channel included), so a
     * command that kills the manager cannot crash-loop it forever.
     * Every declarer must pass the same value (the broker refuses a redeclaration with other arguments).
     */
    deliveryLimit?: number;
}

export const DEFAULT_DELIVERY_LIMIT = 5;

/** The arguments of the commands queue: whoever declares it must use exactly these. */
export function commandsQueueArguments(options: TopologyOptions = {}): Record<string, unknown> {
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": options.deliveryLimit ?? DEFAULT_DELIVERY_LIMIT,
        "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
    };
}

/** Declares every exchange and queue above (idempotent). */
export async function declareTopology(channel: Channel, options: TopologyOptions = {}): Promise<void> {
    await channel.assertExchange(DEAD_LETTER_EXCHANGE, "fanout", { durable: true });
    await channel.assertQueue(DEAD_LETTER_QUEUE, { durable: true, arguments: { "x-queue-type": "quorum" } });
    await channel.bindQueue(DEAD_LETTER_QUEUE, DEAD_LETTER_EXCHANGE, "");
    await channel.assertExchange(COMMANDS_EXCHANGE, "direct", { durable: true });
    await channel.assertQueue(COMMANDS_QUEUE, { durable: true, arguments: commandsQueueArguments(options) });
    await channel.bindQueue(COMMANDS_QUEUE, COMMANDS_EXCHANGE, COMMANDS_ROUTING_KEY);
    await channel.assertExchange(NOTIFICATIONS_EXCHANGE, "topic", { durable: true });
}
