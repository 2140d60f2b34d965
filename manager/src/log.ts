/**
 * The manager's logger: pino, one JSON object per line on stdout (the
 * cluster's log collector reads it). Secrets never reach a line: the
 * authorization header, passwords and tokens are censored by path, and any
 * string value holding a URL with credentials (`amqp://user:pass@host`) has
 * them replaced, wherever it sits in the object or the message.
 */
import pino from "pino";

/** Paths pino censors outright (a wildcard is one level, so the common nestings are listed). */
export const REDACT_PATHS: readonly string[] = [
    "req.headers.authorization",
    "req.headers.cookie",
    "request.headers.authorization",
    "headers.authorization",
    "headers.cookie",
    "authorization",
    "password",
    "token",
    "secret",
    "*.password",
    "*.token",
    "*.secret",
    "*.accessToken",
    "*.refreshToken",
    "*.*.password",
    "*.*.token",
    "*.*.secret",
];

export const CENSORED = "[redacted]";

/** `scheme://user:pass@host` → `scheme://[redacted]@host` (also `user@` alone: it names an account). */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi;

/** A text with every URL's credentials replaced. */
export function scrubUrlCredentials(text: string): string {
    return text.replace(URL_CREDENTIALS, `$1${CENSORED}@`);
}

/** A copy of `value` with URL credentials scrubbed from every string (depth-limited: log objects are small). */
function scrub(value: unknown, depth: number): unknown {
    if (typeof value === "string") {
        return scrubUrlCredentials(value);
    }
    if (depth <= 0 || value === null || typeof value !== "object") {
        return value;
    }
    if (value instanceof Error) {
        // Still an Error of the same class (pino's err serializer keeps its type), with its text scrubbed.
        const copy = Object.assign(Object.create(Object.getPrototypeOf(value) as object) as Error, scrub({ ...value }, depth - 1));
        copy.message = scrubUrlCredentials(value.message);
        copy.stack = value.stack === undefined ? undefined : scrubUrlCredentials(value.stack);
        return copy;
    }
    if (Array.isArray(value)) {
        return value.map((v) => scrub(v, depth - 1));
    }
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
        // A class instance (fastify's request, a Buffer): its serializer, which runs after this, decides what is logged.
        return value;
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
        out[k] = scrub(v, depth - 1);
    }
    return out;
}

export interface LoggerOptions {
    level?: pino.Level | "silent";
    /** The `name` field of every line. */
    name?: string;
    /** Where lines go (tests capture them); stdout by default. */
    destination?: pino.DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): pino.Logger {
    const settings: pino.LoggerOptions = {
        name: options.name ?? "environment-manager",
        level: options.level ?? "info",
        redact: { paths: [...REDACT_PATHS], censor: CENSORED },
        // ISO time: read by people and the collector alike.
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: {
            level: (label) => ({ level: label }),
            log: (object) => scrub(object, 6) as Record<string, unknown>,
        },
        hooks: {
            // The message string too (formatters.log sees only the object).
            logMethod(args, method) {
                const scrubbed = args.map((a) => (typeof a === "string" ? scrubUrlCredentials(a) : a));
                method.apply(this, scrubbed as Parameters<pino.LogFn>);
            },
        },
    };
    return options.destination ? pino(settings, options.destination) : pino(settings);
}
