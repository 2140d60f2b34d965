/**
 * What runs a command against the state backend. The real one drives the
 * Pulumi Automation API on this repository's program (automation.ts); the
 * stand-in (stand-in.ts) only sleeps and makes up a record, for the queue's
 * tests and benchmark, never for a deployment.
 */
import type { Command } from "../commands/schema";
import type { DriftCheck, EnvironmentRecordDocument } from "../store/store";

export interface ExecutionHooks {
    /** Output lines of the run, as they come (kept as the command's log tail). */
    onOutput(lines: string[]): void;
    /** Resources done of total, when the engine knows. */
    onProgress(done: number, total: number): void;
    /** Aborted on a graceful stop: the executor cancels the update and rejects. */
    signal: AbortSignal;
}

export interface ExecutionResult {
    /** The environment record after the command; undefined after a destroy. */
    record?: EnvironmentRecordDocument;
}

/** What a drift check found (the store adds when). */
export type DriftResult = Omit<DriftCheck, "checkedAt">;

export interface Executor {
    execute(command: Command, hooks: ExecutionHooks): Promise<ExecutionResult>;
    /** Every environment the backend holds, with its record (the read model's rebuild at start). */
    readAll(): Promise<{ name: string; template?: string; record?: EnvironmentRecordDocument; error?: string }[]>;
    /** Clears what a killed run left behind (a stale update lock), before the command is retried. */
    recover(environment: string): Promise<void>;
    /** Reads the environment's live objects and compares them with its state, changing neither (no lock, no state write). */
    checkDrift(environment: string, signal?: AbortSignal): Promise<DriftResult>;
}
