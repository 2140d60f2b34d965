/**
 * The Store over SQL (sql.ts), on either backend: a Postgres server through a
 * `pg` pool, or PGlite (Postgres in WebAssembly) in this process. The class
 * only sees `SqlClient`, so both run the very same statements.
 */
import { PGlite } from "@electric-sql/pglite";
import { Pool, type PoolClient } from "pg";

import type { Command, CommandState, EnvironmentStatus, Notification } from "../commands/schema";
import { type AuditRow, COMMAND_LOG_LINES, type CommandRow, type EnvironmentRow, MIGRATIONS, SCHEMA_LOCK_KEY, SQL, searchParameters } from "./sql";
import type {
    AuditEntry,
    ClaimResult,
    CommandEntry,
    DriftCheck,
    EnvironmentEntry,
    EnvironmentFilter,
    EnvironmentRecordDocument,
    EnvironmentSummary,
    OutboxEntry,
    OutboxInput,
    ResourceRecordDocument,
    Store,
} from "./store";

/** Parameters are strings, numbers, booleans or null: JSON goes in as text (see sql.ts). */
export type SqlValue = string | number | boolean | null;

export interface SqlQueryable {
    query<T>(text: string, params?: readonly SqlValue[]): Promise<{ rows: T[] }>;
}

export interface SqlClient extends SqlQueryable {
    /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
    transaction<T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T>;
    close(): Promise<void>;
}

export class SqlStore implements Store {
    constructor(readonly client: SqlClient) {}

    async migrate(): Promise<void> {
        await this.client.transaction(async (tx) => {
            // First, before the version table exists: CREATE TABLE IF NOT EXISTS itself races without it.
            await tx.query(SQL.lockSchema, [SCHEMA_LOCK_KEY]);
            await tx.query(SQL.createVersionTable);
            const [{ version }] = (await tx.query<{ version: number }>(SQL.schemaVersion)).rows;
            // A newer manager may have migrated further: its migrations only add, so this one carries on.
            for (const migration of MIGRATIONS.filter((m) => m.version > version)) {
                for (const statement of migration.statements) {
                    await tx.query(statement);
                }
                await tx.query(SQL.recordVersion, [migration.version, migration.description]);
            }
        });
    }

    close(): Promise<void> {
        return this.client.close();
    }

    async ping(): Promise<void> {
        await this.client.query(SQL.ping);
    }

    async claimCommand(command: Command, at: Date): Promise<ClaimResult> {
        const inserted = await this.client.query(SQL.claimCommand, [
            command.commandId,
            command.type,
            command.environment,
            command.requestedBy,
            JSON.stringify(command),
            at.toISOString(),
        ]);
        if (inserted.rows.length === 1) {
            return { kind: "new" };
        }
        // The conflicting insert has committed by now (ON CONFLICT waits for it), so the row is there.
        const existing = await this.getCommand(command.commandId);
        if (!existing) {
            throw new Error(`command ${command.commandId}: recorded by another writer but not readable`);
        }
        return { kind: "duplicate", existing };
    }

    async rejectCommand(
        command: { commandId: string; type?: string; environment?: string; requestedBy?: string; body: unknown },
        reason: string,
        at: Date,
    ): Promise<void> {
        await this.client.query(SQL.rejectCommand, [
            command.commandId,
            command.type ?? "",
            command.environment ?? "",
            command.requestedBy ?? "",
            reason,
            // A body that is not JSON (undefined) is kept as null.
            JSON.stringify(command.body ?? null),
            at.toISOString(),
        ]);
    }

    async markRunning(commandId: string, at: Date): Promise<void> {
        const updated = await this.client.query(SQL.markRunning, [commandId, at.toISOString()]);
        if (updated.rows.length === 0) {
            const existing = await this.getCommand(commandId);
            throw new Error(existing ? `command ${commandId} is ${existing.state}, it cannot run` : `command ${commandId} was never claimed`);
        }
    }

    async finishCommand(commandId: string, state: "succeeded" | "failed" | "abandoned", reason: string | undefined, at: Date, announce: OutboxInput[] = []): Promise<void> {
        // The outcome and its announcement in one transaction: neither is kept without the other. Only the first outcome is announced.
        const updated = await this.client.transaction(async (tx) => {
            const result = await tx.query(SQL.finishCommand, [commandId, state, reason ?? null, at.toISOString()]);
            if (result.rows.length > 0) {
                for (const a of announce) {
                    await tx.query(SQL.enqueueNotification, [JSON.stringify(a.notification), a.traceparent ?? null, at.toISOString()]);
                }
            }
            return result;
        });
        if (updated.rows.length === 0 && !(await this.getCommand(commandId))) {
            throw new Error(`command ${commandId} was never claimed`);
        }
    }

