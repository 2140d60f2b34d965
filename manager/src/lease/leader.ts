/**
 * Leader election over a coordination.k8s.io/v1 Lease, as client-go's
 * leaderelection package does it, so that of the manager's replicas only one
 * executes commands at a time:
 *
 * - Candidates read the Lease every retryPeriod (creating it when missing) and
 *   take it over when its holder is empty (released) or when the record has not
 *   changed for leaseDuration. Expiry is timed on the candidate's own clock from
 *   when it first saw the current record, never by comparing the holder's
 *   renewTime with the local clock: a replica whose clock runs ahead must not
 *   steal a live lease.
 * - Every write is a replace with the resourceVersion that was read: of two
 *   candidates racing for an expired lease the API server lets one win and
 *   answers 409 to the other.
 * - The leader renews every retryPeriod (with its cached record first, falling
 *   back to a read on 409). If no renewal has succeeded for renewDeadline,
 *   counted from the start of the last successful request, it stops leading
 *   (aborts the signal) even while the request hangs. Another replica can take
 *   over no sooner than leaseDuration after it saw that renewal, so the old
 *   leader stops leaseDuration - renewDeadline before the new one may start.
 * - A graceful stop aborts the signal, keeps renewing until onStartedLeading's
 *   promise settled (the work really stopped), then releases the Lease (empty
 *   holder) so a successor takes over at its next retry, not after expiry.
 *
 * Identities must be unique per process (the pod name): a replica that finds
 * its own identity on the Lease treats it as its own and leads at once.
 */
import { setTimeout as delay } from "node:timers/promises";

import { ExponentialBackoff, handleWhen, retry, timeout, TimeoutStrategy } from "cockatiel";

import { httpsLeaseClient, inClusterConnection, isTransient, kubeconfigConnection, Lease, LeaseApiError, LeaseClient, LeaseSpec, microTime } from "./client";

/** Milliseconds since the epoch. Must advance with real time: the elector's timers are real. */
export interface Clock {
    now(): number;
}

export type LeaderElectionEvent =
    | { type: "acquired"; identity: string; transitions: number }
    | { type: "lost"; reason: "renew-deadline" | "taken" | "stopped" }
    | { type: "released" }
    | { type: "new-leader"; identity: string | undefined }
    /** The server refused a write for a stale resourceVersion (someone else wrote first). */
    | { type: "conflict"; during: LeaseOperation }
    | { type: "error"; during: LeaseOperation; error: unknown }
    /** onStartedLeading rejected or a callback threw. */
    | { type: "callback-error"; error: unknown };

export type LeaseOperation = "read" | "create" | "acquire" | "renew" | "release";

export interface LeaderElectorOptions {
    /** The path of a kubeconfig file (kubeconfigConnection); default: the pod's service account. */
    kubeconfig?: string;
    /** The Lease calls to use instead of `kubeconfig` (tests, or another client). */
    client?: LeaseClient;
    namespace: string;
    leaseName: string;
    /** Unique per replica: the pod name. */
    identity: string;
    /** How long a lease stays valid without renewal; whole seconds (the Lease field is an integer). Default 15. */
    leaseDurationSeconds?: number;
    /** How long the leader keeps leading without a successful renewal. Default 10. */
    renewDeadlineSeconds?: number;
    /** Between attempts to acquire or renew. Default 2. */
    retryPeriodSeconds?: number;
    /**
     * Called when this replica becomes leader. Stop all leader-only work when
     * `signal` aborts; return a promise that settles once it has stopped, so a
     * graceful stop releases the lease only then.
     */
    onStartedLeading(signal: AbortSignal): void | Promise<void>;
    /** Called when a term ends, right after its signal aborted. */
    onStoppedLeading(): void;
    onEvent?(event: LeaderElectionEvent): void;
    clock?: Clock;
}

export interface StopOptions {
    /** Release the lease (default). `false` leaves it to expire, as a crashed replica would. */
    release?: boolean;
}

/** client-go's JitterFactor: candidates spread their retries over +20%. */
const JITTER = 1.2;

interface Term {
    controller: AbortController;
    /** Settles when onStartedLeading's work has stopped. */
    work: Promise<void>;
}

interface Observed {
    lease: Lease;
    /** The record's content (not its resourceVersion): a change restarts the expiry count. */
    key: string;
    /** Local time when this content was first seen. */
    since: number;
}

