/**
 * Environment change events: after a successful `up` or `destroy`, the
 * environment record is published to RabbitMQ so other systems (catalogues,
 * chat notifications, cost reports) learn about it without polling Pulumi.
 *
 * One short-lived connection per event: events are rare (one per deployment),
 * so a pooled connection would only add reconnect logic. Delivery is
 * at-least-once: a publish is retried until the broker confirms it, so a
 * consumer may see the same `id` twice and should de-duplicate on it.
 */
import { randomUUID } from "node:crypto";
import { connect, ChannelModel, ConfirmChannel } from "amqplib";

import { recordProblems } from "./record-schema";

export const EVENT_TYPES = ["environment.created", "environment.updated", "environment.destroyed"] as const;
export type EnvironmentEventType = (typeof EVENT_TYPES)[number];

export interface EnvironmentEvent {
    type: EnvironmentEventType;
    /** A UUID, also the AMQP message id (for consumers' de-duplication). */
    id: string;
    /** ISO 8601 time of the operation that the event reports. */
    occurredAt: string;
    /** The stack (environment) name. */
    environment: string;
    /** The stack's `environment` output (`pulumi stack output --json environment`): schema-valid, without secrets or credentials. */
    record: unknown;
}

export interface PublishOptions {
    /** AMQP URL (`amqp://user:password@host:5672/vhost`); only its host is ever logged. */
    url: string;
    /** Durable topic exchange the event goes to. Default: "platform.environments". */
    exchange?: string;
    /** Connect-and-publish attempts before giving up. Default: 5. */
    attempts?: number;
    /** Wait before the second attempt; doubles after each failure. Default: 200. */
    initialDelayMs?: number;
    /** Upper bound of any wait between attempts. Default: 5000. */
    maxDelayMs?: number;
    /** Time one attempt (connect, declare, publish, confirm) may take. Default: 10000. */
    timeoutMs?: number;
    /** Receives one line per failed attempt that will be retried. Default: console.error. */
    logger?: (line: string) => void;
    /** Jitter source in [0, 1). Default: Math.random. */
    random?: () => number;
}

export const DEFAULT_EXCHANGE = "platform.environments";

/**
 * The event a successful operation produces. `previousSucceededUpdates` counts the
 * stack's successful `up`s before this one since it was last destroyed
 * (`pulumi stack history`): none means this `up` created the environment.
 */
export function eventTypeFor(previousSucceededUpdates: number, operation: "up" | "destroy"): EnvironmentEventType {
    if (!Number.isInteger(previousSucceededUpdates) || previousSucceededUpdates < 0) {
        throw new Error(`previousSucceededUpdates must be a whole number >= 0, got ${previousSucceededUpdates}`);
    }
    if (operation === "destroy") {
        return "environment.destroyed";
    }
    return previousSucceededUpdates === 0 ? "environment.created" : "environment.updated";
}

/** Builds an event with a fresh id; refuses a record that `assertPublishableRecord` refuses. */
export function environmentEvent(type: EnvironmentEventType, environment: string, record: unknown, now: Date = new Date()): EnvironmentEvent {
    if (!EVENT_TYPES.includes(type)) {
        throw new Error(`unknown event type "${String(type)}": expected one of ${EVENT_TYPES.join(", ")}`);
    }
    if (!environment) {
        throw new Error("the environment name is empty");
    }
    assertPublishableRecord(record);
    return { type, id: randomUUID(), occurredAt: now.toISOString(), environment, record };
}

/** Pulumi's marker for a secret value in exported state (`"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270"`). */
const PULUMI_SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** Refuses a record that carries a Pulumi secret: events go to every subscriber of the exchange. */
export function assertNoSecrets(record: unknown, at = "record"): void {
    if (Array.isArray(record)) {
        record.forEach((item, i) => assertNoSecrets(item, `${at}[${i}]`));
    } else if (record !== null && typeof record === "object") {
        for (const [key, value] of Object.entries(record)) {
            if (key === PULUMI_SECRET_SIG) {
                throw new Error(`${at} holds a Pulumi secret: publish \`pulumi stack output --json environment\` (secrets masked), not exported state`);
            }
            assertNoSecrets(value, `${at}.${key}`);
        }
    }
}

