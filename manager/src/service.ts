/**
 * The running manager: the pieces wired together, started in order and
 * stopped in reverse.
 *
 * - The store (read model and command journal), migrated, rebuilt from the
 *   state backend, then reconciled with it every `reconcileSeconds`.
 * - The REST API (/api/v1) and /metrics.
 * - Primary: the command consumer and runner, started only while this replica
 *   leads (a Kubernetes Lease, when several replicas run), after the commands
 *   a killed or stopped manager left unfinished are run again.
 * - Secondary: the primary's notifications feed the read model; commands are
 *   refused (503) until it is started again with --primary.
 *
 * SIGTERM or SIGINT stops it gracefully: the API stops taking requests, a
 * running command is abandoned (recorded, not acked: the next manager runs it
 * again after clearing the backend's lock), the lease is released.
 */
import { connect, ChannelModel, ConfirmChannel } from "amqplib";
import type pino from "pino";

import { buildApi } from "./api/server";
import { createAuthenticator } from "./api/auth";
import { selfServiceTemplates } from "./api/templates";
import { startConsumer, Consumer } from "./bus/consumer";
import { AmqpNotifier, closeQuietly } from "./bus/notifier";
import { OutboxNotifier } from "./bus/outbox";
import { COMMANDS_EXCHANGE, COMMANDS_ROUTING_KEY, NOTIFICATIONS_EXCHANGE } from "./bus/topology";
import { notification, type Command } from "./commands/schema";
import { CommandRunner } from "./commands/runner";
import type { ManagerConfig } from "./config";
import { AutomationExecutor } from "./executor/automation";
import { httpsLeaseClient, inClusterConnection, kubeconfigConnection } from "./lease/client";
import { LeaderElector } from "./lease/leader";
import { createLogger } from "./log";
import { createMetrics, instrumentStore } from "./metrics";
import { scheduleDriftChecks } from "./drift";
import { applyNotification, rebuildReadModel, reconcileReadModel } from "./read-model";
import { resilientBackendReads, resilientStore } from "./resilience";
import { connectPostgres, openEmbeddedPostgres } from "./store/sql-store";
import type { Store } from "./store/store";
import { continueTrace, traceparentOf } from "./trace";

/** Publishes the API's commands to the commands exchange, confirmed by the broker before the API answers 202. */
class CommandPublisher {
    private channel?: Promise<{ model: ChannelModel; channel: ConfirmChannel }>;

    constructor(private readonly url: string) {}

    async publish(command: Command, traceparent: string): Promise<void> {
        const { channel } = await this.open();
        await new Promise<void>((resolve, reject) => {
            channel.publish(COMMANDS_EXCHANGE, COMMANDS_ROUTING_KEY, Buffer.from(JSON.stringify(command)), {
                persistent: true,
                contentType: "application/json",
                messageId: command.commandId,
                headers: { traceparent },
            }, (err) => (err ? reject(err as Error) : resolve()));
        }).catch((e: unknown) => {
            this.channel = undefined; // a dead channel is reopened by the next publish
            throw e;
        });
    }

    /** "ok" when a channel to the broker is open (or opens now), else why not: a standby replica's broker health. */
    async health(): Promise<string> {
        try {
            await this.open();
            return "ok";
        } catch (e) {
            return `unreachable: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`;
        }
    }

    private open(): Promise<{ model: ChannelModel; channel: ConfirmChannel }> {
        this.channel ??= (async () => {
            const model = await connect(this.url, { timeout: 10_000 });
            const channel = await model.createConfirmChannel();
            const forget = () => (this.channel = undefined);
            model.on("close", forget);
            model.on("error", forget);
            return { model, channel };
        })().catch((e: unknown) => {
            this.channel = undefined;
            throw e;
        });
        return this.channel;
    }

    async close(): Promise<void> {
        const open = await this.channel?.catch(() => undefined);
        this.channel = undefined;
        if (open) {
            await closeQuietly(open.model);
        }
    }
}