export class LeaderElector {
    private readonly leaseDurationMs: number;
    private readonly renewDeadlineMs: number;
    private readonly retryPeriodMs: number;
    private readonly clock: Clock;
    // Only GETs are retried inside one attempt; writes are retried by the loop after a fresh read.
    private readonly readRetry = retry(handleWhen(isTransient), { maxAttempts: 2, backoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 500 }) });

    private client: LeaseClient | undefined;
    private observed: Observed | undefined;
    /** The lease is ours as of the last successful write, started at `lastRenewStart`. */
    private held = false;
    private lastRenewStart = 0;
    private watchdog: NodeJS.Timeout | undefined;
    private term: Term | undefined;
    /** The work of an ended term, until it settles: no new term before that. */
    private draining: Promise<void> | undefined;
    private starting: Promise<void> | undefined;
    private loop: Promise<void> | undefined;
    private readonly loopController = new AbortController();
    private stopping: Promise<void> | undefined;

    constructor(private readonly options: LeaderElectorOptions) {
        const lease = options.leaseDurationSeconds ?? 15;
        const renew = options.renewDeadlineSeconds ?? 10;
        const retryPeriod = options.retryPeriodSeconds ?? 2;
        if (!Number.isInteger(lease) || lease < 1) {
            throw new Error(`leaseDurationSeconds must be a whole number of seconds >= 1, not ${lease}`);
        }
        // client-go's checks: the deadline must end before the lease can expire for
        // others, and leave room for at least one retry.
        if (!(renew < lease)) {
            throw new Error(`renewDeadlineSeconds (${renew}) must be less than leaseDurationSeconds (${lease})`);
        }
        if (!(retryPeriod > 0) || !(renew > retryPeriod * JITTER)) {
            throw new Error(`renewDeadlineSeconds (${renew}) must exceed ${JITTER} x retryPeriodSeconds (${retryPeriod})`);
        }
        if (!options.identity) {
            throw new Error("identity must not be empty");
        }
        this.leaseDurationMs = lease * 1000;
        this.renewDeadlineMs = renew * 1000;
        this.retryPeriodMs = retryPeriod * 1000;
        this.clock = options.clock ?? { now: () => Date.now() };
    }

    /** True while this replica holds a renewed lease and its term's signal is not aborted. */
    isLeader(): boolean {
        // The clock check too: a blocked event loop can delay the watchdog, not this.
        return this.term !== undefined && !this.term.controller.signal.aborted && this.held && this.clock.now() < this.lastRenewStart + this.renewDeadlineMs;
    }

    /** The holder as last read or written (undefined: none or not known yet). */
    leader(): string | undefined {
        return this.observed?.lease.spec.holderIdentity || undefined;
    }

    /** Starts campaigning. Rejects only when the API client cannot be made (no kubeconfig, not in a cluster). */
    start(): Promise<void> {
        this.starting ??= this.begin();
        return this.starting;
    }

    private async begin(): Promise<void> {
        this.client ??= this.options.client ?? httpsLeaseClient(this.options.kubeconfig !== undefined ? kubeconfigConnection(this.options.kubeconfig) : inClusterConnection());
        // stop() may have come while the client was being made.
        if (!this.stopping) {
            this.loop = this.run(this.loopController.signal).catch((error: unknown) => {
                // Not expected (API failures are handled per round), but never lead on after a broken loop.
                this.emit({ type: "error", during: "renew", error });
                this.lose("renew-deadline");
            });
        }
    }

    /**
     * Stops campaigning and ends any term. With `release` (the default) it waits
     * for the term's work to settle, renewing meanwhile, then releases the lease.
     */
    stop(options: StopOptions = {}): Promise<void> {
        this.stopping ??= this.shutdown(options.release ?? true);
        return this.stopping;
    }

    private async shutdown(release: boolean): Promise<void> {
        await this.starting?.catch(() => undefined);
        this.endTerm("stopped");
        if (release && this.draining) {
            await this.draining;
        }
        this.loopController.abort();
        await this.loop;
        this.clearWatchdog();
        this.held = false;
        if (release) {
            await this.release();
        }
    }

    private async run(signal: AbortSignal): Promise<void> {
        while (!signal.aborted) {
            if (!this.held && this.draining) {
                // The last term's work still runs: campaign again only once it stopped.
                await Promise.race([this.draining, aborted(signal)]);
                continue;
            }
            const outcome = await this.tryAcquireOrRenew(signal);
            if (signal.aborted) {
                break;
            }
            if (outcome === "held") {
                this.held = true;
                this.armWatchdog();
                if (!this.term && !this.draining && !this.stopping) {
                    this.beginTerm();
                }
            } else if (outcome === "other") {
                this.lose("taken");
            }
            const wait = this.held ? this.retryPeriodMs : this.retryPeriodMs * (1 + Math.random() * (JITTER - 1));
            await delay(wait, undefined, { signal }).catch(() => undefined);
        }
    }

    /** One round: "held" when the lease is ours after it, "other" when someone else validly holds it, "failed" otherwise. */
    private async tryAcquireOrRenew(signal: AbortSignal): Promise<"held" | "other" | "failed"> {
        const client = this.client as LeaseClient;
        const start = this.clock.now();
        // A leader's round must end by its deadline; a candidate's within one deadline.
        const deadline = this.held ? this.lastRenewStart + this.renewDeadlineMs : start + this.renewDeadlineMs;
        const { namespace, leaseName, identity } = this.options;

        // Fast path: renew the record we wrote last, without reading it first.
        const cached = this.observed?.lease;
        if (this.held && cached && cached.spec.holderIdentity === identity) {
            try {
                const written = await this.call(deadline, signal, (s) => client.replace(withSpec(cached, { renewTime: microTime(start), leaseDurationSeconds: this.leaseDurationMs / 1000 }), s));
                return this.wrote(written, start);
            } catch (err) {
                if (!this.report("renew", err)) {
                    return "failed";
                }
                // 409: someone else wrote; read and decide again.
            }
        }

        let current: Lease;
        try {
            current = await this.call(deadline, signal, (s) => this.readRetry.execute(({ signal: inner }) => client.read(namespace, leaseName, inner), s));
        } catch (err) {
            if (!(err instanceof LeaseApiError && err.status === 404)) {
                this.report("read", err);
                return "failed";
            }
            const fresh: Lease = {
                apiVersion: "coordination.k8s.io/v1",
                kind: "Lease",
                metadata: { name: leaseName, namespace },
                spec: { holderIdentity: identity, leaseDurationSeconds: this.leaseDurationMs / 1000, acquireTime: microTime(start), renewTime: microTime(start), leaseTransitions: 0 },
            };
            try {
                return this.wrote(await this.call(deadline, signal, (s) => client.create(fresh, s)), start);
            } catch (createErr) {
                this.report("create", createErr);
                return "failed";
            }
        }

        this.observe(current);
        const spec = current.spec;
        const holder = spec.holderIdentity ?? "";
        if (holder !== "" && holder !== identity && this.observedValid()) {
            return "other";
        }
        const renewing = holder === identity;
        const next: LeaseSpec = {
            holderIdentity: identity,
            leaseDurationSeconds: this.leaseDurationMs / 1000,
            acquireTime: renewing && spec.acquireTime ? spec.acquireTime : microTime(start),
            renewTime: microTime(start),
            leaseTransitions: renewing ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
        };
        try {
            return this.wrote(await this.call(deadline, signal, (s) => client.replace(withSpec(current, next), s)), start);
        } catch (err) {
            this.report(renewing ? "renew" : "acquire", err);
            return "failed";
        }
    }

    private wrote(lease: Lease, start: number): "held" {
        this.observe(lease);
        this.lastRenewStart = start;
        return "held";
    }

    /** An API call bounded by `deadline` (aggressive: the request is aborted, not just left behind). */
    private call<T>(deadline: number, signal: AbortSignal, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
        const ms = Math.max(1, Math.min(deadline - this.clock.now(), this.renewDeadlineMs));
        return timeout(ms, TimeoutStrategy.Aggressive).execute(({ signal: inner }) => fn(inner), signal);
    }

    /** Emits the failure; true when it was a 409 conflict. */
    private report(during: LeaseOperation, error: unknown): boolean {
        const conflict = error instanceof LeaseApiError && error.status === 409;
        this.emit(conflict ? { type: "conflict", during } : { type: "error", during, error });
        return conflict;
    }

    private observe(lease: Lease): void {
        const s = lease.spec;
        const key = JSON.stringify([s.holderIdentity ?? "", s.renewTime, s.acquireTime, s.leaseTransitions, s.leaseDurationSeconds]);
        const previous = this.observed;
        if (previous?.key === key) {
            this.observed = { ...previous, lease };
            return;
        }
        this.observed = { lease, key, since: this.clock.now() };
        if ((previous?.lease.spec.holderIdentity || undefined) !== (s.holderIdentity || undefined)) {
            this.emit({ type: "new-leader", identity: s.holderIdentity || undefined });
        }
    }

    /** Whether the observed record is still within its lease duration, on the local clock. */
    private observedValid(): boolean {
        const o = this.observed;
        if (!o) {
            return false;
        }
        const durationMs = (o.lease.spec.leaseDurationSeconds ?? this.leaseDurationMs / 1000) * 1000;
        return this.clock.now() < o.since + durationMs;
    }

    private beginTerm(): void {
        const controller = new AbortController();
        const term: Term = { controller, work: Promise.resolve() };
        this.term = term;
        this.emit({ type: "acquired", identity: this.options.identity, transitions: this.observed?.lease.spec.leaseTransitions ?? 0 });
        let work: Promise<void>;
        try {
            work = Promise.resolve(this.options.onStartedLeading(controller.signal));
        } catch (err) {
            work = Promise.reject(err);
        }
        term.work = work.catch((error: unknown) => this.emit({ type: "callback-error", error }));
    }

    /** The lease is no longer ours (deadline passed, or someone else holds it): end the term at once. */
    private lose(reason: "renew-deadline" | "taken"): void {
        this.held = false;
        this.clearWatchdog();
        this.endTerm(reason);
    }

    private endTerm(reason: "renew-deadline" | "taken" | "stopped"): void {
        const term = this.term;
        if (!term) {
            return;
        }
        this.term = undefined;
        term.controller.abort(new Error(`leadership lost: ${reason}`));
        const draining = term.work;
        this.draining = draining;
        void draining.then(() => {
            if (this.draining === draining) {
                this.draining = undefined;
            }
        });
        this.emit({ type: "lost", reason });
        try {
            this.options.onStoppedLeading();
        } catch (error) {
            this.emit({ type: "callback-error", error });
        }
    }

    private armWatchdog(): void {
        this.clearWatchdog();
        const left = this.lastRenewStart + this.renewDeadlineMs - this.clock.now();
        this.watchdog = setTimeout(() => this.lose("renew-deadline"), Math.max(0, left));
        this.watchdog.unref();
    }

    private clearWatchdog(): void {
        if (this.watchdog) {
            clearTimeout(this.watchdog);
            this.watchdog = undefined;
        }
    }

    /** Empties the holder if the lease is still ours (resourceVersion-checked), so a successor need not wait for expiry. */
    private async release(): Promise<void> {
        const client = this.client;
        if (!client) {
            return;
        }
        const { identity } = this.options;
        let lease = this.observed?.lease;
        for (let attempt = 0; attempt < 2 && lease?.spec.holderIdentity === identity; attempt++) {
            const now = this.clock.now();
            const released = withSpec(lease, { holderIdentity: "", leaseDurationSeconds: 1, acquireTime: microTime(now), renewTime: microTime(now) });
            try {
                this.observe(await this.call(now + this.renewDeadlineMs, new AbortController().signal, (s) => client.replace(released, s)));
                this.emit({ type: "released" });
                return;
            } catch (err) {
                if (!this.report("release", err)) {
                    return;
                }
                // 409: a renewal in flight at stop landed after our read; read again.
                try {
                    lease = await this.call(now + this.renewDeadlineMs, new AbortController().signal, (s) => client.read(this.options.namespace, this.options.leaseName, s));
                } catch (readErr) {
                    this.report("read", readErr);
                    return;
                }
            }
        }
    }

    private emit(event: LeaderElectionEvent): void {
        try {
            this.options.onEvent?.(event);
        } catch {
            // An observer's failure must not break the election.
        }
    }
}

function withSpec(lease: Lease, spec: LeaseSpec): Lease {
    return { ...lease, spec: { ...lease.spec, ...spec } };
}

function aborted(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
        if (signal.aborted) {
            resolve();
        } else {
            signal.addEventListener("abort", () => resolve(), { once: true });
        }
    });
}
