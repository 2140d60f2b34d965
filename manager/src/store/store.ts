/**
 * The manager's read model and command journal. The state backend stays the
 * source of truth for environments; this store is what the REST API reads
 * (rebuilt from the backend at start, updated after every command), and the
 * durable record of every command the manager has taken (idempotency, audit,
 * log tail).
 *
 * One implementation, two connections: a Postgres server through `pg`, or an
 * embedded Postgres (PGlite) in the manager's own process for the local
 * default. Both run the same SQL (sql.ts).
 */
import type { Command, CommandState, EnvironmentStatus, Notification } from "../commands/schema";

/** What the REST API lists: the record's header, without its resources. */
export interface EnvironmentSummary {
    name: string;
    template: string;
    status: EnvironmentStatus;
    description: string;
    tags: Record<string, string>;
    createdAt?: string;
    plannedDestructionAt?: string;
    /** Resources done of total while a command runs. */
    progress?: { done: number; total: number };
    /** The last drift check (none yet for a new environment). */
    drift?: DriftCheck;
    updatedAt: string;
}

/** A notification for the outbox, with the trace context it carries. */
export interface OutboxInput {
    notification: Notification;
    traceparent?: string;
}

/** A notification waiting in the outbox; `seq` orders them (a bigint, as text). */
export interface OutboxEntry extends OutboxInput {
    seq: string;
}

/** One resource whose live object no longer matches the state. */
export interface DriftedResourceEntry {
    urn: string;
    type: string;
    name: string;
    /** changed: a property differs; deleted: the object is gone. */
    change: "changed" | "deleted";
    /** The changed property paths, when the provider says. */
    paths: string[];
}

/** The last drift check of an environment: its live objects read and compared with the state (`pulumi refresh --preview-only`, which changes nothing). */
export interface DriftCheck {
    checkedAt: string;
    /**
     * clean: everything matches; drifted: resources changed outside code;
     * unchecked: nothing live to compare (an environment rendered to files);
     * error: the check failed (`reason`), the status is left as it was.
     */
    state: "clean" | "drifted" | "unchecked" | "error";
    resources: DriftedResourceEntry[];
    reason?: string;
    /** When a drift check made the environment deployed-fail (kept while it stays drifted): only that failure is undone by a clean check. */
    failedAt?: string;
}

/** One environment in full: the summary and its record (the stack's `environment` output), when it has one. */
export interface EnvironmentEntry extends EnvironmentSummary {
    record?: EnvironmentRecordDocument;
}

/** The parts of a record the store reads; the rest is kept as given. */
export interface EnvironmentRecordDocument {
    id?: string;
    name?: string;
    description?: string;
    tags?: Record<string, string>;
    createdAt?: string;
    plannedDestructionAt?: string | null;
    status?: string;
    templates?: { name: string; version?: string; commit?: string }[];
    resources?: ResourceRecordDocument[];
    [key: string]: unknown;
}

export interface ResourceRecordDocument {
    id: string;
    template?: string;
    count?: number;
    status?: string;
    links?: { entrypoints?: string[]; statusEndpoints?: string[] };
    dependsOn?: string[];
    [key: string]: unknown;
}

export interface EnvironmentFilter {
    status?: EnvironmentStatus;
    template?: string;
    /** `key` or `key=value`. */
    tag?: { key: string; value?: string };
    limit?: number;
    offset?: number;
}

export interface CommandEntry {
    commandId: string;
    type: Command["type"];
    environment: string;
    requestedBy: string;
    state: CommandState;
    /** Why it was rejected or failed. */
    reason?: string;
    acceptedAt: string;
    /** Runs started so far (every markRunning): a command that keeps stopping the manager is given up. Absent: 0. */
    attempts?: number;
    startedAt?: string;
    finishedAt?: string;
    /** The command as it arrived (validated). */
    body: Command;
}

export interface AuditEntry {
    at: string;
    actor: string;
    action: string;
    environment?: string;
    commandId?: string;
    outcome: string;
    detail?: string;
}