/** A secondary's feed: its own durable queue bound to every notification of the primary. */
async function followPrimary(url: string, queue: string, store: Store, logger: pino.Logger): Promise<() => Promise<void>> {
    let model: ChannelModel | undefined;
    let stopped = false;
    // Kept across reconnects: a repeat may come after the connection was lost.
    const seen = new Set<string>();
    const start = async (): Promise<void> => {
        while (!stopped) {
            try {
                model = await connect(url, { timeout: 10_000 });
                const channel = await model.createChannel();
                await channel.assertExchange(NOTIFICATIONS_EXCHANGE, "topic", { durable: true });
                await channel.assertQueue(queue, { durable: true, arguments: { "x-queue-type": "quorum" } });
                await channel.bindQueue(queue, NOTIFICATIONS_EXCHANGE, "#");
                await channel.prefetch(50);
                // One at a time, in delivery order: a late "destroying" applied after "destroyed" would undo it.
                let applying = Promise.resolve();
                await channel.consume(queue, (message) => {
                    if (!message) {
                        return;
                    }
                    applying = applying.then(async () => {
                        try {
                            const parsed = notification.safeParse(JSON.parse(message.content.toString()) as unknown);
                            if (parsed.success && seen.has(parsed.data.id)) {
                                // The outbox publishes at least once: a repeat (same id) is not applied again.
                            } else if (parsed.success) {
                                await applyNotification(store, parsed.data);
                                seen.add(parsed.data.id);
                                if (seen.size > SEEN_IDS) {
                                    seen.delete(seen.values().next().value as string);
                                }
                            } else {
                                logger.warn("malformed notification dropped");
                            }
                            channel.ack(message);
                        } catch (e) {
                            logger.error({ err: e }, "applying a notification failed; it is redelivered");
                            channel.nack(message, false, true);
                        }
                    });
                });
                model.on("close", () => void (stopped ? undefined : start()));
                logger.info({ queue }, "following the primary's notifications");
                return;
            } catch (e) {
                logger.warn({ err: e }, "the broker is not reachable; retrying in 2 s");
                await new Promise((r) => setTimeout(r, 2_000));
            }
        }
    };
    await start();
    return async () => {
        stopped = true;
        if (model) {
            await closeQuietly(model);
        }
    };
}

/** Notification ids a secondary remembers to skip repeats (oldest forgotten first). */
const SEEN_IDS = 10_000;