    async getCommand(commandId: string): Promise<CommandEntry | undefined> {
        const { rows } = await this.client.query<CommandRow>(SQL.getCommand, [commandId]);
        return rows.length ? toCommand(rows[0]) : undefined;
    }

    async unfinishedCommands(): Promise<CommandEntry[]> {
        const { rows } = await this.client.query<CommandRow>(SQL.unfinishedCommands);
        return rows.map(toCommand);
    }

    async activeCommandFor(environment: string): Promise<CommandEntry | undefined> {
        const { rows } = await this.client.query<CommandRow>(SQL.activeCommandFor, [environment]);
        return rows.length ? toCommand(rows[0]) : undefined;
    }

    async appendLog(commandId: string, lines: string[]): Promise<void> {
        if (lines.length === 0) {
            return;
        }
        const kept = lines.slice(-COMMAND_LOG_LINES);
        await this.client.transaction(async (tx) => {
            await tx.query(SQL.appendLog, [commandId, JSON.stringify(kept)]);
            await tx.query(SQL.trimLog, [commandId, COMMAND_LOG_LINES]);
        });
    }

    async logTail(commandId: string, lines: number): Promise<string[]> {
        const { rows } = await this.client.query<{ line: string }>(SQL.logTail, [commandId, count(lines, "lines")]);
        return rows.map((r) => r.line);
    }

    async putEnvironment(entry: EnvironmentEntry): Promise<void> {
        await this.client.transaction((tx) => writeEnvironment(tx, entry));
    }

    async setStatus(name: string, status: EnvironmentStatus, at: Date, progress?: { done: number; total: number }): Promise<void> {
        await this.client.query(SQL.setStatus, [name, status, progress ? JSON.stringify({ done: progress.done, total: progress.total }) : null, at.toISOString()]);
    }

    async enqueueNotification(notification: Notification, traceparent: string | undefined, at: Date): Promise<void> {
        await this.client.query(SQL.enqueueNotification, [JSON.stringify(notification), traceparent ?? null, at.toISOString()]);
    }

    async pendingNotifications(limit: number): Promise<OutboxEntry[]> {
        const { rows } = await this.client.query<{ seq: string; notification: Notification; traceparent: string | null }>(SQL.pendingNotifications, [count(limit, "limit")]);
        return rows.map((r) => ({ seq: r.seq, notification: r.notification, ...(r.traceparent ? { traceparent: r.traceparent } : {}) }));
    }

    async removeNotification(seq: string): Promise<void> {
        await this.client.query(SQL.removeNotification, [seq]);
    }

    async recordDrift(name: string, expected: { updatedAt: string; status: EnvironmentStatus }, drift: DriftCheck, status: EnvironmentStatus | undefined, at: Date): Promise<boolean> {
        const { rows } = await this.client.query(SQL.recordDrift, [name, expected.updatedAt, expected.status, JSON.stringify(drift), status ?? null, at.toISOString()]);
        return rows.length > 0;
    }

    async setDrift(name: string, drift: DriftCheck): Promise<void> {
        await this.client.query(SQL.setDrift, [name, JSON.stringify(drift)]);
    }

    async removeEnvironment(name: string): Promise<void> {
        await this.client.query(SQL.removeEnvironment, [name]);
    }

    async getEnvironment(name: string): Promise<EnvironmentEntry | undefined> {
        const { rows } = await this.client.query<EnvironmentRow & { record: EnvironmentRecordDocument | null }>(SQL.getEnvironment, [name]);
        if (rows.length === 0) {
            return undefined;
        }
        const entry: EnvironmentEntry = toSummary(rows[0]);
        if (rows[0].record !== null) {
            entry.record = rows[0].record;
        }
        return entry;
    }

    async listEnvironments(filter: EnvironmentFilter): Promise<EnvironmentSummary[]> {
        const { rows } = await this.client.query<EnvironmentRow>(SQL.listEnvironments, [
            filter.status ?? null,
            filter.template ?? null,
            filter.tag?.key ?? null,
            filter.tag?.value ?? null,
            filter.limit === undefined ? null : count(filter.limit, "limit"),
            filter.offset === undefined ? 0 : count(filter.offset, "offset"),
        ]);
        return rows.map(toSummary);
    }

    async search(text: string, limit: number): Promise<{ environment: EnvironmentSummary; matches: string[] }[]> {
        const params = searchParameters(text);
        if (!params) {
            return [];
        }
        const { rows } = await this.client.query<EnvironmentRow & { matches: string[] }>(SQL.search, [
            params.allWords,
            params.anyWord,
            params.patterns,
            params.phrase,
            count(limit, "limit"),
        ]);
        return rows.map((row) => ({ environment: toSummary(row), matches: row.matches }));
    }

