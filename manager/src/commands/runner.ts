/**
 * Runs validated, policy-checked commands: once per commandId, one at a time
 * per environment (in arrival order), at most `concurrency` at once.
 *
 * `submit` resolves only after the outcome is in the store (finishCommand
 * and the audit entry), so the consumer acks a message only once nothing can
 * be lost. A redelivery of a command that is running here waits for the same
 * outcome; one that finished is reported as a duplicate and not run again;
 * one left unfinished or abandoned by another manager is run again, after
 * the executor has cleared what the killed run left (executor.recover).
 *
 * Statuses, in the store and as notifications: create/update/extend go
 * deploying -> (progress) -> deployed-validating -> deployed-ok | deployed-fail;
 * destroy goes destroying -> destroyed (deployed-fail when it fails); then
 * command.completed or command.failed.
 */
import { credentialKindsIn } from "../../../environments/events";
import { buildNotification, type NotificationInput, type Notifier, type TraceContext } from "../bus/notifier";
import { Logger, messageOf, silentLogger } from "../bus/logger";
import type { Executor } from "../executor/executor";
import type { Metrics } from "../metrics";
import type { CommandEntry, EnvironmentRecordDocument, Store } from "../store/store";
import { validTraceparent } from "../trace";
import type { Command, EnvironmentStatus } from "./schema";

export type SubmitOutcome =
    /** Ran (here, now) to this end; recorded in the store. */
    | { kind: "finished"; state: "succeeded" | "failed"; reason?: string }
    /** Already finished before (a redelivery or a resend): not run again. */
    | { kind: "duplicate"; existing: CommandEntry }
    /** Stopped before its end (a graceful stop): recorded abandoned, for the next manager to run again; do not ack. */
    | { kind: "abandoned" };

export interface RunnerOptions {
    store: Store;
    executor: Executor;
    notifier: Notifier;
    /** Commands running at once. Default: 2. */
    concurrency?: number;
    logger?: Logger;
    /** Commands by type and outcome, and their durations (/metrics). */
    metrics?: Pick<Metrics, "countCommand" | "observeCommandDuration">;
    now?: () => Date;
    /**
     * Checks a deployed environment's record: a reason when it is not healthy.
     * Default: every resource of the record is deployed or rendered.
     */
    validate?: (record: EnvironmentRecordDocument | undefined, command: Command) => Promise<string | undefined>;
}

interface Job {
    command: Command;
    trace: TraceContext;
    /** Left by another manager (or by a stop): clear the backend's leftovers first. */
    recover: boolean;
    controller: AbortController;
    /** When it started running (Date.now()), for the duration metric. */
    startedAt?: number;
    done: Promise<SubmitOutcome>;
    resolve(outcome: SubmitOutcome): void;
}

/**
 * Runs of one command before it is given up: a command during which the
 * manager keeps dying (out of memory, a crash) would otherwise be run again
 * at every start, forever.
 */
export const MAX_ATTEMPTS = 3;

/** The longest reason kept or sent: the command's log has the rest. */
const MAX_REASON = 1_000;

/**
 * What a failure may say in the store and on the bus: its message, shortened,
 * or only that it failed when the message holds a credential.
 */
export function safeReason(error: unknown): string {
    const text = messageOf(error).trim() || "the executor failed without a message";
    const kinds = credentialKindsIn(text);
    if (kinds.length > 0) {
        return `the run failed; its message is not shown because it holds a credential (${kinds.join(", ")})`;
    }
    return text.length > MAX_REASON ? `${text.slice(0, MAX_REASON)}…` : text;
}

async function defaultValidate(record: EnvironmentRecordDocument | undefined): Promise<string | undefined> {
    if (!record) {
        return "the run returned no environment record";
    }
    const pending = (record.resources ?? []).filter((r) => r.status !== "deployed" && r.status !== "rendered").map((r) => r.id);
    return pending.length ? `resources not deployed: ${pending.join(", ")}` : undefined;
}

export class CommandRunner {
    private readonly store: Store;
    private readonly executor: Executor;
    private readonly notifier: Notifier;
    private readonly concurrency: number;
    private readonly logger: Logger;
    private readonly now: () => Date;
    private readonly metrics?: RunnerOptions["metrics"];
    private readonly validate: NonNullable<RunnerOptions["validate"]>;
    /** Every job not finished yet, by commandId (waiting or running). */
    private readonly jobs = new Map<string, Job>();
    /** Waiting jobs, in arrival order. */
    private readonly waitingJobs: Job[] = [];
    private readonly busy = new Set<string>();
    private runningCount = 0;
    private stopping = false;

    constructor(options: RunnerOptions) {
        this.store = options.store;
        this.executor = options.executor;
        this.notifier = options.notifier;
        this.concurrency = Math.max(1, options.concurrency ?? 2);
        this.logger = options.logger ?? silentLogger;
        this.now = options.now ?? (() => new Date());
        this.metrics = options.metrics;
        this.validate = options.validate ?? defaultValidate;
    }

