/**
 * A stand-in for the Automation API executor, FOR TESTS AND THE BENCHMARK
 * ONLY: it deploys nothing. It sleeps a configurable time in steps,
 * reports progress and output as a real run would, honours the abort signal,
 * and makes up an environment record. It also counts what it ran (and how
 * many at once), which the queue's tests check.
 */
import type { Command } from "../commands/schema";
import type { EnvironmentRecordDocument } from "../store/store";
import type { DriftResult, ExecutionHooks, ExecutionResult, Executor } from "./executor";

export interface StandInOptions {
    /** How long one command takes. Default: 50 ms. */
    durationMs?: number;
    /** Progress steps (resources) reported along the way. Default: 4. */
    steps?: number;
    /** A failure to simulate for a command: the message the run throws with, or undefined to succeed. */
    failWith?: (command: Command) => string | undefined;
    /** Per-command duration, overriding durationMs (e.g. a long run for one environment). */
    durationFor?: (command: Command) => number | undefined;
    /** What a drift check of an environment finds (throw to simulate a failed check). Default: clean. */
    driftFor?: (environment: string) => DriftResult;
}

export interface StandInExecution {
    commandId: string;
    environment: string;
    type: Command["type"];
    startedAt: number;
    finishedAt?: number;
    outcome?: "succeeded" | "failed" | "aborted";
}

export class StandInError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "StandInError";
    }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
        if (signal.aborted) {
            reject(new StandInError("aborted"));
            return;
        }
        const onAbort = (): void => {
            clearTimeout(timer);
            reject(new StandInError("aborted"));
        };
        const timer = setTimeout(() => {
            signal.removeEventListener("abort", onAbort);
            resolve();
        }, ms);
        signal.addEventListener("abort", onAbort, { once: true });
    });
}

export class StandInExecutor implements Executor {
    readonly executions: StandInExecution[] = [];
    readonly recovered: string[] = [];
    private readonly records = new Map<string, EnvironmentRecordDocument>();
    private active = 0;
    /** The most executions that ever ran at once. */
    maxConcurrent = 0;

    constructor(private readonly options: StandInOptions = {}) {}

    /** Executions that ran (or run) for `commandId`: the tests' "ran once". */
    runsOf(commandId: string): number {
        return this.executions.filter((e) => e.commandId === commandId).length;
    }

    async execute(command: Command, hooks: ExecutionHooks): Promise<ExecutionResult> {
        const execution: StandInExecution = { commandId: command.commandId, environment: command.environment, type: command.type, startedAt: Date.now() };
        this.executions.push(execution);
        this.active++;
        this.maxConcurrent = Math.max(this.maxConcurrent, this.active);
        try {
            const steps = Math.max(1, this.options.steps ?? 4);
            const duration = this.options.durationFor?.(command) ?? this.options.durationMs ?? 50;
            hooks.onOutput([`stand-in: ${command.type} ${command.environment} (nothing is deployed)`]);
            for (let done = 1; done <= steps; done++) {
                await sleep(duration / steps, hooks.signal);
                hooks.onProgress(done, steps);
                hooks.onOutput([`stand-in: resource ${done} of ${steps}`]);
            }
            const failure = this.options.failWith?.(command);
            if (failure !== undefined) {
                throw new StandInError(failure);
            }
            execution.outcome = "succeeded";
            if (command.type === "environment.destroy") {
                this.records.delete(command.environment);
                return {};
            }
            const record = this.recordFor(command);
            this.records.set(command.environment, record);
            return { record };
        } catch (error) {
            execution.outcome = hooks.signal.aborted ? "aborted" : "failed";
            throw error;
        } finally {
            execution.finishedAt = Date.now();
            this.active--;
        }
    }

    async readAll(): Promise<{ name: string; template?: string; record?: EnvironmentRecordDocument }[]> {
        return [...this.records].map(([name, record]) => ({ name, template: record.templates?.[0]?.name, record }));
    }

    async recover(environment: string): Promise<void> {
        this.recovered.push(environment);
    }

    /** Environments checked for drift, in order. */
    readonly driftChecks: string[] = [];

    async checkDrift(environment: string): Promise<DriftResult> {
        this.driftChecks.push(environment);
        return this.options.driftFor?.(environment) ?? { state: "clean", resources: [] };
    }

    /** A made-up record in the shape of environments/record.schema.json. */
    private recordFor(command: Exclude<Command, { type: "environment.destroy" }>): EnvironmentRecordDocument {
        const previous = this.records.get(command.environment);
        const now = new Date().toISOString();
        const template = command.type === "environment.create" ? command.template : (previous?.templates?.[0]?.name ?? "review");
        return {
            schemaVersion: "1.0.0",
            id: `platform-gitops/${command.environment}`,
            name: command.environment,
            description: ("description" in command ? command.description : undefined) ?? previous?.description ?? command.environment,
            tags: { ...(previous?.tags ?? {}), ...(("tags" in command ? command.tags : undefined) ?? {}) },
            createdAt: previous?.createdAt ?? now,
            plannedDestructionAt: "plannedDestruction" in command ? command.plannedDestruction : (previous?.plannedDestructionAt ?? null),
            status: "deployed-ok",
            templates: [{ name: template, version: "stand-in", commit: "stand-in" }],
            entrypoints: [],
            statusEndpoints: [],
            resources: [{ id: "stand-in", template: "stand-in", count: 1, status: "deployed", links: { entrypoints: [], statusEndpoints: [] }, dependsOn: [] }],
        };
    }
}