export type ClaimResult =
    /** Recorded now: the caller runs it. */
    | { kind: "new" }
    /** Already seen (a redelivery or a resend): the caller must not run it again. */
    | { kind: "duplicate"; existing: CommandEntry };

export interface Store {
    /** Creates or upgrades the schema (idempotent, safe for two managers at once). */
    migrate(): Promise<void>;
    close(): Promise<void>;
    /** A cheap round trip, for readiness. */
    ping(): Promise<void>;

    /** Records a command as accepted, once per commandId. */
    claimCommand(command: Command, at: Date): Promise<ClaimResult>;
    /**
     * Records a rejected command (it is never run). Idempotent on commandId: the
     * first reason stays; a command claimed but not started yet becomes rejected;
     * a running or finished one is left as it is.
     */
    rejectCommand(command: { commandId: string; type?: string; environment?: string; requestedBy?: string; body: unknown }, reason: string, at: Date): Promise<void>;
    /** Throws when the command was never claimed or has finished already. */
    markRunning(commandId: string, at: Date): Promise<void>;
    /** The first outcome wins (finishing again changes nothing); throws when the command was never claimed. */
    /** Records the outcome (the first one wins) and, in the same transaction, adds `announce` to the notification outbox. */
    finishCommand(commandId: string, state: "succeeded" | "failed" | "abandoned", reason: string | undefined, at: Date, announce?: OutboxInput[]): Promise<void>;
    getCommand(commandId: string): Promise<CommandEntry | undefined>;
    /** Commands left `accepted`, `running` or `abandoned` (a manager stopped or killed mid-command), oldest first: the next manager runs them again. */
    unfinishedCommands(): Promise<CommandEntry[]>;
    /** The command running or waiting for `environment`, if any (409 on the REST path). */
    activeCommandFor(environment: string): Promise<CommandEntry | undefined>;
    /** Appends output lines of a command (kept bounded: the newest lines win). */
    appendLog(commandId: string, lines: string[]): Promise<void>;
    logTail(commandId: string, lines: number): Promise<string[]>;

    /** Writes an environment's summary (and record, when given), replacing what was there. */
    putEnvironment(entry: EnvironmentEntry): Promise<void>;
    /** Also sets or clears (when not given) the progress; does nothing for an environment the store does not have. */
    setStatus(name: string, status: EnvironmentStatus, at: Date, progress?: { done: number; total: number }): Promise<void>;
    /** Adds a notification to the outbox (published in order by the outbox's publisher, then removed). */
    enqueueNotification(notification: Notification, traceparent: string | undefined, at: Date): Promise<void>;
    /** The oldest notifications not published yet. */
    pendingNotifications(limit: number): Promise<OutboxEntry[]>;
    removeNotification(seq: string): Promise<void>;
    /**
     * Keeps a drift check's result (and sets `status` at `at`, when given) in one
     * statement, only if the environment is still as `expected` and no command
     * is on it; false when something overtook the check.
     */
    recordDrift(name: string, expected: { updatedAt: string; status: EnvironmentStatus }, drift: DriftCheck, status: EnvironmentStatus | undefined, at: Date): Promise<boolean>;
    /** Keeps an environment's last drift check (a later putEnvironment leaves it as it is). */
    setDrift(name: string, drift: DriftCheck): Promise<void>;
    removeEnvironment(name: string): Promise<void>;
    getEnvironment(name: string): Promise<EnvironmentEntry | undefined>;
    listEnvironments(filter: EnvironmentFilter): Promise<EnvironmentSummary[]>;
    /**
     * Names, descriptions, tags and resources matching `text`, best first: every
     * word, as a word prefix or inside a word. `matches` names the fields that
     * hold a word: `name`, `description`, `tag:<key>`, `resource:<id>`.
     */
    search(text: string, limit: number): Promise<{ environment: EnvironmentSummary; matches: string[] }[]>;
    /** Replaces the whole read model (the rebuild at start), in one transaction. */
    replaceEnvironments(entries: EnvironmentEntry[]): Promise<void>;

    audit(entry: AuditEntry): Promise<void>;
    /** Newest first. */
    auditLog(filter: { environment?: string; limit: number }): Promise<AuditEntry[]>;
}
