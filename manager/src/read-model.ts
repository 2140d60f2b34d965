/**
 * The read model against the source of truth: rebuilt from the state backend
 * at start, reconciled with it periodically (an environment changed or
 * removed outside the manager, by a merge request's pipeline or by hand,
 * shows up here), and, on a secondary, fed by the primary's notifications.
 */
import type { EnvironmentStatus, Notification } from "./commands/schema";
import type { Executor } from "./executor/executor";
import type { EnvironmentEntry, EnvironmentRecordDocument, Store } from "./store/store";

const STATUSES: readonly string[] = ["deploying", "deployed-validating", "deployed-ok", "deployed-fail", "destroying", "destroyed"];

/** The store's entry for an environment from its record (the stack's `environment` output). */
export function entryFromRecord(name: string, record: EnvironmentRecordDocument | undefined, now: Date, fallbackTemplate?: string): EnvironmentEntry {
    const status = record?.status && STATUSES.includes(record.status) ? (record.status as EnvironmentStatus) : "deployed-fail";
    return {
        name,
        template: record?.templates?.[0]?.name ?? fallbackTemplate ?? "unknown",
        status,
        description: record?.description ?? "",
        tags: record?.tags ?? {},
        createdAt: record?.createdAt,
        plannedDestructionAt: record?.plannedDestructionAt ?? undefined,
        updatedAt: now.toISOString(),
        record,
    };
}

/**
 * At start: an empty read model is built from what the backend holds; one
 * that has entries is reconciled with it instead, so what only the manager
 * knows survives a restart (a failed command's or a drift check's status,
 * environments destroyed). Returns the number of stacks in the backend.
 */
export async function rebuildReadModel(store: Store, executor: Executor, now: () => Date = () => new Date()): Promise<number> {
    const environments = await executor.readAll();
    if ((await store.listEnvironments({ limit: 1 })).length > 0) {
        await reconcileWith(store, environments, now);
    } else {
        await store.replaceEnvironments(environments.map((e) => entryFromRecord(e.name, e.record, now(), e.template)));
    }
    return environments.length;
}

/**
 * Brings the read model in line with the backend, leaving alone every
 * environment a command is working on (its status is the command's).
 * Returns the names whose entry changed.
 */
export async function reconcileReadModel(store: Store, executor: Executor, now: () => Date = () => new Date()): Promise<string[]> {
    return reconcileWith(store, await executor.readAll(), now);
}

async function reconcileWith(store: Store, inBackend: Awaited<ReturnType<Executor["readAll"]>>, now: () => Date): Promise<string[]> {
    const changed: string[] = [];
    const seen = new Set<string>();
    for (const e of inBackend) {
        seen.add(e.name);
        if (await store.activeCommandFor(e.name)) {
            continue;
        }
        const next = entryFromRecord(e.name, e.record, now(), e.template);
        const current = await store.getEnvironment(e.name);
        // The same record with another status is the manager's own knowledge (a failed command leaves the
        // last good outputs in the backend; a drift check's failure is not in them): kept. A new record is a
        // deployment outside the manager (a pipeline, by hand): it wins.
        if (!current || (current.status === "destroyed" && next.record) || JSON.stringify(current.record ?? null) !== JSON.stringify(next.record ?? null)) {
            await store.putEnvironment(next);
            changed.push(e.name);
        }
    }
    // Gone from the backend (destroyed outside the manager): kept, as destroyed, like the ones it destroys itself.
    for (const e of await store.listEnvironments({ limit: 100_000 })) {
        if (!seen.has(e.name) && e.status !== "destroyed" && !(await store.activeCommandFor(e.name))) {
            await store.setStatus(e.name, "destroyed", now());
            changed.push(e.name);
        }
    }
    return changed;
}

/** A secondary's store follows the primary's notifications: statuses as they change, records when a command completes. */
export async function applyNotification(store: Store, n: Notification): Promise<void> {
    if (!n.environment) {
        return;
    }
    const at = new Date(n.occurredAt);
    if (n.type === "environment.status" && n.status) {
        if (await store.getEnvironment(n.environment)) {
            await store.setStatus(n.environment, n.status, at);
        } else {
            await store.putEnvironment({ ...entryFromRecord(n.environment, undefined, at), status: n.status });
        }
    } else if (n.type === "environment.progress" && n.progress) {
        const current = await store.getEnvironment(n.environment);
        if (current) {
            await store.setStatus(n.environment, current.status, at, n.progress);
        }
    } else if (n.type === "command.completed" && n.record) {
        await store.putEnvironment(entryFromRecord(n.environment, n.record as EnvironmentRecordDocument, at));
    } else if (n.type === "environment.drift" && n.drift && (await store.getEnvironment(n.environment))) {
        await store.setDrift(n.environment, n.drift);
    }
}
