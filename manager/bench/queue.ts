/**
 * The command queue's throughput: commands per minute through a real
 * RabbitMQ broker (test/helpers/rabbitmq.ts), the consumer, the runner and
 * the stand-in executor (0-50 ms a command, nothing deployed), on the
 * embedded store. N create commands for distinct environments are published
 * at once; the clock runs from the first publish to the last
 * command.completed notification. Once per runner concurrency (2, then 4),
 * each on a fresh store.
 *
 * Run: `pnpm bench` (BENCH_ONLY=manager), or `node --import tsx manager/bench/queue.ts`.
 */
import { randomUUID } from "node:crypto";
import * as os from "node:os";
import { type ChannelModel, connect } from "amqplib";

import { type RabbitBroker, startRabbitMQ } from "../../test/helpers/rabbitmq";
import { startConsumer } from "../src/bus/consumer";
import { AmqpNotifier } from "../src/bus/notifier";
import { COMMANDS_EXCHANGE, COMMANDS_ROUTING_KEY, declareTopology, NOTIFICATIONS_EXCHANGE } from "../src/bus/topology";
import { CommandRunner } from "../src/commands/runner";
import type { CreateCommand, Notification } from "../src/commands/schema";
import { StandInExecutor } from "../src/executor/stand-in";
import { openEmbeddedPostgres } from "../src/store/sql-store";

const COMMANDS = Number(process.env.BENCH_QUEUE_COMMANDS ?? 300);
const CONCURRENCIES = [2, 4];
const MAX_DURATION_MS = 50;
const TIMEOUT_MS = 10 * 60_000;

interface Result {
    concurrency: number;
    seconds: number;
    perMinute: number;
    /** Publish to command.completed, per command. */
    p50: number;
    p99: number;
    failed: number;
}

function create(environment: string, plannedDestruction: string): CreateCommand {
    return {
        commandId: randomUUID(),
        type: "environment.create",
        environment,
        requestedBy: "bench@example.com",
        template: "review",
        description: `queue benchmark: ${environment}`,
        owner: "bench@example.com",
        costCenter: "PLT-0001",
        plannedDestruction,
    };
}

function percentile(sorted: number[], p: number): number {
    return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function run(broker: RabbitBroker, admin: ChannelModel, concurrency: number): Promise<Result> {
    const store = await openEmbeddedPostgres();
    await store.migrate();
    const executor = new StandInExecutor({ durationFor: () => Math.floor(Math.random() * (MAX_DURATION_MS + 1)) });
    const notifier = new AmqpNotifier({ url: broker.url });
    const runner = new CommandRunner({ store, executor, notifier, concurrency });

    // Outcomes by routing key (`<type>.<environment>`), on a queue of this run's own.
    const channel = await admin.createConfirmChannel();
    await declareTopology(channel);
    const { queue } = await channel.assertQueue("", { exclusive: true, autoDelete: true });
    for (const type of ["command.completed", "command.failed", "command.rejected"]) {
        await channel.bindQueue(queue, NOTIFICATIONS_EXCHANGE, `${type}.#`);
    }
    const run = randomUUID().slice(0, 8);
    const plannedDestruction = new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10);
    const commands = Array.from({ length: COMMANDS }, (_, i) => create(`review-bench-${run}-c${concurrency}-${i}`, plannedDestruction));
    const ids = new Set(commands.map((c) => c.commandId));
    const publishedAt = new Map<string, number>();
    const latencies: number[] = [];
    let failed = 0;
    let firstFailure: string | undefined;
    let lastAt = 0;
    const done = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`concurrency ${concurrency}: ${latencies.length + failed} of ${COMMANDS} commands finished in ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
        void channel.consume(
            queue,
            (message) => {
                if (!message) {
                    return;
                }
                const n = JSON.parse(message.content.toString()) as Notification;
                if (n.commandId !== undefined && ids.delete(n.commandId)) {
                    lastAt = performance.now();
                    if (n.type === "command.completed") {
                        latencies.push(lastAt - (publishedAt.get(n.commandId) ?? lastAt));
                    } else {
                        failed++;
                        firstFailure ??= `${n.type}: ${n.reason ?? "no reason given"}`;
                    }
                    if (ids.size === 0) {
                        clearTimeout(timer);
                        resolve();
                    }
                }
            },
            { noAck: true },
        );
    });

    const consumer = await startConsumer({ url: broker.url, store, runner, notifier, prefetch: Math.max(10, 2 * concurrency) });
    const startedAt = performance.now();
    await Promise.all(
        commands.map((c) => {
            publishedAt.set(c.commandId, performance.now());
            return new Promise<void>((resolve, reject) =>
                channel.publish(COMMANDS_EXCHANGE, COMMANDS_ROUTING_KEY, Buffer.from(JSON.stringify(c)), { persistent: true, contentType: "application/json", messageId: c.commandId }, (error: unknown) =>
                    error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(),
                ),
            );
        }),
    );
    try {
        await done;
    } finally {
        await consumer.stop();
        await notifier.close();
        await channel.close().catch(() => undefined);
        await store.close();
    }
    if (firstFailure !== undefined) {
        console.log(`concurrency ${concurrency}: ${failed} commands did not complete; the first: ${firstFailure}`);
    }
    const seconds = (lastAt - startedAt) / 1000;
    latencies.sort((a, b) => a - b);
    return {
        concurrency,
        seconds,
        perMinute: (COMMANDS / seconds) * 60,
        p50: latencies.length ? percentile(latencies, 50) : NaN,
        p99: latencies.length ? percentile(latencies, 99) : NaN,
        failed,
    };
}

async function main(): Promise<void> {
    console.log(`manager command queue, node ${process.version}, ${os.cpus().length} cores`);
    const broker = await startRabbitMQ();
    const results: Result[] = [];
    try {
        const admin = await connect(broker.url);
        admin.on("error", () => undefined);
        try {
            for (const concurrency of CONCURRENCIES) {
                results.push(await run(broker, admin, concurrency));
            }
        } finally {
            await admin.close().catch(() => undefined);
        }
    } finally {
        await broker.stop();
    }
    console.log(`\n${COMMANDS} create commands, stand-in executor 0-${MAX_DURATION_MS} ms each, embedded store, first publish to last command.completed`);
    console.log("concurrency   seconds   commands/min   latency p50 s   p99 s   failed");
    for (const r of results) {
        console.log(
            `${String(r.concurrency).padStart(11)}   ${r.seconds.toFixed(1).padStart(7)}   ${r.perMinute.toFixed(0).padStart(12)}   ${(r.p50 / 1000).toFixed(1).padStart(13)}   ${(r.p99 / 1000).toFixed(1).padStart(5)}   ${String(r.failed).padStart(6)}`,
        );
    }
}

main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
});
