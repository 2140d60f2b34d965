/**
 * W3C trace context (https://www.w3.org/TR/trace-context/) carried through
 * AMQP headers: the mesh traces HTTP between pods, not messages on the bus, so
 * a command's `traceparent` header is continued by every notification it causes.
 */
import { randomBytes } from "node:crypto";

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export interface TraceContext {
    traceId: string;
    /** The span of this hop (the parent of whatever it sends). */
    spanId: string;
    sampled: boolean;
}

/** The context of an incoming message, or a new root one when it carries none (or a malformed one). */
export function continueTrace(traceparent: unknown): TraceContext {
    const match = typeof traceparent === "string" ? TRACEPARENT.exec(traceparent) : null;
    if (!match || /^0+$/.test(match[1]) || /^0+$/.test(match[2])) {
        return { traceId: randomBytes(16).toString("hex"), spanId: randomBytes(8).toString("hex"), sampled: true };
    }
    return { traceId: match[1], spanId: randomBytes(8).toString("hex"), sampled: (parseInt(match[3], 16) & 1) === 1 };
}

/** The header value a message sent within `context` carries. */
export function traceparentOf(context: TraceContext): string {
    return `00-${context.traceId}-${context.spanId}-${context.sampled ? "01" : "00"}`;
}