    get running(): number {
        return this.runningCount;
    }

    get waiting(): number {
        return this.waitingJobs.length;
    }

    /** Takes a command (validated and policy-checked) and resolves once its outcome is recorded. */
    async submit(command: Command, trace: TraceContext = {}): Promise<SubmitOutcome> {
        const inFlight = this.jobs.get(command.commandId);
        if (inFlight) {
            // A redelivery while it runs here: the same outcome, one run.
            return inFlight.done;
        }
        if (this.stopping) {
            return { kind: "abandoned" };
        }
        // Registered before the first await, so a redelivery arriving meanwhile finds it.
        const job = this.newJob(command, trace, false);
        let claimed: Awaited<ReturnType<Store["claimCommand"]>>;
        try {
            claimed = await this.store.claimCommand(command, this.now());
        } catch (error) {
            this.jobs.delete(command.commandId);
            throw error;
        }
        if (claimed.kind === "duplicate") {
            const { existing } = claimed;
            const leftOver = existing.state === "accepted" || existing.state === "running" || existing.state === "abandoned";
            if (!leftOver) {
                const duplicate: SubmitOutcome = { kind: "duplicate", existing };
                this.metrics?.countCommand(command.type, "duplicate");
                job.resolve(duplicate);
                return duplicate;
            }
            // Not running here, yet not finished: a manager died or stopped in the middle; run it again, a few times at most.
            if ((existing.attempts ?? 0) >= MAX_ATTEMPTS) {
                const outcome = await this.giveUp(existing);
                job.resolve(outcome);
                this.jobs.delete(command.commandId);
                return outcome;
            }
            job.recover = true;
            this.logger.warn({ commandId: command.commandId, environment: command.environment, state: existing.state }, "runner: taking over a command another manager left unfinished");
        } else {
            this.metrics?.countCommand(command.type, "accepted");
            await this.notify({ type: "command.accepted", commandId: command.commandId, environment: command.environment }, trace);
        }
        this.enqueue(job);
        return job.done;
    }

    /**
     * At start: runs again the commands the store has left accepted or
     * running (a manager killed mid-command), oldest first. Resolves once they
     * are queued (not run); their messages, redelivered, wait for them.
     */
    async recoverUnfinished(): Promise<string[]> {
        const unfinished = await this.store.unfinishedCommands();
        const taken: string[] = [];
        for (const entry of unfinished) {
            if (this.jobs.has(entry.commandId) || this.stopping) {
                continue;
            }
            if ((entry.attempts ?? 0) >= MAX_ATTEMPTS) {
                await this.giveUp(entry);
                continue;
            }
            const job = this.newJob(entry.body, {}, true);
            this.enqueue(job);
            taken.push(entry.commandId);
        }
        if (taken.length) {
            this.logger.info({ commands: taken }, "runner: re-running commands left unfinished");
        }
        return taken;
    }

    /** Records a command that stopped the manager MAX_ATTEMPTS times as failed, without running it again. */
    private async giveUp(entry: CommandEntry): Promise<SubmitOutcome> {
        const reason = `given up after ${entry.attempts ?? 0} runs: the manager stopped during each (see the command's log)`;
        const at = this.now();
        await this.store.setStatus(entry.environment, "deployed-fail", at);
        await this.finishAndAnnounce(entry.commandId, "failed", reason, at, [
            { type: "environment.status", commandId: entry.commandId, environment: entry.environment, status: "deployed-fail" },
            { type: "command.failed", commandId: entry.commandId, environment: entry.environment, reason },
        ], {});
        await this.store.audit({ at: at.toISOString(), actor: entry.requestedBy, action: entry.type, environment: entry.environment, commandId: entry.commandId, outcome: "failed", detail: reason });
        this.metrics?.countCommand(entry.type, "failed");
        this.logger.error({ commandId: entry.commandId, environment: entry.environment, attempts: entry.attempts }, "runner: command given up");
        return { kind: "finished", state: "failed", reason };
    }

    /**
     * Graceful stop: no new commands; running ones are aborted and, like the
     * waiting ones, recorded `abandoned` so that the next manager runs them
     * again (their messages are not acked). Resolves when all are recorded.
     */
    async stop(): Promise<void> {
        this.stopping = true;
        const waiting = this.waitingJobs.splice(0);
        for (const job of waiting) {
            await this.abandon(job, "the manager stopped before the command started");
        }
        const running = [...this.jobs.values()];
        for (const job of running) {
            job.controller.abort();
        }
        await Promise.all(running.map((j) => j.done));
    }

