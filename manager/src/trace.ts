/**
 * W3C trace context (https://www.w3.org/TR/trace-context/) carried through
 * AMQP headers: the mesh traces HTTP between pods, not messages on the bus, so
 * a command's `traceparent` header is continued by every notification it causes.
 *
 * The one place a `traceparent` is parsed: the REST API's incoming header
 * (continueTrace) and the header of a command on the bus (validTraceparent).
 */
import { randomBytes } from "node:crypto";

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ALL_ZERO = /^0+$/;

/** The four fields of a `traceparent` header value. */
export interface Traceparent {
    version: string;
    traceId: string;
    /** The sender's span. */
    parentId: string;
    flags: string;
}

/**
 * The fields of a `traceparent` written exactly as the spec spells it (lower-case
 * hex, any version), or undefined. The all-zero ids are the callers' to refuse.
 */
export function parseTraceparent(value: unknown): Traceparent | undefined {
    const match = typeof value === "string" ? TRACEPARENT.exec(value) : null;
    return match ? { version: match[1], traceId: match[2], parentId: match[3], flags: match[4] } : undefined;
}

/** A well-formed `traceparent` (trimmed, lower-cased), or undefined: a malformed one, or one with the all-zero trace id, is dropped, not passed on. */
export function validTraceparent(value: unknown): string | undefined {
    if (typeof value !== "string") {
        return undefined;
    }
    const normalized = value.trim().toLowerCase();
    const parsed = parseTraceparent(normalized);
    return parsed && !ALL_ZERO.test(parsed.traceId) ? normalized : undefined;
}

export interface TraceContext {
    traceId: string;
    /** The span of this hop (the parent of whatever it sends). */
    spanId: string;
    sampled: boolean;
}

/** The context of an incoming message, or a new root one when it carries none (or a malformed one: not version 00, or an all-zero id). */
export function continueTrace(traceparent: unknown): TraceContext {
    const parsed = parseTraceparent(traceparent);
    if (!parsed || parsed.version !== "00" || ALL_ZERO.test(parsed.traceId) || ALL_ZERO.test(parsed.parentId)) {
        return { traceId: randomBytes(16).toString("hex"), spanId: randomBytes(8).toString("hex"), sampled: true };
    }
    return { traceId: parsed.traceId, spanId: randomBytes(8).toString("hex"), sampled: (parseInt(parsed.flags, 16) & 1) === 1 };
}

/** The header value a message sent within `context` carries. */
export function traceparentOf(context: TraceContext): string {
    return `00-${context.traceId}-${context.spanId}-${context.sampled ? "01" : "00"}`;
}
