/**
 * The store's schema and every query it runs, as SQL text shared by both
 * backends (a Postgres server through `pg`, PGlite in-process). Only features
 * both have (Postgres 15 and later), and parameters only: values never go into
 * the text.
 *
 * Conventions that keep the two drivers' results alike:
 * - JSON goes in as text (`$n::jsonb`), never as a driver-serialised object or
 *   array (pg turns JS arrays into Postgres arrays, PGlite does not);
 * - timestamps come out as ISO text in UTC (`iso()`), not as driver Dates;
 * - lists come out as jsonb, which both drivers parse.
 */
import type { DriftCheck } from "./store";

/** Timestamps as `2026-01-02T03:04:05.678Z` whatever the session's time zone. */
function iso(column: string): string {
    return `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}

/**
 * Held for the migrating transaction only (released at commit or rollback),
 * so two managers starting together migrate one after the other. Any fixed
 * bigint does; this one is "platform" in ASCII.
 */
export const SCHEMA_LOCK_KEY = "8103505640128409965";

export interface Migration {
    version: number;
    description: string;
    /** One statement each: PGlite's extended protocol takes a single statement per query. */
    statements: string[];
}

/** Append only: a released migration never changes (a database may already have run it). */
export const MIGRATIONS: readonly Migration[] = [
    {
        version: 1,
        description: "environments, resources, commands, command log, audit",
        statements: [
            `CREATE TABLE environments (
                name text PRIMARY KEY CHECK (name <> ''),
                template text NOT NULL,
                status text NOT NULL,
                description text NOT NULL DEFAULT '',
                tags jsonb NOT NULL DEFAULT '{}'::jsonb,
                created_at timestamptz,
                planned_destruction_at timestamptz,
                progress jsonb,
                -- json, not jsonb: the record comes back exactly as given (jsonb reorders keys), and nothing queries into it.
                record json,
                -- Lower-cased name, description, key=value tags and resource ids: the ILIKE fallback's haystack.
                search_text text NOT NULL DEFAULT '',
                search tsvector NOT NULL,
                updated_at timestamptz NOT NULL
            )`,
            `CREATE INDEX environments_status ON environments (status)`,
            `CREATE INDEX environments_template ON environments (template)`,
            `CREATE INDEX environments_tags ON environments USING gin (tags)`,
            `CREATE INDEX environments_search ON environments USING gin (search)`,
            `CREATE INDEX environments_planned_destruction ON environments (planned_destruction_at)`,
            `CREATE TABLE resources (
                environment text NOT NULL REFERENCES environments (name) ON DELETE CASCADE,
                id text NOT NULL,
                template text,
                status text,
                -- The record's links: {entrypoints, statusEndpoints}.
                endpoints jsonb NOT NULL DEFAULT '{}'::jsonb,
                -- Resource ids in the same environment, as a JSON array.
                depends_on jsonb NOT NULL DEFAULT '[]'::jsonb,
                PRIMARY KEY (environment, id)
            )`,
            `CREATE INDEX resources_id ON resources (id)`,
            `CREATE INDEX resources_depends_on ON resources USING gin (depends_on)`,
            `CREATE TABLE commands (
                command_id text PRIMARY KEY,
                type text NOT NULL DEFAULT '',
                environment text NOT NULL DEFAULT '',
                requested_by text NOT NULL DEFAULT '',
                state text NOT NULL CHECK (state IN ('accepted', 'running', 'succeeded', 'failed', 'rejected', 'abandoned')),
                reason text,
                body jsonb NOT NULL,
                accepted_at timestamptz NOT NULL,
                started_at timestamptz,
                finished_at timestamptz,
                -- Runs started (markRunning): a command that keeps stopping the manager is given up.
                attempts integer NOT NULL DEFAULT 0
            )`,
            // Small: only the commands not finished yet (restart recovery, the one-at-a-time check).
            `CREATE INDEX commands_unfinished ON commands (environment, accepted_at) WHERE state IN ('accepted', 'running', 'abandoned')`,
            `CREATE INDEX commands_environment ON commands (environment, accepted_at)`,
            `CREATE TABLE command_log (
                seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                command_id text NOT NULL,
                line text NOT NULL
            )`,
            `CREATE INDEX command_log_command ON command_log (command_id, seq)`,
            `CREATE TABLE audit (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                at timestamptz NOT NULL,
                actor text NOT NULL,
                action text NOT NULL,
                environment text,
                command_id text,
                outcome text NOT NULL,
                detail text
            )`,
            `CREATE INDEX audit_at ON audit (at)`,
            `CREATE INDEX audit_environment ON audit (environment, at)`,
            // Append-only for the manager's own role too: a bug cannot rewrite history.
            `CREATE FUNCTION manager_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'the audit log is append-only';
            END
            $$`,
            `CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit FOR EACH ROW EXECUTE FUNCTION manager_audit_append_only()`,
        ],
    },
    {
        version: 2,
        description: "the last drift check of each environment",
        // Its own column, left out of the upsert: a record written by a command or a reconcile keeps the last check.
        statements: [`ALTER TABLE environments ADD COLUMN drift jsonb`],
    },
    {
        version: 3,
        description: "the notifications outbox",
        statements: [
            // Written before a notification is published, removed once the broker confirmed it: a manager that
            // dies in between leaves it here, and whoever executes commands next publishes it.
            `CREATE TABLE notification_outbox (
                seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                notification jsonb NOT NULL,
                traceparent text,
                created_at timestamptz NOT NULL
            )`,
        ],
    },
];

/** Newest lines kept per command: enough for the REST log tail, bounded for commands that print a lot. */
export const COMMAND_LOG_LINES = 500;

const ENVIRONMENT_COLUMNS = `e.name, e.template, e.status, e.description, e.tags,
    ${iso("e.created_at")} AS created_at, ${iso("e.planned_destruction_at")} AS planned_destruction_at,
    e.progress, e.drift, ${iso("e.updated_at")} AS updated_at`;

const COMMAND_COLUMNS = `c.command_id, c.type, c.environment, c.requested_by, c.state, c.reason, c.body, c.attempts,
    ${iso("c.accepted_at")} AS accepted_at, ${iso("c.started_at")} AS started_at, ${iso("c.finished_at")} AS finished_at`;

export const SQL = {
    lockSchema: `SELECT pg_advisory_xact_lock($1::bigint)`,
    createVersionTable: `CREATE TABLE IF NOT EXISTS manager_schema_version (
        version integer PRIMARY KEY,
        description text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
    )`,
    schemaVersion: `SELECT coalesce(max(version), 0)::int AS version FROM manager_schema_version`,
    recordVersion: `INSERT INTO manager_schema_version (version, description) VALUES ($1::int, $2::text)`,
    ping: `SELECT 1 AS ok`,

    /** Inserts or returns nothing: no row back means the id was already there. */
    claimCommand: `INSERT INTO commands (command_id, type, environment, requested_by, state, body, accepted_at)
        VALUES ($1::text, $2::text, $3::text, $4::text, 'accepted', $5::jsonb, $6::timestamptz)
        ON CONFLICT (command_id) DO NOTHING
        RETURNING command_id`,
    /** New ids are recorded rejected; an accepted one not started yet becomes rejected; anything else is left as it is. */
    rejectCommand: `INSERT INTO commands AS c (command_id, type, environment, requested_by, state, reason, body, accepted_at, finished_at)
        VALUES ($1::text, $2::text, $3::text, $4::text, 'rejected', $5::text, $6::jsonb, $7::timestamptz, $7::timestamptz)
        ON CONFLICT (command_id) DO UPDATE SET state = 'rejected', reason = EXCLUDED.reason, finished_at = EXCLUDED.finished_at
        WHERE c.state = 'accepted'`,
    /** An abandoned command (a manager stopped during it) runs again: it has no outcome yet. */
    markRunning: `UPDATE commands SET state = 'running', started_at = $2::timestamptz, attempts = attempts + 1
        WHERE command_id = $1::text AND state IN ('accepted', 'running', 'abandoned')
        RETURNING command_id`,
    /** The first outcome wins: a finished command is not finished again (abandoned is not an outcome). */
    finishCommand: `UPDATE commands SET state = $2::text, reason = $3::text, finished_at = $4::timestamptz
        WHERE command_id = $1::text AND state IN ('accepted', 'running', 'abandoned')
        RETURNING command_id`,
    getCommand: `SELECT ${COMMAND_COLUMNS} FROM commands c WHERE c.command_id = $1::text`,
    unfinishedCommands: `SELECT ${COMMAND_COLUMNS} FROM commands c
        WHERE c.state IN ('accepted', 'running', 'abandoned')
        ORDER BY c.accepted_at, c.command_id`,
    /** A running one before one still waiting, then the oldest. */
    activeCommandFor: `SELECT ${COMMAND_COLUMNS} FROM commands c
        WHERE c.environment = $1::text AND c.state IN ('accepted', 'running', 'abandoned')
        ORDER BY (c.state = 'running') DESC, c.accepted_at, c.command_id
        LIMIT 1`,

    /** $2: a JSON array of lines, kept in order. */
    appendLog: `INSERT INTO command_log (command_id, line)
        SELECT $1::text, l.line FROM jsonb_array_elements_text($2::jsonb) WITH ORDINALITY AS l(line, n)
        ORDER BY l.n`,
    /** Drops all but the newest $2 lines of a command. */
    trimLog: `DELETE FROM command_log
        WHERE command_id = $1::text AND seq <= (
            SELECT seq FROM command_log WHERE command_id = $1::text ORDER BY seq DESC OFFSET $2::int LIMIT 1
        )`,
    logTail: `SELECT t.line FROM (
            SELECT seq, line FROM command_log WHERE command_id = $1::text ORDER BY seq DESC LIMIT $2::int
        ) t ORDER BY t.seq`,

    /**
     * $1 name, $2 template, $3 status, $4 description, $5 tags (JSON object),
     * $6 created_at, $7 planned_destruction_at, $8 progress (JSON or null),
     * $9 record (JSON or null), $10 updated_at, $11 resources (JSON array of
     * {id, ...}). The search vector weighs the name most, then resource ids and
     * tags, then the description; 'simple' keeps names and ids as written (no stemming).
     */
    upsertEnvironment: `INSERT INTO environments AS e (name, template, status, description, tags, created_at, planned_destruction_at,
            progress, record, search_text, search, updated_at)
        SELECT $1::text, $2::text, $3::text, $4::text, $5::jsonb, $6::timestamptz, $7::timestamptz, $8::jsonb, $9::json,
            lower(concat_ws(' ', $1::text, $4::text, t.pairs, r.ids)),
            setweight(to_tsvector('simple', $1::text), 'A')
                || setweight(to_tsvector('simple', r.ids), 'B')
                || setweight(to_tsvector('simple', t.words), 'B')
                || setweight(to_tsvector('simple', $4::text), 'C'),
            $10::timestamptz
        FROM (SELECT coalesce(string_agg(key || '=' || value, ' '), '') AS pairs,
                     coalesce(string_agg(key || ' ' || value, ' '), '') AS words
              FROM jsonb_each_text($5::jsonb)) t,
             (SELECT coalesce(string_agg(x->>'id', ' '), '') AS ids FROM jsonb_array_elements($11::jsonb) x) r
        ON CONFLICT (name) DO UPDATE SET template = EXCLUDED.template, status = EXCLUDED.status,
            description = EXCLUDED.description, tags = EXCLUDED.tags, created_at = EXCLUDED.created_at,
            planned_destruction_at = EXCLUDED.planned_destruction_at, progress = EXCLUDED.progress,
            record = EXCLUDED.record, search_text = EXCLUDED.search_text, search = EXCLUDED.search,
            updated_at = EXCLUDED.updated_at`,
    deleteResources: `DELETE FROM resources WHERE environment = $1::text`,
    /** $2: JSON array of {id, template?, status?, links?, dependsOn?}; a repeated id keeps its first entry. */
    insertResources: `INSERT INTO resources (environment, id, template, status, endpoints, depends_on)
        SELECT $1::text, x->>'id', x->>'template', x->>'status', coalesce(x->'links', '{}'::jsonb), coalesce(x->'dependsOn', '[]'::jsonb)
        FROM jsonb_array_elements($2::jsonb) x
        ON CONFLICT (environment, id) DO NOTHING`,
    setStatus: `UPDATE environments SET status = $2::text, progress = $3::jsonb, updated_at = $4::timestamptz
        WHERE name = $1::text`,
    setDrift: `UPDATE environments SET drift = $2::jsonb WHERE name = $1::text`,
    /**
     * A drift check's result, kept only if nothing changed the environment
     * while it ran: the same updated_at and status ($2, $3), and no command on
     * it. $5: the new status, or null to keep it.
     */
    recordDrift: `UPDATE environments e SET drift = $4::jsonb,
            status = coalesce($5::text, e.status),
            progress = CASE WHEN $5::text IS NULL THEN e.progress END,
            updated_at = CASE WHEN $5::text IS NULL THEN e.updated_at ELSE $6::timestamptz END
        WHERE e.name = $1::text AND e.updated_at = $2::timestamptz AND e.status = $3::text
            AND NOT EXISTS (SELECT 1 FROM commands c WHERE c.environment = $1::text AND c.state IN ('accepted', 'running', 'abandoned'))
        RETURNING e.name`,
    enqueueNotification: `INSERT INTO notification_outbox (notification, traceparent, created_at) VALUES ($1::jsonb, $2::text, $3::timestamptz)`,
    // Ordered by the bigint (o.seq), not the text it is returned as: "10" sorts before "9".
    pendingNotifications: `SELECT o.seq::text AS seq, o.notification, o.traceparent FROM notification_outbox o ORDER BY o.seq LIMIT $1::int`,
    removeNotification: `DELETE FROM notification_outbox WHERE seq = $1::bigint`,
    removeEnvironment: `DELETE FROM environments WHERE name = $1::text`,
    /** $1: JSON array of the names to keep. */
    removeEnvironmentsExcept: `DELETE FROM environments
        WHERE name NOT IN (SELECT jsonb_array_elements_text($1::jsonb))`,
    getEnvironment: `SELECT ${ENVIRONMENT_COLUMNS}, e.record FROM environments e WHERE e.name = $1::text`,
    /**
     * $1 status, $2 template, $3 tag key, $4 tag value, $5 limit, $6 offset;
     * a null filter matches all (a null limit lists all). Unnamed statements are
     * planned with their values, so the status/template/tags indexes still apply.
     * The page is chosen on names alone, then only its rows are read and
     * formatted: sorting whole rows (and formatting every timestamp) of the
     * table to keep one page of them was most of a list's time.
     */
    listEnvironments: `SELECT ${ENVIRONMENT_COLUMNS} FROM environments e
        WHERE e.name = ANY (ARRAY(
            SELECT p.name FROM environments p
            WHERE ($1::text IS NULL OR p.status = $1::text)
              AND ($2::text IS NULL OR p.template = $2::text)
              AND ($3::text IS NULL OR CASE WHEN $4::text IS NULL THEN p.tags ? $3::text
                                            ELSE p.tags @> jsonb_build_object($3::text, $4::text) END)
            ORDER BY p.name
            LIMIT $5::int OFFSET $6::int))
        ORDER BY e.name`,
    /**
     * $1 every word as a prefix (`a:* & b:*`), $2 any word (`a:* | b:*`), $3 a
     * JSON array of ILIKE patterns (`%word%`, one per word), $4 the whole text
     * lower-cased, $5 limit. A row matches when full-text search finds every
     * word, or each word is a substring somewhere (partial words). Order: the
     * exact name, full-text hits by rank (name > resources, tags > description),
     * then substring-only hits, then by name. `matches` names each field that
     * has one of the words: name, description, tag:<key>, resource:<id>.
     */
    search: `WITH q AS (
            SELECT to_tsquery('simple', $1::text) AS all_words, to_tsquery('simple', $2::text) AS any_word,
                   ARRAY(SELECT jsonb_array_elements_text($3::jsonb)) AS patterns, $4::text AS phrase
        ), hits AS (
            -- Ranked on the few columns ranking needs; only the kept rows are read in full below.
            SELECT e.name, e.name = q.phrase AS exact, e.search @@ q.all_words AS full_text, ts_rank(e.search, q.any_word) AS rank
            FROM environments e, q
            WHERE e.search @@ q.all_words OR e.search_text ILIKE ALL (q.patterns)
            ORDER BY exact DESC, full_text DESC, rank DESC, e.name
            LIMIT $5::int
        )
        SELECT ${ENVIRONMENT_COLUMNS},
            to_jsonb(
                array_remove(ARRAY[
                    CASE WHEN to_tsvector('simple', e.name) @@ q.any_word OR e.name ILIKE ANY (q.patterns) THEN 'name' END,
                    CASE WHEN to_tsvector('simple', e.description) @@ q.any_word OR e.description ILIKE ANY (q.patterns) THEN 'description' END
                ], NULL)
                || ARRAY(SELECT 'tag:' || t.key FROM jsonb_each_text(e.tags) t
                         WHERE to_tsvector('simple', t.key || ' ' || t.value) @@ q.any_word OR (t.key || '=' || t.value) ILIKE ANY (q.patterns)
                         ORDER BY t.key)
                || ARRAY(SELECT 'resource:' || r.id FROM resources r
                         WHERE r.environment = e.name AND (to_tsvector('simple', r.id) @@ q.any_word OR r.id ILIKE ANY (q.patterns))
                         ORDER BY r.id)
            ) AS matches
        FROM hits h JOIN environments e ON e.name = h.name, q
        ORDER BY h.exact DESC, h.full_text DESC, h.rank DESC, h.name
        LIMIT $5::int`,

    appendAudit: `INSERT INTO audit (at, actor, action, environment, command_id, outcome, detail)
        VALUES ($1::timestamptz, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text)`,
    /** Newest first. */
    auditLog: `SELECT ${iso("a.at")} AS at, a.actor, a.action, a.environment, a.command_id, a.outcome, a.detail
        FROM audit a
        WHERE ($1::text IS NULL OR a.environment = $1::text)
        ORDER BY a.at DESC, a.id DESC
        LIMIT $2::int`,
} as const;

/** Row shapes as the queries above return them. */
export interface EnvironmentRow {
    name: string;
    template: string;
    status: string;
    description: string;
    tags: Record<string, string>;
    created_at: string | null;
    planned_destruction_at: string | null;
    progress: { done: number; total: number } | null;
    drift: DriftCheck | null;
    updated_at: string;
}

export interface CommandRow {
    command_id: string;
    type: string;
    environment: string;
    requested_by: string;
    state: string;
    reason: string | null;
    body: unknown;
    accepted_at: string;
    started_at: string | null;
    finished_at: string | null;
    attempts: number;
}

export interface AuditRow {
    at: string;
    actor: string;
    action: string;
    environment: string | null;
    command_id: string | null;
    outcome: string;
    detail: string | null;
}

/**
 * The search text as query parameters: words are runs of letters and digits,
 * so the tsquery text can hold no operator; LIKE's wildcards cannot occur either.
 */
export function searchParameters(text: string): { allWords: string; anyWord: string; patterns: string; phrase: string } | undefined {
    const words = [...new Set(text.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean))];
    if (words.length === 0) {
        return undefined;
    }
    return {
        allWords: words.map((w) => `${w}:*`).join(" & "),
        anyWord: words.map((w) => `${w}:*`).join(" | "),
        patterns: JSON.stringify(words.map((w) => `%${w}%`)),
        phrase: text.trim().toLowerCase(),
    };
}