    async replaceEnvironments(entries: EnvironmentEntry[]): Promise<void> {
        await this.client.transaction(async (tx) => {
            await tx.query(SQL.removeEnvironmentsExcept, [JSON.stringify(entries.map((e) => e.name))]);
            for (const entry of entries) {
                await writeEnvironment(tx, entry);
            }
        });
    }

    async audit(entry: AuditEntry): Promise<void> {
        await this.client.query(SQL.appendAudit, [
            timestamp(entry.at, "audit at"),
            entry.actor,
            entry.action,
            entry.environment ?? null,
            entry.commandId ?? null,
            entry.outcome,
            entry.detail ?? null,
        ]);
    }

    async auditLog(filter: { environment?: string; limit: number }): Promise<AuditEntry[]> {
        const { rows } = await this.client.query<AuditRow>(SQL.auditLog, [filter.environment ?? null, count(filter.limit, "limit")]);
        return rows.map(toAudit);
    }
}

async function writeEnvironment(tx: SqlQueryable, entry: EnvironmentEntry): Promise<void> {
    const resources = resourcesOf(entry.record);
    await tx.query(SQL.upsertEnvironment, [
        entry.name,
        entry.template,
        entry.status,
        entry.description ?? "",
        JSON.stringify(entry.tags ?? {}),
        lenientTimestamp(entry.createdAt),
        lenientTimestamp(entry.plannedDestructionAt),
        entry.progress ? JSON.stringify({ done: entry.progress.done, total: entry.progress.total }) : null,
        entry.record === undefined ? null : JSON.stringify(entry.record),
        timestamp(entry.updatedAt, "updatedAt"),
        JSON.stringify(resources),
    ]);
    await tx.query(SQL.deleteResources, [entry.name]);
    if (resources.length > 0) {
        await tx.query(SQL.insertResources, [entry.name, JSON.stringify(resources)]);
    }
}

/** The resources table's columns from a record; entries without a string id are skipped (nothing to key them on). */
function resourcesOf(record: EnvironmentRecordDocument | undefined): Pick<ResourceRecordDocument, "id" | "template" | "status" | "links" | "dependsOn">[] {
    if (!record || !Array.isArray(record.resources)) {
        return [];
    }
    return record.resources
        .filter((r): r is ResourceRecordDocument => typeof r === "object" && r !== null && typeof r.id === "string" && r.id !== "")
        .map((r) => ({ id: r.id, template: r.template, status: r.status, links: r.links, dependsOn: r.dependsOn }));
}

/** A caller's timestamp, required to be valid. */
function timestamp(value: string, what: string): string {
    const ms = Date.parse(value);
    if (Number.isNaN(ms)) {
        throw new RangeError(`${what} is not a timestamp: ${JSON.stringify(value)}`);
    }
    return new Date(ms).toISOString();
}

