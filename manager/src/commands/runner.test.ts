import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";

import { CREATE_NOTIFICATION_STEPS, newCreateCommand as create } from "../../test/helpers/commands";
import type { NotificationInput, Notifier } from "../bus/notifier";
import { buildNotification } from "../bus/notifier";
import { StandInExecutor } from "../executor/stand-in";
import { createMetrics } from "../metrics";
import type { AuditEntry, ClaimResult, CommandEntry, EnvironmentEntry, EnvironmentSummary, Store } from "../store/store";
import { CommandRunner, MAX_ATTEMPTS, safeReason } from "./runner";
import type { Command, EnvironmentStatus, Notification } from "./schema";

/** A small Store in memory: the parts the runner uses, with the SQL store's rules (claim once, first outcome wins). */
export class MemoryStore implements Store {
    readonly commands = new Map<string, CommandEntry>();
    readonly environments = new Map<string, EnvironmentEntry>();
    readonly audits: AuditEntry[] = [];
    readonly logs = new Map<string, string[]>();
    /** Lets an abandoned command run again (what the runner expects of a store). */
    constructor(private readonly rerunAbandoned = true) {}
    async migrate(): Promise<void> {}
    async close(): Promise<void> {}
    async ping(): Promise<void> {}
    async claimCommand(command: Command, at: Date): Promise<ClaimResult> {
        const existing = this.commands.get(command.commandId);
        if (existing) {
            return { kind: "duplicate", existing: { ...existing } };
        }
        this.commands.set(command.commandId, { commandId: command.commandId, type: command.type, environment: command.environment, requestedBy: command.requestedBy, state: "accepted", acceptedAt: at.toISOString(), body: command });
        return { kind: "new" };
    }
    async rejectCommand(c: { commandId: string; body: unknown }, reason: string, at: Date): Promise<void> {
        if (!this.commands.has(c.commandId)) {
            this.commands.set(c.commandId, { commandId: c.commandId, type: "environment.create", environment: "", requestedBy: "", state: "rejected", reason, acceptedAt: at.toISOString(), body: c.body as Command });
        }
    }
    async markRunning(commandId: string, at: Date): Promise<void> {
        const entry = this.commands.get(commandId);
        const runnable = ["accepted", "running", ...(this.rerunAbandoned ? ["abandoned"] : [])];
        if (!entry || !runnable.includes(entry.state)) {
            throw new Error(`command ${commandId} cannot run`);
        }
        Object.assign(entry, { state: "running", startedAt: at.toISOString(), attempts: (entry.attempts ?? 0) + 1 });
    }
    async finishCommand(commandId: string, state: "succeeded" | "failed" | "abandoned", reason: string | undefined, at: Date): Promise<void> {
        const entry = this.commands.get(commandId);
        // As the SQL store: the first outcome wins, and abandoned is not an outcome.
        const open = ["accepted", "running", ...(this.rerunAbandoned ? ["abandoned"] : [])];
        if (entry && open.includes(entry.state)) {
            Object.assign(entry, { state, reason, finishedAt: at.toISOString() });
        }
    }
    async getCommand(commandId: string): Promise<CommandEntry | undefined> {
        return this.commands.get(commandId);
    }
    async unfinishedCommands(): Promise<CommandEntry[]> {
        return [...this.commands.values()].filter((c) => c.state === "accepted" || c.state === "running");
    }
    async activeCommandFor(environment: string): Promise<CommandEntry | undefined> {
        return [...this.commands.values()].find((c) => c.environment === environment && (c.state === "accepted" || c.state === "running"));
    }
    async appendLog(commandId: string, lines: string[]): Promise<void> {
        this.logs.set(commandId, [...(this.logs.get(commandId) ?? []), ...lines].slice(-500));
    }
    async logTail(commandId: string, lines: number): Promise<string[]> {
        return (this.logs.get(commandId) ?? []).slice(-lines);
    }
    async putEnvironment(entry: EnvironmentEntry): Promise<void> {
        this.environments.set(entry.name, { ...entry });
    }
    async setStatus(name: string, status: EnvironmentStatus, at: Date, progress?: { done: number; total: number }): Promise<void> {
        const entry = this.environments.get(name) ?? { name, template: "unknown", status, description: "", tags: {}, updatedAt: at.toISOString() };
        this.environments.set(name, { ...entry, status, updatedAt: at.toISOString(), ...(progress ? { progress } : {}) });
    }
    async setDrift(): Promise<void> {}
    async recordDrift(): Promise<boolean> {
        return false;
    }
    async enqueueNotification(): Promise<void> {}
    async pendingNotifications(): Promise<never[]> {
        return [];
    }
    async removeNotification(): Promise<void> {}
    async removeEnvironment(name: string): Promise<void> {
        this.environments.delete(name);
    }
    async getEnvironment(name: string): Promise<EnvironmentEntry | undefined> {
        return this.environments.get(name);
    }
    async listEnvironments(): Promise<EnvironmentSummary[]> {
        return [...this.environments.values()];
    }
    async search(): Promise<{ environment: EnvironmentSummary; matches: string[] }[]> {
        return [];
    }
    async replaceEnvironments(entries: EnvironmentEntry[]): Promise<void> {
        this.environments.clear();
        entries.forEach((e) => this.environments.set(e.name, e));
    }
    async audit(entry: AuditEntry): Promise<void> {
        this.audits.push(entry);
    }
    async auditLog(filter: { environment?: string; limit: number }): Promise<AuditEntry[]> {
        return this.audits.filter((a) => !filter.environment || a.environment === filter.environment).slice(-filter.limit);
    }
}

