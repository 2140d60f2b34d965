/**
 * Resilience for the calls the bus modules do not already guard: the store
 * (Postgres) and the state backend (the Automation API's pulumi runs), with
 * cockatiel: retries with exponential backoff, a circuit breaker that fails
 * fast while the dependency is down, and (for the state backend) a timeout.
 *
 * Writes are retried only when the statement cannot have reached the server
 * (the connection was refused or not made): a retried audit entry or log line
 * must not be written twice. Reads are retried on any connection error.
 */
import { circuitBreaker, ConsecutiveBreaker, ExponentialBackoff, handleWhen, IPolicy, retry, timeout, TimeoutStrategy, wrap } from "cockatiel";

import type { Logger } from "./bus/logger";
import type { Executor } from "./executor/executor";
import type { Store } from "./store/store";

const NOT_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);
const CONNECTION_LOST = new Set(["ECONNRESET", "EPIPE", "ETIMEDOUT"]);

function codeOf(error: unknown): string | undefined {
    const code = (error as { code?: unknown } | null)?.code;
    return typeof code === "string" ? code : undefined;
}

/** The statement never reached the server: safe to send again, even a write. */
export function notSent(error: unknown): boolean {
    const code = codeOf(error);
    return (code !== undefined && NOT_SENT.has(code)) || /Connection terminated due to connection timeout|timeout exceeded when trying to connect/.test(String(error));
}

/** A read may be retried after any lost connection, and after Postgres' own "try again" codes. */
export function transientForRead(error: unknown): boolean {
    const code = codeOf(error);
    if (notSent(error) || (code !== undefined && CONNECTION_LOST.has(code))) {
        return true;
    }
    // 57P01 admin shutdown, 57P03 cannot connect now, 08xxx connection exceptions, 40001/40P01 serialization and deadlock.
    return code !== undefined && (/^08/.test(code) || ["57P01", "57P03", "40001", "40P01"].includes(code));
}

const READS = new Set<keyof Store>(["ping", "getCommand", "unfinishedCommands", "activeCommandFor", "logTail", "getEnvironment", "listEnvironments", "search", "auditLog", "pendingNotifications"]);
/** Writes that are idempotent by their SQL (ON CONFLICT, first outcome wins, replace): retried like reads. */
const IDEMPOTENT_WRITES = new Set<keyof Store>(["migrate", "claimCommand", "rejectCommand", "markRunning", "finishCommand", "putEnvironment", "setStatus", "setDrift", "removeNotification", "removeEnvironment", "replaceEnvironments"]);

export interface StoreResilienceOptions {
    attempts?: number;
    initialDelayMs?: number;
    maxDelayMs?: number;
    /** Consecutive failures that open the breaker. */
    breakerThreshold?: number;
    halfOpenAfterMs?: number;
    logger?: Logger;
}

/** The store with retries and a circuit breaker around every call (close is passed through). */
export function resilientStore(store: Store, options: StoreResilienceOptions = {}): Store {
    const backoff = new ExponentialBackoff({ initialDelay: options.initialDelayMs ?? 100, maxDelay: options.maxDelayMs ?? 2_000 });
    const breaker = circuitBreaker(
        handleWhen((e) => transientForRead(e)),
        { halfOpenAfter: options.halfOpenAfterMs ?? 5_000, breaker: new ConsecutiveBreaker(options.breakerThreshold ?? 5) },
    );
    const policyFor = (retryable: (e: unknown) => boolean): IPolicy => {
        const retries = retry(handleWhen(retryable), { maxAttempts: (options.attempts ?? 4) - 1, backoff });
        retries.onRetry((event) => options.logger?.warn({ attempt: event.attempt, delayMs: Math.round(event.delay), reason: "error" in event ? String(event.error) : "" }, "store: call failed, retrying"));
        return wrap(retries, breaker);
    };
    const forReads = policyFor(transientForRead);
    const forWrites = policyFor(notSent);
    return new Proxy(store, {
        get(target, property, receiver) {
            const value: unknown = Reflect.get(target, property, receiver);
            if (typeof value !== "function" || property === "close") {
                return value;
            }
            const name = property as keyof Store;
            const policy = READS.has(name) || IDEMPOTENT_WRITES.has(name) ? forReads : forWrites;
            return (...args: unknown[]) => policy.execute(() => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args));
        },
    });
}

export interface BackendResilienceOptions {
    /** One read of every stack may take this long. Default: 10 minutes. */
    timeoutMs?: number;
    attempts?: number;
    initialDelayMs?: number;
    logger?: Logger;
}

/**
 * The executor with its state backend reads (`readAll`) under a timeout,
 * retries and a breaker; drift checks under the timeout. Commands themselves (`execute`, `recover`) are not
 * retried here: a half-done update is recovered by the runner, not re-run blind.
 */
export function resilientBackendReads(executor: Executor, options: BackendResilienceOptions = {}): Executor {
    const retries = retry(handleWhen(() => true), {
        maxAttempts: (options.attempts ?? 3) - 1,
        backoff: new ExponentialBackoff({ initialDelay: options.initialDelayMs ?? 2_000, maxDelay: 30_000 }),
    });
    retries.onRetry((event) => options.logger?.warn({ attempt: event.attempt, reason: "error" in event ? String(event.error).split("\n")[0] : "" }, "state backend: read failed, retrying"));
    const breaker = circuitBreaker(handleWhen(() => true), { halfOpenAfter: 60_000, breaker: new ConsecutiveBreaker(3) });
    const policy = wrap(retries, breaker, timeout(options.timeoutMs ?? 600_000, TimeoutStrategy.Aggressive));
    const driftTimeout = timeout(options.timeoutMs ?? 600_000, TimeoutStrategy.Aggressive);
    return {
        execute: (command, hooks) => executor.execute(command, hooks),
        recover: (environment) => executor.recover(environment),
        readAll: () => policy.execute(() => executor.readAll()),
        // A timeout only: one environment's failure says nothing of the next one (no shared breaker), and
        // the next period checks again (no retry). The timeout's signal cancels the refresh itself.
        checkDrift: (environment, signal) =>
            driftTimeout.execute(({ signal: timedOut }) => executor.checkDrift(environment, signal ? AbortSignal.any([signal, timedOut]) : timedOut)),
    };
}