/**
 * Credentials that must never reach the exchange (every subscriber reads every
 * event), found in any string of the record. A record is built from config
 * and component outputs, so a misconfigured value can carry one: a connection
 * string as an endpoint, a key pasted into a description or tag.
 */
const CREDENTIALS: { kind: string; pattern: RegExp }[] = [
    // The password may be empty-user (`redis://:pass@host`); `/?#` end the authority.
    { kind: "URL with a password", pattern: /[a-z][a-z0-9+.-]*:\/\/[^\s/?#@:]*:[^\s/?#@]+@/i },
    { kind: "PEM private key", pattern: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/ },
    { kind: "AWS access key id", pattern: /(?<![A-Z0-9])AKIA[0-9A-Z]{16}(?![0-9A-Z])/ },
    // Header, payload, signature; the header is base64url JSON, so it starts `eyJ` (`{"`).
    { kind: "JWT", pattern: /(?<![\w-])eyJ[\w-]{7,}\.[\w-]{2,}\.[\w-]*/ },
    // `db_password=…`, `X-Auth-Token=…`, `client_secret=…`, `?token=…`; a masked value (`[secret]`, `***`) is no credential.
    {
        kind: "password/token assignment",
        pattern: /(?<![A-Za-z0-9])[\w-]*?(?:password|passwd|pwd|secret|token|api[_-]?key)\s*=\s*(?!\[secret\](?:[\s&;,]|$)|\*+(?:[\s&;,]|$))[^\s&;,"']/i,
    },
    { kind: "Azure storage connection string", pattern: /(?<![A-Za-z0-9])(?:AccountKey|SharedAccessKey)\s*=\s*[^\s;]/i },
];

/** The kinds of credential a text holds (none: empty). */
export function credentialKindsIn(text: string): string[] {
    return CREDENTIALS.filter((c) => c.pattern.test(text)).map((c) => c.kind);
}

/** `record.tags["cost-center"]`-style path of a property; a name that is itself a credential is not spelled. */
function propertyPath(at: string, key: string): string {
    if (credentialKindsIn(key).length > 0) {
        return `${at}[<redacted>]`;
    }
    return /^[A-Za-z_$][\w$]*$/.test(key) ? `${at}.${key}` : `${at}[${JSON.stringify(key)}]`;
}

/** Where the record holds a credential, and of which kind: every string, property names included. Never the value. */
export function credentialFindings(value: unknown, at = "record"): { path: string; kinds: string[] }[] {
    if (typeof value === "string") {
        const kinds = credentialKindsIn(value);
        return kinds.length ? [{ path: at, kinds }] : [];
    }
    if (Array.isArray(value)) {
        return value.flatMap((item, i) => credentialFindings(item, `${at}[${i}]`));
    }
    if (value !== null && typeof value === "object") {
        return Object.entries(value).flatMap(([key, child]) => {
            const inKey = credentialKindsIn(key);
            const found = credentialFindings(child, propertyPath(at, key));
            return inKey.length ? [{ path: `${at} (a property name)`, kinds: inKey }, ...found] : found;
        });
    }
    return [];
}

/** `/resources/0/links` (ajv's JSON Pointer; recordProblems writes the root as `/`) as `record.resources[0].links`. */
function pointerToPath(pointer: string): string {
    if (pointer === "/") {
        return "record";
    }
    return pointer
        .split("/")
        .slice(1)
        .map((segment) => segment.replace(/~1/g, "/").replace(/~0/g, "~"))
        .reduce((at, key) => (/^\d+$/.test(key) ? `${at}[${key}]` : propertyPath(at, key)), "record");
}

/** Problems of each sort shown in one error, at most. */
const MAX_LISTED = 10;

function listed(items: string[]): string {
    const shown = items.slice(0, MAX_LISTED);
    return items.length > MAX_LISTED ? `${shown.join(", ")} and ${items.length - MAX_LISTED} more` : shown.join(", ");
}

/**
 * Refuses a record that must not be published: a Pulumi secret, a credential
 * in any string, or a record that does not match environments/record.schema.json
 * (consumers parse events against it). The error names each field's path and
 * the kind of credential, never the value.
 */
export function assertPublishableRecord(record: unknown): void {
    assertNoSecrets(record);
    const credentials = credentialFindings(record).map((f) => `${f.path} (${f.kinds.join(", ")})`);
    const invalid = recordProblems(record).map((line) => {
        // recordProblems writes `<JSON Pointer>: <message>`; ajv's messages never quote the value.
        const split = line.indexOf(": ");
        return `${pointerToPath(line.slice(0, split))} ${line.slice(split + 2)}`;
    });
    const reasons = [
        ...(credentials.length ? [`credentials at ${listed(credentials)}`] : []),
        ...(invalid.length ? [`not valid against environments/record.schema.json: ${listed(invalid)}`] : []),
    ];
    if (reasons.length > 0) {
        throw new Error(`refusing to publish the environment record: ${reasons.join("; ")}`);
    }
}

/**
 * Waits before attempts 2..n: exponential (initial, 2x, 4x…) capped at max, with
 * "equal jitter" (each wait is in [half, all] of its step), so clients that failed
 * together do not retry together, and no wait is ever shorter than half its step.
 */
export function backoffDelays(attempts: number, initialDelayMs: number, maxDelayMs: number, random: () => number = Math.random): number[] {
    if (!Number.isInteger(attempts) || attempts < 1) {
        throw new Error(`attempts must be a whole number >= 1, got ${attempts}`);
    }
    if (!(initialDelayMs >= 0) || !(maxDelayMs >= initialDelayMs)) {
        throw new Error(`delays must satisfy 0 <= initialDelayMs (${initialDelayMs}) <= maxDelayMs (${maxDelayMs})`);
    }
    return Array.from({ length: attempts - 1 }, (_, i) => {
        const step = Math.min(maxDelayMs, initialDelayMs * 2 ** i);
        const r = Math.min(Math.max(random(), 0), 1);
        return Math.round(step / 2 + (step / 2) * r);
    });
}

/** "host:port" of an AMQP URL: what messages may name (never the user or password). */
export function brokerAddress(url: string): string {
    let parsed: URL;
    try {
        parsed = new URL(url);
    } catch {
        throw new Error("the events URL is not a valid URL (expected amqp://user:password@host:port/vhost)");
    }
    if (parsed.protocol !== "amqp:" && parsed.protocol !== "amqps:") {
        throw new Error(`the events URL must start with amqp:// or amqps://, got ${parsed.protocol}//`);
    }
    const port = parsed.port || (parsed.protocol === "amqps:" ? "5671" : "5672");
    return `${parsed.hostname}:${port}`;
}

/** Removes the URL's credentials from a message that a library may have built from it. */
function redact(text: string, url: string): string {
    const password = new URL(url).password;
    let decoded = password;
    try {
        decoded = decodeURIComponent(password);
    } catch {
        // not percent-encoded
    }
    const secrets = [url, password, decoded].filter((s) => s.length > 0);
    return secrets.reduce((out, secret) => out.split(secret).join("***"), text);
}

/** Errors a retry cannot fix: refused credentials or permissions (403), an exchange declared with another type (406). */
function isPermanent(error: unknown): boolean {
    const code = (error as { code?: unknown } | null)?.code;
    const message = error instanceof Error ? error.message : String(error);
    return code === 403 || code === 406 || /\b403 \(ACCESS-REFUSED\)/.test(message);
}

function messageOf(error: unknown): string {
    return error instanceof Error ? error.message : String(error);
}

/**
 * Publishes the event and resolves once the broker has confirmed it (for a durable
 * queue, after the message is on disk). Retries the whole connect-and-publish on
 * connection errors, timeouts and nacks; throws after the last attempt.
 */
export async function publishEnvironmentEvent(event: EnvironmentEvent, options: PublishOptions): Promise<void> {
    const exchange = options.exchange ?? DEFAULT_EXCHANGE;
    const attempts = options.attempts ?? 5;
    const timeoutMs = options.timeoutMs ?? 10_000;
    const logger = options.logger ?? ((line: string) => console.error(line));
    const address = brokerAddress(options.url);
    // Checked again: an event can be built without environmentEvent.
    assertPublishableRecord(event.record);
    const delays = backoffDelays(attempts, options.initialDelayMs ?? 200, options.maxDelayMs ?? 5000, options.random);
    const body = Buffer.from(JSON.stringify(event));

    for (let attempt = 1; ; attempt++) {
        try {
            await publishOnce(options.url, exchange, event, body, timeoutMs);
            return;
        } catch (error) {
            const reason = redact(messageOf(error), options.url);
            const permanent = isPermanent(error);
            if (permanent || attempt >= attempts) {
                throw new Error(
                    `could not publish ${event.type} for ${event.environment} to ${address} after ${attempt} attempt${attempt === 1 ? "" : "s"}: ${reason}` +
                        (permanent ? " (not retried: retrying cannot fix this)" : ""),
                );
            }
            const delay = delays[attempt - 1];
            logger(`environment events: attempt ${attempt}/${attempts} to publish ${event.type} to ${address} failed (${reason}); retrying in ${delay} ms`);
            await new Promise((resolve) => setTimeout(resolve, delay));
        }
    }
}

/** One attempt on its own connection, bounded by `timeoutMs`; the connection is always closed. */
async function publishOnce(url: string, exchange: string, event: EnvironmentEvent, body: Buffer, timeoutMs: number): Promise<void> {
    let model: ChannelModel | undefined;
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    // Connection and channel errors are also emitted as events; an EventEmitter
    // without an "error" listener would throw them out of amqplib's socket handler.
    let fail: (error: Error) => void = () => undefined;
    const failed = new Promise<never>((_, reject) => (fail = reject));
    failed.catch(() => undefined);

    const work = async (): Promise<void> => {
        // `timeout` bounds the TCP connect and handshake; the timer below bounds the rest.
        const opened = await connect(url, { timeout: timeoutMs, clientProperties: { connection_name: `environment events (${event.environment})` } });
        model = opened;
        if (timedOut) {
            // The attempt was given up while connecting: nothing else will close this one.
            await closeQuietly(opened);
            return;
        }
        opened.on("error", (error: Error) => fail(error));
        opened.on("close", () => fail(new Error("the broker closed the connection")));
        const channel: ConfirmChannel = await Promise.race([opened.createConfirmChannel(), failed]);
        channel.on("error", (error: Error) => fail(error));
        await Promise.race([channel.assertExchange(exchange, "topic", { durable: true }), failed]);
        const confirmed = new Promise<void>((resolve, reject) => {
            channel.publish(
                exchange,
                event.type,
                body,
                {
                    persistent: true,
                    contentType: "application/json",
                    contentEncoding: "utf-8",
                    messageId: event.id,
                    type: event.type,
                    timestamp: Math.floor(Date.parse(event.occurredAt) / 1000),
                    appId: "platform-gitops",
                },
                // amqplib passes an Error when the broker nacks (or the channel closes first).
                (error: unknown) => (error ? reject(new Error(`the broker did not confirm the message: ${messageOf(error)}`)) : resolve()),
            );
        });
        await Promise.race([confirmed, failed]);
    };

    const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
            timedOut = true;
            reject(new Error(`timed out after ${timeoutMs} ms`));
        }, timeoutMs);
    });
    try {
        await Promise.race([work(), timeout]);
    } finally {
        clearTimeout(timer);
        fail = () => undefined;
        await closeQuietly(model);
    }
}

/**
 * Closing can fail when the broker already dropped the connection, and can wait
 * forever on a half-open socket; the outcome is already known, so neither matters.
 */
async function closeQuietly(model: ChannelModel | undefined): Promise<void> {
    if (!model) {
        return;
    }
    let timer: NodeJS.Timeout | undefined;
    try {
        await Promise.race([model.close(), new Promise<void>((resolve) => (timer = setTimeout(resolve, 2000).unref()))]);
    } catch {
        // already closed
    } finally {
        clearTimeout(timer);
    }
}