/** Keeps what would be published, with the trace header it would carry. */
export class MemoryNotifier implements Notifier {
    readonly sent: (Notification & { traceparent?: string })[] = [];
    async notify(input: NotificationInput, trace: { traceparent?: string } = {}): Promise<Notification> {
        const n = buildNotification(input);
        this.sent.push({ ...n, ...(trace.traceparent ? { traceparent: trace.traceparent } : {}) });
        return n;
    }
    async close(): Promise<void> {}
    of(commandId: string): string[] {
        return this.sent.filter((n) => n.commandId === commandId).map((n) => (n.type === "environment.status" ? `status:${n.status}` : n.type));
    }
}

function destroy(environment: string): Command {
    return { commandId: randomUUID(), type: "environment.destroy", environment, requestedBy: "bob" };
}

function setup(options: { durationMs?: number; concurrency?: number; failWith?: (c: Command) => string | undefined; durationFor?: (c: Command) => number | undefined } = {}) {
    const store = new MemoryStore();
    const notifier = new MemoryNotifier();
    const executor = new StandInExecutor({ durationMs: options.durationMs ?? 20, steps: 2, failWith: options.failWith, durationFor: options.durationFor });
    const runner = new CommandRunner({ store, notifier, executor, concurrency: options.concurrency ?? 2 });
    return { store, notifier, executor, runner };
}

const TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