/** A record's timestamp: read as UTC (a bare date is midnight UTC); one that does not parse is dropped, not fatal. */
function lenientTimestamp(value: string | null | undefined): string | null {
    if (!value) {
        return null;
    }
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

function count(value: number, what: string): number {
    if (!Number.isInteger(value) || value < 0) {
        throw new RangeError(`${what} must be a whole number, 0 or more (got ${value})`);
    }
    return value;
}

function toSummary(row: EnvironmentRow): EnvironmentSummary {
    const summary: EnvironmentSummary = {
        name: row.name,
        template: row.template,
        status: row.status as EnvironmentStatus,
        description: row.description,
        tags: row.tags,
        updatedAt: row.updated_at,
    };
    if (row.created_at !== null) {
        summary.createdAt = row.created_at;
    }
    if (row.planned_destruction_at !== null) {
        summary.plannedDestructionAt = row.planned_destruction_at;
    }
    if (row.progress !== null) {
        summary.progress = row.progress;
    }
    if (row.drift !== null) {
        summary.drift = row.drift;
    }
    return summary;
}

function toCommand(row: CommandRow): CommandEntry {
    const entry: CommandEntry = {
        commandId: row.command_id,
        // A rejected command may carry any type (or none): the column keeps what arrived.
        type: row.type as Command["type"],
        environment: row.environment,
        requestedBy: row.requested_by,
        state: row.state as CommandState,
        acceptedAt: row.accepted_at,
        body: row.body as Command,
        attempts: row.attempts,
    };
    if (row.reason !== null) {
        entry.reason = row.reason;
    }
    if (row.started_at !== null) {
        entry.startedAt = row.started_at;
    }
    if (row.finished_at !== null) {
        entry.finishedAt = row.finished_at;
    }
    return entry;
}

function toAudit(row: AuditRow): AuditEntry {
    const entry: AuditEntry = { at: row.at, actor: row.actor, action: row.action, outcome: row.outcome };
    if (row.environment !== null) {
        entry.environment = row.environment;
    }
    if (row.command_id !== null) {
        entry.commandId = row.command_id;
    }
    if (row.detail !== null) {
        entry.detail = row.detail;
    }
    return entry;
}

export interface PostgresOptions {
    /** Longest a statement may run (server-side statement_timeout). Default: 30000. */
    statementTimeoutMs?: number;
    /** Longest to wait for a connection. Default: 10000. */
    connectTimeoutMs?: number;
    /** Pool size. Default: 10. */
    maxConnections?: number;
    /** Shown in pg_stat_activity. Default: platform-manager. */
    applicationName?: string;
    /** Errors of idle pooled connections (a server restart); the message never holds the password. */
    onError?: (message: string) => void;
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
    try {
        const parsed = new URL(url);
        if (parsed.password) {
            parsed.password = "***";
        }
        return parsed.toString();
    } catch {
        return "(an unparsable Postgres URL)";
    }
}

/** Takes the password out of a driver's message, should one ever echo it. */
function scrub(message: string, url: string): string {
    let password = "";
    try {
        password = decodeURIComponent(new URL(url).password);
    } catch {
        // not a URL: nothing to scrub
    }
    return password ? message.split(password).join("***") : message;
}

/** A Store on a Postgres server. Connects once to fail early; the caller runs migrate(). */
export async function connectPostgres(url: string, options: PostgresOptions = {}): Promise<SqlStore> {
    const pool = new Pool({
        connectionString: url,
        statement_timeout: options.statementTimeoutMs ?? 30_000,
        // A transaction left open by a stuck caller must not hold locks for ever.
        idle_in_transaction_session_timeout: Math.max(60_000, 2 * (options.statementTimeoutMs ?? 30_000)),
        connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
        max: options.maxConnections ?? 10,
        application_name: options.applicationName ?? "platform-manager",
    });
    // Without a listener an idle connection's error would crash the process.
    pool.on("error", (error) => options.onError?.(scrub(error.message, url)));
    const client = new PgClient(pool, url);
    try {
        await client.query(SQL.ping);
    } catch (error) {
        await pool.end().catch(() => undefined);
        throw new Error(`cannot reach Postgres at ${redactUrl(url)}: ${scrub(errorMessage(error), url)}`);
    }
    return new SqlStore(client);
}

class PgClient implements SqlClient {
    constructor(
        private readonly pool: Pool,
        private readonly url: string,
    ) {}

    async query<T>(text: string, params: readonly SqlValue[] = []): Promise<{ rows: T[] }> {
        try {
            const result = await this.pool.query(text, [...params]);
            return { rows: result.rows as T[] };
        } catch (error) {
            throw this.clean(error);
        }
    }

    async transaction<T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T> {
        let connection: PoolClient;
        try {
            connection = await this.pool.connect();
        } catch (error) {
            throw this.clean(error);
        }
        const tx: SqlQueryable = {
            query: async <R>(text: string, params: readonly SqlValue[] = []) => ({ rows: (await connection.query(text, [...params])).rows as R[] }),
        };
        try {
            await connection.query("BEGIN");
            const result = await fn(tx);
            await connection.query("COMMIT");
            connection.release();
            return result;
        } catch (error) {
            try {
                await connection.query("ROLLBACK");
                connection.release();
            } catch (rollbackError) {
                // A connection that cannot roll back is dropped, not returned to the pool.
                connection.release(rollbackError instanceof Error ? rollbackError : true);
            }
            throw this.clean(error);
        }
    }

    close(): Promise<void> {
        return this.pool.end();
    }

    /** Connection errors can quote their connection string: never let the password out. */
    private clean(error: unknown): unknown {
        if (error instanceof Error) {
            const message = scrub(error.message, this.url);
            if (message !== error.message) {
                error.message = message;
            }
        }
        return error;
    }
}

/**
 * A Store on PGlite in this process: in memory when `dataDir` is not given,
 * else kept in that directory (one process at a time: PGlite takes no lock on it).
 */
export async function openEmbeddedPostgres(dataDir?: string): Promise<SqlStore> {
    const db = dataDir === undefined ? new PGlite() : new PGlite(dataDir);
    await db.waitReady;
    return new SqlStore(new PGliteClient(db));
}

class PGliteClient implements SqlClient {
    constructor(private readonly db: PGlite) {}

    async query<T>(text: string, params: readonly SqlValue[] = []): Promise<{ rows: T[] }> {
        return { rows: (await this.db.query<T>(text, [...params])).rows };
    }

    transaction<T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T> {
        // Queries inside must go through `tx`: PGlite serialises, so the instance itself would wait for this very transaction.
        return this.db.transaction((tx) =>
            fn({
                query: async <R>(text: string, params: readonly SqlValue[] = []) => ({ rows: (await tx.query<R>(text, [...params])).rows }),
            }),
        );
    }

    close(): Promise<void> {
        return this.db.close();
    }
}

function errorMessage(error: unknown): string {
    return error instanceof Error ? error.message : String(error);
}
