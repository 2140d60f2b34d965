/**
 * The periodic drift check: each deployed environment's live objects are read
 * and compared with its state (`pulumi refresh --preview-only`, which writes
 * nothing and takes no lock), one environment at a time, by the manager that
 * executes commands (the leader), never by a secondary.
 *
 * What it changes is the read model and the bus, never the environment:
 * - drift on a deployed-ok environment makes it deployed-fail, with the
 *   drifted resources as the reason (a deployment that no longer matches its
 *   code has failed validation); repairing it is a command (update), or the
 *   merge request's pipeline;
 * - a clean check of an environment that was deployed-fail only because of
 *   drift makes it deployed-ok again;
 * - any other failure (a failed command) is left as it is: a clean refresh
 *   does not make a failed deployment good.
 * Every check is kept on the environment (`drift`: when, what, which
 * resources) and announced (`environment.drift`), so a secondary has it too.
 */
import type { Notifier } from "./bus/notifier";
import type { Executor } from "./executor/executor";
import { type Logger, messageOf } from "./bus/logger";
import type { Metrics } from "./metrics";
import { safeReason } from "./commands/runner";
import type { DriftCheck, EnvironmentEntry, Store } from "./store/store";

export interface DriftCheckOptions {
    store: Store;
    executor: Executor;
    notifier: Notifier;
    logger: Logger;
    now?: () => Date;
    /** Aborted on a graceful stop or a lost lease: the running check is cancelled, the rest skipped. */
    signal?: AbortSignal;
    metrics?: Pick<Metrics, "countDriftCheck" | "setDriftedEnvironments">;
}

export interface DriftCheckSummary {
    checked: string[];
    drifted: string[];
    /** Environments whose status the checks changed. */
    statusChanged: string[];
    failed: string[];
}

/** Only what was deployed has live objects to compare; deploying/destroying ones belong to a command. */
const CHECKED_STATUSES = new Set(["deployed-ok", "deployed-fail"]);

/** The reason a drifted environment is deployed-fail: each resource, what changed. Never a value, only property paths. */
export function driftReason(drift: Pick<DriftCheck, "resources">): string {
    const listed = drift.resources
        .slice(0, 10)
        .map((r) => `${r.name} (${r.type}) ${r.change === "deleted" ? "deleted" : `changed${r.paths.length > 0 ? `: ${r.paths.join(", ")}` : ""}`}`);
    const more = drift.resources.length > 10 ? `; and ${drift.resources.length - 10} more` : "";
    return `drift: ${drift.resources.length} resource(s) changed outside code: ${listed.join("; ")}${more}`;
}

export async function checkDriftOfAll(options: DriftCheckOptions): Promise<DriftCheckSummary> {
    const { store } = options;
    const now = options.now ?? (() => new Date());
    const summary: DriftCheckSummary = { checked: [], drifted: [], statusChanged: [], failed: [] };
    const names = (await store.listEnvironments({ limit: 100_000 })).filter((e) => CHECKED_STATUSES.has(e.status)).map((e) => e.name);
    for (const name of names) {
        if (options.signal?.aborted) {
            break;
        }
        // Read again: a long run's list is old by the time an environment's turn comes.
        const before = await store.getEnvironment(name);
        if (!before || !CHECKED_STATUSES.has(before.status) || (await store.activeCommandFor(name))) {
            continue; // gone, or a command is changing it: its outcome is the status
        }
        await checkOne(options, before, now, summary);
    }
    if (!options.signal?.aborted) {
        const all = await store.listEnvironments({ limit: 100_000 });
        options.metrics?.setDriftedEnvironments(all.filter((e) => e.drift?.state === "drifted" && CHECKED_STATUSES.has(e.status)).length);
    }
    return summary;
}

/** Why a check failed, in one line: pulumi's `error:` line rather than its exit code, and never a credential. */
export function driftErrorReason(error: unknown): string {
    const lines = messageOf(error)
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l !== "");
    // A pulumi CommandError reads "code: 255", "stdout: ...", "stderr: error: <what went wrong>".
    const errorLine = lines.map((l) => /(?:^|\s)error: (.+)$/i.exec(l)?.[1]).find((l) => l !== undefined);
    const line = errorLine ?? lines.find((l) => !/^(code: -?\d+|stdout:|stderr:)$/i.test(l)) ?? "the drift check failed without a message";
    return safeReason(new Error(line));
}