describe("CommandRunner", () => {
    it("runs a create through its statuses, records the outcome and audits it before resolving", async () => {
        const { store, notifier, runner } = setup();
        const c = create();
        const outcome = await runner.submit(c, { traceparent: TRACE });
        expect(outcome).toEqual({ kind: "finished", state: "succeeded" });
        expect(notifier.of(c.commandId)).toEqual(CREATE_NOTIFICATION_STEPS);
        expect(notifier.sent.every((n) => n.traceparent === TRACE)).toBe(true);
        expect(notifier.sent.at(-1)?.record).toMatchObject({ name: "review-1" });
        expect(store.commands.get(c.commandId)?.state).toBe("succeeded");
        expect(store.environments.get("review-1")).toMatchObject({ status: "deployed-ok", template: "review" });
        expect(store.audits).toEqual([expect.objectContaining({ actor: "alice@example.com", action: "environment.create", environment: "review-1", commandId: c.commandId, outcome: "succeeded" })]);
        expect(store.logs.get(c.commandId)?.[0]).toMatch(/stand-in/);
    });

    it("destroys through destroying -> destroyed", async () => {
        const { notifier, runner, store } = setup();
        await runner.submit(create());
        const d = destroy("review-1");
        expect(await runner.submit(d)).toEqual({ kind: "finished", state: "succeeded" });
        expect(notifier.of(d.commandId).filter((t) => t.startsWith("status:") || t.startsWith("command."))).toEqual(["command.accepted", "status:destroying", "status:destroyed", "command.completed"]);
        expect(store.environments.get("review-1")?.status).toBe("destroyed");
    });

    it("turns an executor error into a failed command, without a credential in the reason", async () => {
        const { notifier, runner, store } = setup({ failWith: (c) => (c.environment === "review-2" ? "connect to postgres://admin:hunter2@db:5432 failed" : "quota exceeded") });
        const a = create("review-2");
        const b = create("review-3");
        const [ra, rb] = await Promise.all([runner.submit(a), runner.submit(b)]);
        expect(ra).toEqual({ kind: "finished", state: "failed", reason: expect.stringMatching(/holds a credential \(URL with a password\)/) });
        expect(JSON.stringify(store.commands.get(a.commandId))).not.toContain("hunter2");
        expect(JSON.stringify(notifier.sent)).not.toContain("hunter2");
        expect(rb).toEqual({ kind: "finished", state: "failed", reason: "quota exceeded" });
        expect(notifier.of(b.commandId).slice(-2)).toEqual(["status:deployed-fail", "command.failed"]);
        expect(store.audits.find((x) => x.commandId === b.commandId)).toMatchObject({ outcome: "failed", detail: "quota exceeded" });
        expect(safeReason(new Error("x".repeat(2000))).length).toBeLessThan(1010);
    });

    it("counts commands by type and outcome, and times the ones that ran, on the real metrics registry", async () => {
        const metrics = createMetrics();
        const store = new MemoryStore();
        const runner = new CommandRunner({ store, notifier: new MemoryNotifier(), executor: new StandInExecutor({ durationMs: 10, steps: 1, failWith: (c) => (c.environment === "review-f" ? "boom" : undefined) }), metrics });
        const ok = create("review-m");
        await runner.submit(ok);
        await runner.submit({ ...ok });
        await runner.submit(create("review-f"));
        const text = (await metrics.render()).body;
        expect(text).toContain('platform_manager_commands_total{type="environment.create",outcome="accepted"} 2');
        expect(text).toContain('platform_manager_commands_total{type="environment.create",outcome="succeeded"} 1');
        expect(text).toContain('platform_manager_commands_total{type="environment.create",outcome="failed"} 1');
        expect(text).toContain('platform_manager_commands_total{type="environment.create",outcome="duplicate"} 1');
        expect(text).toContain('platform_manager_command_duration_seconds_count{type="environment.create"} 2');
    });

    it("runs a command id once: a second submit while it runs shares the outcome, one after it is a duplicate", async () => {
        const { executor, runner } = setup({ durationMs: 60 });
        const c = create();
        const [first, second] = await Promise.all([runner.submit(c), runner.submit({ ...c })]);
        expect(first).toEqual({ kind: "finished", state: "succeeded" });
        expect(second).toBe(first);
        const third = await runner.submit({ ...c });
        expect(third).toMatchObject({ kind: "duplicate", existing: { state: "succeeded" } });
        expect(executor.runsOf(c.commandId)).toBe(1);
    });

    it("runs one command per environment at a time, in arrival order, and at most N at once", async () => {
        const { executor, runner } = setup({ durationMs: 40, concurrency: 2 });
        const commands = [create("review-a"), create("review-a", { type: "environment.update", description: "u1" } as Partial<Command>), create("review-b"), create("review-c"), create("review-a", { type: "environment.update", description: "u2" } as Partial<Command>)].map((c) =>
            c.type === "environment.update" ? ({ commandId: c.commandId, type: c.type, environment: c.environment, requestedBy: c.requestedBy, description: c.description } as Command) : c,
        );
        const outcomes = await Promise.all(commands.map((c) => runner.submit(c)));
        expect(outcomes.every((o) => o.kind === "finished" && o.state === "succeeded")).toBe(true);
        const onA = executor.executions.filter((e) => e.environment === "review-a");
        expect(onA.map((e) => e.commandId)).toEqual([commands[0], commands[1], commands[4]].map((c) => c.commandId));
        for (let i = 1; i < onA.length; i++) {
            expect(onA[i].startedAt).toBeGreaterThanOrEqual(onA[i - 1].finishedAt ?? Infinity);
        }
        expect(executor.maxConcurrent).toBe(2);
    });

    it("gives up a command the manager stopped during MAX_ATTEMPTS times: failed, never run again, at start or on redelivery", async () => {
        const { store, notifier, executor, runner } = setup();
        const left = create("review-poison");
        const redelivered = create("review-poison-2");
        for (const c of [left, redelivered]) {
            await store.claimCommand(c, new Date());
            for (let i = 0; i < MAX_ATTEMPTS; i++) {
                await store.markRunning(c.commandId, new Date());
            }
        }
        await store.finishCommand(redelivered.commandId, "abandoned", "stopped", new Date());
        expect(await runner.recoverUnfinished()).toEqual([]);
        expect(store.commands.get(left.commandId)).toMatchObject({ state: "failed", reason: expect.stringMatching(/^given up after 3 runs/) });
        expect(notifier.of(left.commandId)).toEqual(["status:deployed-fail", "command.failed"]);
        expect(await runner.submit({ ...redelivered })).toMatchObject({ kind: "finished", state: "failed" });
        expect(executor.runsOf(left.commandId) + executor.runsOf(redelivered.commandId)).toBe(0);
        expect(store.audits.map((a) => a.outcome)).toEqual(["failed", "failed"]);
    });

    it("stop() aborts running commands and records them (and waiting ones) abandoned; the next runner re-runs them", async () => {
        const { store, executor, runner, notifier } = setup({ durationMs: 5_000, concurrency: 1 });
        const a = create("review-a");
        const b = create("review-b");
        const pa = runner.submit(a);
        const pb = runner.submit(b);
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(runner.running).toBe(1);
        expect(runner.waiting).toBe(1);
        const started = Date.now();
        await runner.stop();
        expect(Date.now() - started).toBeLessThan(1_000);
        expect(await pa).toEqual({ kind: "abandoned" });
        expect(await pb).toEqual({ kind: "abandoned" });
        expect(store.commands.get(a.commandId)?.state).toBe("abandoned");
        expect(store.commands.get(b.commandId)?.state).toBe("abandoned");
        expect(executor.executions[0].outcome).toBe("aborted");
        expect(await runner.submit(create())).toEqual({ kind: "abandoned" });

        // The redelivery reaches the next manager: it recovers the environment first, then runs it.
        const next = new CommandRunner({ store, notifier, executor: new StandInExecutor({ durationMs: 10 }), concurrency: 1 });
        expect(await next.submit(a)).toEqual({ kind: "finished", state: "succeeded" });
        expect(store.commands.get(a.commandId)?.state).toBe("succeeded");
    });

    it("a store that keeps abandoned as final: the redelivery is a duplicate, not a second run", async () => {
        const store = new MemoryStore(false);
        const notifier = new MemoryNotifier();
        const c = create();
        await store.claimCommand(c, new Date());
        await store.finishCommand(c.commandId, "abandoned", "stopped", new Date());
        const executor = new StandInExecutor({ durationMs: 10 });
        const runner = new CommandRunner({ store, notifier, executor });
        expect(await runner.submit(c)).toMatchObject({ kind: "duplicate", existing: { state: "abandoned" } });
        expect(executor.executions).toHaveLength(0);
    });

    it("recoverUnfinished() re-runs commands left accepted or running, after executor.recover", async () => {
        const store = new MemoryStore();
        const notifier = new MemoryNotifier();
        const a = create("review-a");
        const b = create("review-b");
        await store.claimCommand(a, new Date());
        await store.markRunning(a.commandId, new Date());
        await store.claimCommand(b, new Date());
        const executor = new StandInExecutor({ durationMs: 10 });
        const runner = new CommandRunner({ store, notifier, executor });
        expect(await runner.recoverUnfinished()).toEqual([a.commandId, b.commandId]);
        // Their redeliveries wait for the same runs.
        expect(await runner.submit(a)).toEqual({ kind: "finished", state: "succeeded" });
        expect(await runner.submit(b)).toEqual({ kind: "finished", state: "succeeded" });
        expect(executor.recovered).toEqual(["review-a", "review-b"]);
        expect(executor.runsOf(a.commandId)).toBe(1);
        expect(store.commands.get(b.commandId)?.state).toBe("succeeded");
    });

    it("marks a deployment whose record does not validate deployed-fail and the command failed", async () => {
        const store = new MemoryStore();
        const notifier = new MemoryNotifier();
        const runner = new CommandRunner({ store, notifier, executor: new StandInExecutor({ durationMs: 5 }), validate: async () => "kafka is not answering" });
        const c = create();
        expect(await runner.submit(c)).toEqual({ kind: "finished", state: "failed", reason: "deployed, but validation failed: kafka is not answering" });
        expect(notifier.of(c.commandId).slice(-3)).toEqual(["status:deployed-validating", "status:deployed-fail", "command.failed"]);
        expect(store.environments.get("review-1")?.status).toBe("deployed-fail");
    });
});