export async function runService(config: ManagerConfig): Promise<void> {
    const logger = createLogger();
    const metrics = createMetrics({ defaultMetrics: true });
    const rawStore = config.database.kind === "server" ? await connectPostgres(config.database.url) : await openEmbeddedPostgres(config.database.dataDir);
    await rawStore.migrate();
    const store = instrumentStore(resilientStore(rawStore, { logger }), metrics);
    const executor = resilientBackendReads(
        new AutomationExecutor({ projectDir: config.projectDir, env: process.env, stackDefaults: config.stackDefaults, repository: config.repository }),
        { logger },
    );

    // The state backend's health is the last read's: reading it costs a pulumi run.
    let backendHealth = "not read yet";
    const reconcile = async (first: boolean) => {
        try {
            const n = first ? await rebuildReadModel(store, executor) : (await reconcileReadModel(store, executor)).length;
            backendHealth = "ok";
            logger.info({ environments: n }, first ? "read model rebuilt from the state backend" : "read model reconciled");
        } catch (e) {
            backendHealth = `unreachable: ${(e instanceof Error ? e.message : String(e)).split("\n")[0].slice(0, 200)}`;
            logger.error({ err: e }, "reading the state backend failed");
        }
    };
    if (config.role === "primary") {
        await reconcile(true);
    }
    const reconcileTimer = setInterval(() => void reconcile(false), config.reconcileSeconds * 1000);
    reconcileTimer.unref();

    // Every notification goes through the store's outbox: a broker that is down, or a manager killed, loses none.
    // Paused until this process executes commands: only the leader publishes the outbox.
    const notifier = new OutboxNotifier({ store, publisher: new AmqpNotifier({ url: config.amqpUrl, logger }), logger }, { paused: true });
    const publisher = new CommandPublisher(config.amqpUrl);
    let consumer: Consumer | undefined;
    let stopFollowing: (() => Promise<void>) | undefined;
    let elector: LeaderElector | undefined;
    // The secondary's feed sets it; a primary reads its consumer's (or, standing by for the lease, the publisher's).
    let brokerHealth = "not connected yet";

    // The drift checks go with the commands: only the manager that executes them (the leader) refreshes environments.
    let driftChecks: { stop(): Promise<void> } | undefined;
    const startCommands = async (): Promise<Consumer> => {
        // What the last manager to execute commands could not publish goes first.
        notifier.resume();
        const runner = new CommandRunner({ store, executor, notifier, concurrency: config.concurrency, logger, metrics });
        const recovered = await runner.recoverUnfinished();
        if (recovered.length > 0) {
            logger.info({ commands: recovered }, "ran again the commands a stopped manager left");
        }
        const started = await startConsumer({ url: config.amqpUrl, store, runner, notifier, prefetch: config.concurrency * 5, logger, metrics });
        if (config.driftCheckSeconds > 0) {
            driftChecks = scheduleDriftChecks({ store, executor, notifier, logger, metrics, intervalSeconds: config.driftCheckSeconds });
        }
        return started;
    };
    const stopDriftChecks = async () => {
        const checks = driftChecks;
        driftChecks = undefined;
        await checks?.stop();
    };

    if (config.role === "primary" && config.lease) {
        const lease = config.lease;
        const client = httpsLeaseClient(lease.kubeconfig ? kubeconfigConnection(lease.kubeconfig) : inClusterConnection());
        elector = new LeaderElector({
            client,
            namespace: lease.namespace,
            leaseName: lease.name,
            identity: lease.identity,
            onStartedLeading: async (signal) => {
                logger.info({ identity: lease.identity }, "leading: taking commands");
                const mine = await startCommands();
                consumer = mine;
                await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
                await stopDriftChecks();
                await mine.stop();
                await notifier.pause();
                consumer = undefined;
            },
            onStoppedLeading: () => logger.warn({ identity: lease.identity }, "no longer leading: commands stopped"),
        });
        // Rejects only when no API client can be made: the manager cannot run as configured.
        await elector.start();
    } else if (config.role === "primary") {
        consumer = await startCommands();
    } else {
        stopFollowing = await followPrimary(config.amqpUrl, `platform.manager.read-model.${process.env.HOSTNAME ?? "secondary"}`, store, logger);
        brokerHealth = "ok";
    }

    const depthTimer = setInterval(() => {
        void consumer
            ?.queueDepth()
            .then((depth) => {
                if (depth !== undefined) {
                    metrics.setQueueDepth(depth);
                }
            })
            .catch(() => undefined);
    }, 5_000);
    depthTimer.unref();

    const api = buildApi({
        store,
        health: async () => {
            const storeHealth = await rawStore.ping().then(
                () => "ok",
                (e: unknown) => `unreachable: ${e instanceof Error ? e.message : String(e)}`,
            );
            const broker = config.role === "secondary" ? brokerHealth : consumer ? (consumer.connected ? "ok" : "disconnected") : await publisher.health();
            return { broker, store: storeHealth, stateBackend: config.role === "primary" ? backendHealth : "ok" };
        },
        submit: async (command, actor, traceparent) => {
            await store.audit({ at: new Date().toISOString(), actor, action: command.type, environment: command.environment, commandId: command.commandId, outcome: "submitted" });
            await publisher.publish(command, traceparentOf(continueTrace(traceparent)));
            return { commandId: command.commandId };
        },
        auth: createAuthenticator({
            keys: config.auth.secretFile ? { kind: "hs256-file", path: config.auth.secretFile } : { kind: "jwks-file", path: config.auth.jwksFile ?? "" },
            audience: config.auth.audience,
            issuer: config.auth.issuer,
        }),
        metrics,
        logger,
        templates: selfServiceTemplates(),
        role: config.role,
    });
    await api.listen({ host: config.host, port: config.port });
    logger.info({ role: config.role, address: `${config.host}:${config.port}` }, "environment manager started");

    await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
            logger.info({ signal }, "stopping");
            resolve();
        };
        process.once("SIGTERM", () => stop("SIGTERM"));
        process.once("SIGINT", () => stop("SIGINT"));
    });
    clearInterval(reconcileTimer);
    clearInterval(depthTimer);
    await api.close();
    if (elector) {
        await elector.stop();
    } else {
        await stopDriftChecks();
        await consumer?.stop();
    }
    await stopFollowing?.();
    await publisher.close();
    await notifier.close();
    await rawStore.close();
    logger.info("stopped");
}