    private newJob(command: Command, trace: TraceContext, recover: boolean): Job {
        let resolve: (outcome: SubmitOutcome) => void = () => undefined;
        const done = new Promise<SubmitOutcome>((r) => (resolve = r));
        const job: Job = {
            command,
            trace,
            recover,
            controller: new AbortController(),
            done,
            resolve: (outcome) => {
                // Gone from the map as soon as its outcome is known: a later redelivery is then a duplicate.
                if (this.jobs.get(command.commandId) === job) {
                    this.jobs.delete(command.commandId);
                }
                resolve(outcome);
            },
        };
        this.jobs.set(command.commandId, job);
        return job;
    }

    private enqueue(job: Job): void {
        if (this.stopping) {
            // Claimed while the stop began: the stop waits for this job too.
            void this.abandon(job, "the manager stopped before the command started");
            return;
        }
        this.waitingJobs.push(job);
        this.pump();
    }

    /** Starts the oldest waiting jobs whose environment is free, up to the bound. */
    private pump(): void {
        for (let i = 0; i < this.waitingJobs.length && this.runningCount < this.concurrency && !this.stopping; ) {
            const job = this.waitingJobs[i];
            if (this.busy.has(job.command.environment)) {
                i++;
                continue;
            }
            this.waitingJobs.splice(i, 1);
            this.busy.add(job.command.environment);
            this.runningCount++;
            void this.run(job)
                .catch((error: unknown) => {
                    // Only the store can fail here (the executor's errors are outcomes): leave the command unfinished for recovery.
                    this.logger.error({ commandId: job.command.commandId, reason: messageOf(error) }, "runner: could not record the command's outcome");
                    job.resolve({ kind: "abandoned" });
                })
                .finally(() => {
                    this.busy.delete(job.command.environment);
                    this.runningCount--;
                    this.pump();
                });
        }
    }

    private async run(job: Job): Promise<void> {
        job.startedAt = Date.now();
        const { command, trace } = job;
        this.logger.info({ commandId: command.commandId, type: command.type, environment: command.environment, actor: command.requestedBy, recover: job.recover }, "runner: command started");
        const { commandId, environment } = command;
        const destroy = command.type === "environment.destroy";
        if (job.recover) {
            await this.executor.recover(environment);
        }
        try {
            await this.store.markRunning(commandId, this.now());
        } catch (error) {
            const existing = job.recover ? await this.store.getCommand(commandId) : undefined;
            if (!existing || existing.state === "accepted" || existing.state === "running") {
                throw error;
            }
            // The store keeps this command's end (e.g. it does not run abandoned commands again): it has an outcome, so it is a duplicate.
            this.logger.warn({ commandId, state: existing.state, reason: messageOf(error) }, "runner: the store will not run this command again");
            job.resolve({ kind: "duplicate", existing });
            return;
        }
        const starting: EnvironmentStatus = destroy ? "destroying" : "deploying";
        if (command.type === "environment.create") {
            // The read model must know it before it exists in the backend (GET during its first run).
            const at = this.now().toISOString();
            await this.store.putEnvironment({
                name: environment,
                template: command.template,
                status: starting,
                description: command.description,
                tags: {},
                createdAt: at,
                plannedDestructionAt: command.plannedDestruction,
                updatedAt: at,
            });
        } else {
            await this.store.setStatus(environment, starting, this.now());
        }
        await this.status(job, starting);

        // Progress and output arrive as events; chained so they are written and sent in order, before the outcome.
        let chain: Promise<void> = Promise.resolve();
        const later = (work: () => Promise<unknown>): void => {
            chain = chain.then(work).then(
                () => undefined,
                (error: unknown) => this.logger.warn({ commandId, reason: messageOf(error) }, "runner: could not record progress"),
            );
        };
        let result: Awaited<ReturnType<Executor["execute"]>> | undefined;
        let failure: string | undefined;
        try {
            result = await this.executor.execute(command, {
                signal: job.controller.signal,
                onOutput: (lines) => later(() => this.store.appendLog(commandId, lines)),
                onProgress: (done, total) =>
                    later(async () => {
                        await this.store.setStatus(environment, starting, this.now(), { done, total });
                        await this.notify({ type: "environment.progress", commandId, environment, status: starting, progress: { done, total } }, trace);
                    }),
            });
        } catch (error) {
            failure = safeReason(error);
        }
        await chain;

        if (job.controller.signal.aborted) {
            await this.abandon(job, "the manager stopped during the command");
            return;
        }
        if (failure !== undefined) {
            await this.store.setStatus(environment, "deployed-fail", this.now());
            await this.status(job, "deployed-fail");
            await this.finish(job, "failed", failure, undefined);
            return;
        }
        if (destroy) {
            await this.store.setStatus(environment, "destroyed", this.now());
            await this.status(job, "destroyed");
            await this.finish(job, "succeeded", undefined, undefined);
            return;
        }
        await this.store.setStatus(environment, "deployed-validating", this.now());
        await this.status(job, "deployed-validating");
        let invalid: string | undefined;
        try {
            invalid = await this.validate(result?.record, command);
        } catch (error) {
            invalid = `validation could not run: ${safeReason(error)}`;
        }
        const final: EnvironmentStatus = invalid === undefined ? "deployed-ok" : "deployed-fail";
        const existing = await this.store.getEnvironment(environment);
        const record = result?.record;
        const at = this.now().toISOString();
        await this.store.putEnvironment({
            name: environment,
            template: existing?.template ?? (command.type === "environment.create" ? command.template : (record?.templates?.[0]?.name ?? "unknown")),
            status: final,
            description: record?.description ?? existing?.description ?? "",
            tags: record?.tags ?? existing?.tags ?? {},
            createdAt: record?.createdAt ?? existing?.createdAt,
            plannedDestructionAt: (record?.plannedDestructionAt ?? undefined) || existing?.plannedDestructionAt,
            updatedAt: at,
            ...(record ? { record } : {}),
        });
        await this.status(job, final);
        // A deployment that does not validate is a failed command: the environment is there, but not usable.
        await this.finish(job, invalid === undefined ? "succeeded" : "failed", invalid === undefined ? undefined : `deployed, but validation failed: ${invalid}`, record);
    }