async function checkOne(options: DriftCheckOptions, before: EnvironmentEntry, now: () => Date, summary: DriftCheckSummary): Promise<void> {
    const { store, executor, logger } = options;
    let drift: DriftCheck;
    try {
        const found = await executor.checkDrift(before.name, options.signal);
        drift = { ...found, checkedAt: now().toISOString() };
    } catch (error) {
        if (options.signal?.aborted) {
            return;
        }
        drift = { state: "error", resources: [], reason: driftErrorReason(error), checkedAt: now().toISOString() };
    }
    if (options.signal?.aborted) {
        return; // stopped, or no longer leading: another manager decides now
    }
    // The status is still the one an earlier check set (nothing wrote it since): that failure is the drift's.
    const failedByDrift = before.status === "deployed-fail" && before.drift?.failedAt !== undefined && before.drift.failedAt === before.updatedAt;
    let status: "deployed-ok" | "deployed-fail" | undefined;
    let reason: string | undefined;
    const at = now();
    if (drift.state === "drifted") {
        reason = driftReason(drift);
        if (before.status === "deployed-ok") {
            status = "deployed-fail";
            drift.failedAt = at.toISOString();
        } else if (failedByDrift) {
            drift.failedAt = before.drift?.failedAt;
        }
    } else if (drift.state === "clean" && failedByDrift) {
        status = "deployed-ok";
        reason = "drift: none left (repaired outside the manager)";
    } else if (failedByDrift) {
        // error or unchecked: nothing new is known, the drift's failure stands (and can still be undone).
        drift.failedAt = before.drift?.failedAt;
    }
    // One statement, only if nothing (a command) changed the environment while the check ran.
    if (!(await store.recordDrift(before.name, { updatedAt: before.updatedAt, status: before.status }, drift, status, at))) {
        return;
    }
    summary.checked.push(before.name);
    options.metrics?.countDriftCheck(drift.state);
    if (drift.state === "drifted") {
        summary.drifted.push(before.name);
        logger.warn({ environment: before.name, resources: drift.resources.length }, "drift found");
    } else if (drift.state === "error") {
        summary.failed.push(before.name);
        logger.warn({ environment: before.name, reason: drift.reason }, "drift check failed");
    }
    if (status) {
        summary.statusChanged.push(before.name);
    }
    // Notifications never decide anything here: the store has the check.
    try {
        if (status) {
            await options.notifier.notify({ type: "environment.status", environment: before.name, status, reason });
        }
        await options.notifier.notify({ type: "environment.drift", environment: before.name, drift, reason });
    } catch (error) {
        logger.error({ environment: before.name, reason: messageOf(error) }, "drift check: could not send a notification");
    }
}

/** Runs the check every `intervalSeconds` until stopped; one run at a time (a slow run delays the next, never overlaps it). */
export function scheduleDriftChecks(options: Omit<DriftCheckOptions, "signal"> & { intervalSeconds: number }): { stop(): Promise<void> } {
    const controller = new AbortController();
    let running: Promise<unknown> = Promise.resolve();
    let timer: NodeJS.Timeout | undefined;
    const tick = () => {
        running = checkDriftOfAll({ ...options, signal: controller.signal })
            .then((s) => options.logger.info({ checked: s.checked.length, drifted: s.drifted, failed: s.failed }, "drift check done"))
            .catch((e: unknown) => options.logger.error({ reason: messageOf(e) }, "drift check could not run"))
            .finally(() => {
                if (!controller.signal.aborted) {
                    timer = setTimeout(tick, options.intervalSeconds * 1000);
                    timer.unref();
                }
            });
    };
    timer = setTimeout(tick, options.intervalSeconds * 1000);
    timer.unref();
    return {
        async stop() {
            controller.abort();
            clearTimeout(timer);
            await running;
        },
    };
}
