import { describe, expect, it } from "vitest";

import { continueTrace, parseTraceparent, traceparentOf, validTraceparent } from "./trace";

describe("W3C trace context on the bus", () => {
    it("continues a caller's trace with a new span, keeping the sampled flag", () => {
        const next = continueTrace("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        expect(next.traceId).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
        expect(next.spanId).toMatch(/^[0-9a-f]{16}$/);
        expect(next.spanId).not.toBe("00f067aa0ba902b7");
        expect(traceparentOf(next)).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
        expect(continueTrace("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00").sampled).toBe(false);
    });

    it("starts a new trace for a missing, malformed or all-zero header", () => {
        for (const header of [undefined, "", "garbage", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", 42]) {
            const next = continueTrace(header);
            expect(next.traceId).toMatch(/^[0-9a-f]{32}$/);
            expect(next.traceId).not.toBe("4bf92f3577b34da6a3ce929d0e0e4736");
            expect(next.sampled).toBe(true);
        }
    });

    it("parses the four fields of a traceparent, and nothing else", () => {
        expect(parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")).toEqual({ version: "00", traceId: "4bf92f3577b34da6a3ce929d0e0e4736", parentId: "00f067aa0ba902b7", flags: "01" });
        for (const value of [undefined, 42, "", "garbage", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7", " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"]) {
            expect(parseTraceparent(value)).toBeUndefined();
        }
    });

    it("passes a command's traceparent on trimmed and lower-cased, and drops a malformed one or the all-zero trace id", () => {
        const header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        expect(validTraceparent(header)).toBe(header);
        expect(validTraceparent(` ${header.toUpperCase()}\t`)).toBe(header);
        for (const value of [undefined, 42, "", "garbage", `${header}-extra`, "00-00000000000000000000000000000000-00f067aa0ba902b7-01"]) {
            expect(validTraceparent(value)).toBeUndefined();
        }
    });
});
