/**
 * The manager's Prometheus metrics, on a registry of its own (not
 * prom-client's global one: two managers in one test process, or a library
 * registering its own, must not collide). Served at GET /metrics.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

import type { Store } from "./store/store";

/** How a command ended, or what happened to it on arrival. */
export type CommandOutcome = "accepted" | "duplicate" | "rejected" | "succeeded" | "failed" | "abandoned";

/** Every metric name's first part (Prometheus naming: the service's namespace, then the unit, counters ending in `_total`). */
export const METRIC_PREFIX = "platform_manager_";

interface MetricSpec {
    kind: "counter" | "gauge" | "histogram";
    /** The name after METRIC_PREFIX. */
    name: string;
    help: string;
    labelNames: readonly string[];
    buckets?: readonly number[];
}

/** The manager's own metrics, one row each (the process ones come from prom-client, under their usual names). */
const METRICS = {
    commandsTotal: { kind: "counter", name: "commands_total", help: "Commands taken, by type and outcome.", labelNames: ["type", "outcome"] },
    commandDurationSeconds: {
        kind: "histogram",
        name: "command_duration_seconds",
        help: "Time from a command's start to its outcome.",
        labelNames: ["type"],
        // Pulumi runs: seconds (a no-op update) to an hour (a cloud foundation).
        buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600],
    },
    queueDepth: { kind: "gauge", name: "queue_depth", help: "Commands waiting in the commands queue (messages ready, not yet delivered to any manager).", labelNames: [] },
    storeQuerySeconds: {
        kind: "histogram",
        name: "store_query_seconds",
        help: "Store round trips, by operation.",
        labelNames: ["operation"],
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    },
    httpRequestDurationSeconds: {
        kind: "histogram",
        name: "http_request_duration_seconds",
        help: "REST API requests, by route template, method and status.",
        labelNames: ["route", "method", "status"],
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    },
    driftChecksTotal: { kind: "counter", name: "drift_checks_total", help: "Drift checks of environments, by result (clean, drifted, unchecked, error).", labelNames: ["result"] },
    driftedEnvironments: { kind: "gauge", name: "drifted_environments", help: "Environments whose last drift check found resources changed outside code.", labelNames: [] },
} as const satisfies Record<string, MetricSpec>;

type MetricOf<S extends MetricSpec> = S["kind"] extends "counter"
    ? Counter<S["labelNames"][number]>
    : S["kind"] extends "gauge"
      ? Gauge<S["labelNames"][number]>
      : Histogram<S["labelNames"][number]>;

/** One prom-client metric per row of METRICS, under the same key. */
export type MetricSet = { readonly [K in keyof typeof METRICS]: MetricOf<(typeof METRICS)[K]> };

function register(spec: MetricSpec, registry: Registry): Counter | Gauge | Histogram {
    const config = { name: METRIC_PREFIX + spec.name, help: spec.help, labelNames: spec.labelNames, registers: [registry] };
    switch (spec.kind) {
        case "counter":
            return new Counter(config);
        case "gauge":
            return new Gauge(config);
        case "histogram":
            return new Histogram({ ...config, ...(spec.buckets ? { buckets: [...spec.buckets] } : {}) });
    }
}

export interface Metrics extends MetricSet {
    readonly registry: Registry;
    countCommand(type: string, outcome: CommandOutcome): void;
    observeCommandDuration(type: string, seconds: number): void;
    /** Set by the service every few seconds from the consumer's queueDepth(): the messages ready in the commands queue. */
    setQueueDepth(depth: number): void;
    /** Runs `query`, observing its duration whether it resolves or rejects. */
    timeStoreQuery<T>(operation: string, query: () => Promise<T>): Promise<T>;
    observeHttpRequest(labels: { route: string; method: string; status: number }, seconds: number): void;
    countDriftCheck(result: "clean" | "drifted" | "unchecked" | "error"): void;
    /** After each round of drift checks: how many environments are drifted now. */
    setDriftedEnvironments(count: number): void;
    /** The exposition text and its content type. */
    render(): Promise<{ contentType: string; body: string }>;
}

export interface MetricsOptions {
    /** Process metrics (CPU, memory, event loop lag) on the same registry; on by default. */
    defaultMetrics?: boolean;
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
    const registry = new Registry();
    if (options.defaultMetrics ?? true) {
        collectDefaultMetrics({ register: registry });
    }
    const set = Object.fromEntries(Object.entries(METRICS).map(([key, spec]) => [key, register(spec, registry)])) as unknown as MetricSet;
    const { commandsTotal, commandDurationSeconds, queueDepth, storeQuerySeconds, httpRequestDurationSeconds, driftChecksTotal, driftedEnvironments } = set;
    return {
        registry,
        ...set,
        countCommand: (type, outcome) => commandsTotal.inc({ type, outcome }),
        observeCommandDuration: (type, seconds) => commandDurationSeconds.observe({ type }, seconds),
        setQueueDepth: (depth) => queueDepth.set(depth),
        async timeStoreQuery(operation, query) {
            const end = storeQuerySeconds.startTimer({ operation });
            try {
                return await query();
            } finally {
                end();
            }
        },
        observeHttpRequest: ({ route, method, status }, seconds) => httpRequestDurationSeconds.observe({ route, method, status: String(status) }, seconds),
        countDriftCheck: (result) => driftChecksTotal.inc({ result }),
        setDriftedEnvironments: (count) => driftedEnvironments.set(count),
        async render() {
            return { contentType: registry.contentType, body: await registry.metrics() };
        },
    };
}

/**
 * `store` with every call timed into platform_manager_store_query_seconds{operation=<method>}.
 * For whoever wires the manager: wrap once, so the store itself and its
 * callers need not time anything (and nothing is counted twice).
 */
export function instrumentStore(store: Store, metrics: Metrics): Store {
    // The method is looked up at each call, so a store that swaps its methods (a test double) is still the one called.
    const timed = <K extends Exclude<keyof Store, "close">>(operation: K): Store[K] =>
        ((...args: unknown[]) =>
            metrics.timeStoreQuery(operation, () => (store[operation] as (...a: unknown[]) => Promise<unknown>).apply(store, args))) as unknown as Store[K];
    return {
        migrate: timed("migrate"),
        // Not a query: closing is not timed.
        close: () => store.close(),
        ping: timed("ping"),
        claimCommand: timed("claimCommand"),
        rejectCommand: timed("rejectCommand"),
        markRunning: timed("markRunning"),
        finishCommand: timed("finishCommand"),
        getCommand: timed("getCommand"),
        unfinishedCommands: timed("unfinishedCommands"),
        activeCommandFor: timed("activeCommandFor"),
        appendLog: timed("appendLog"),
        logTail: timed("logTail"),
        putEnvironment: timed("putEnvironment"),
        setStatus: timed("setStatus"),
        setDrift: timed("setDrift"),
        recordDrift: timed("recordDrift"),
        enqueueNotification: timed("enqueueNotification"),
        pendingNotifications: timed("pendingNotifications"),
        removeNotification: timed("removeNotification"),
        removeEnvironment: timed("removeEnvironment"),
        getEnvironment: timed("getEnvironment"),
        listEnvironments: timed("listEnvironments"),
        search: timed("search"),
        replaceEnvironments: timed("replaceEnvironments"),
        audit: timed("audit"),
        auditLog: timed("auditLog"),
    };
}