    private async finish(job: Job, state: "succeeded" | "failed", reason: string | undefined, record: EnvironmentRecordDocument | undefined): Promise<void> {
        const { command, trace } = job;
        const at = this.now();
        await this.finishAndAnnounce(
            command.commandId,
            state,
            reason,
            at,
            [
                state === "succeeded"
                    ? { type: "command.completed", commandId: command.commandId, environment: command.environment, ...(record ? { record } : {}) }
                    : { type: "command.failed", commandId: command.commandId, environment: command.environment, reason },
            ],
            trace,
        );
        this.metrics?.countCommand(command.type, state);
        const seconds = job.startedAt === undefined ? undefined : (Date.now() - job.startedAt) / 1000;
        if (seconds !== undefined) {
            this.metrics?.observeCommandDuration(command.type, seconds);
        }
        this.logger.info({ commandId: command.commandId, type: command.type, environment: command.environment, outcome: state, seconds, reason }, "runner: command finished");
        await this.store.audit({
            at: at.toISOString(),
            actor: command.requestedBy,
            action: command.type,
            environment: command.environment,
            commandId: command.commandId,
            outcome: state,
            ...(reason ? { detail: reason } : {}),
        });
        job.resolve({ kind: "finished", state, ...(reason ? { reason } : {}) });
    }

    private async abandon(job: Job, reason: string): Promise<void> {
        const { command } = job;
        const at = this.now();
        try {
            await this.store.finishCommand(command.commandId, "abandoned", reason, at);
            this.metrics?.countCommand(command.type, "abandoned");
            await this.store.audit({ at: at.toISOString(), actor: command.requestedBy, action: command.type, environment: command.environment, commandId: command.commandId, outcome: "abandoned", detail: reason });
        } catch (error) {
            // Left accepted/running instead: recoverUnfinished takes it, which is what abandoned is for too.
            this.logger.warn({ commandId: command.commandId, reason: messageOf(error) }, "runner: could not record the command as abandoned");
        }
        job.resolve({ kind: "abandoned" });
    }

    /**
     * The outcome, and the notifications that announce it: with an outbox, in
     * the outcome's own transaction (a manager killed in between loses neither);
     * without one, sent after it.
     */
    private async finishAndAnnounce(commandId: string, state: "succeeded" | "failed", reason: string | undefined, at: Date, announce: NotificationInput[], trace: TraceContext): Promise<void> {
        const outbox = this.notifier.outbox;
        if (!outbox) {
            await this.store.finishCommand(commandId, state, reason, at);
            for (const input of announce) {
                await this.notify(input, trace);
            }
            return;
        }
        const traceparent = validTraceparent(trace.traceparent);
        await this.store.finishCommand(commandId, state, reason, at, announce.map((input) => ({ notification: buildNotification(input, at), ...(traceparent ? { traceparent } : {}) })));
        outbox.written();
    }

    private status(job: Job, status: EnvironmentStatus): Promise<void> {
        return this.notify({ type: "environment.status", commandId: job.command.commandId, environment: job.command.environment, status }, job.trace);
    }

    /** Notifications never decide a command's outcome: the store has it, and the REST API answers from there. */
    private async notify(input: Parameters<Notifier["notify"]>[0], trace: TraceContext): Promise<void> {
        try {
            await this.notifier.notify(input, trace);
        } catch (error) {
            this.logger.error({ type: input.type, commandId: input.commandId, reason: messageOf(error) }, "runner: could not send a notification");
        }
    }
}
