import { BrokenCircuitError } from "cockatiel";
import { describe, expect, it } from "vitest";

import type { Executor } from "./executor/executor";
import { notSent, resilientBackendReads, resilientStore, transientForRead } from "./resilience";
import type { Store } from "./store/store";

const refused = () => Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
const reset = () => Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });

/** A store whose calls fail with the given errors, in order, then succeed; counts the calls. */
function flakyStore(failures: Partial<Record<keyof Store, (() => Error)[]>>): { store: Store; calls: Record<string, number> } {
    const calls: Record<string, number> = {};
    const store = new Proxy({} as Store, {
        get(_target, property) {
            return async () => {
                const name = String(property);
                calls[name] = (calls[name] ?? 0) + 1;
                const next = failures[property as keyof Store]?.shift();
                if (next) {
                    throw next();
                }
                return name === "getEnvironment" ? { name: "review-1" } : undefined;
            };
        },
    });
    return { store, calls };
}

describe("the store's retries and breaker", () => {
    it("tells errors apart: not sent, lost, and the rest", () => {
        expect([notSent(refused()), notSent(reset()), notSent(new Error("syntax error"))]).toEqual([true, false, false]);
        expect([transientForRead(reset()), transientForRead(Object.assign(new Error("x"), { code: "57P01" })), transientForRead(Object.assign(new Error("x"), { code: "23505" }))]).toEqual([true, true, false]);
    });

    it("retries a read after a lost connection, and a write only when it was never sent", async () => {
        const { store, calls } = flakyStore({ getEnvironment: [reset, reset], audit: [reset], appendLog: [refused] });
        const resilient = resilientStore(store, { initialDelayMs: 1, maxDelayMs: 2 });
        expect(await resilient.getEnvironment("review-1")).toEqual({ name: "review-1" });
        expect(calls.getEnvironment).toBe(3);
        // The audit entry may have been written before the connection dropped: not written twice.
        await expect(resilient.audit({ at: "", actor: "a", action: "x", outcome: "y" })).rejects.toThrow("ECONNRESET");
        expect(calls.audit).toBe(1);
        await resilient.appendLog("c", ["line"]);
        expect(calls.appendLog).toBe(2);
    });

    it("opens the breaker after consecutive failures and fails fast until it half-opens", async () => {
        const { store, calls } = flakyStore({ ping: Array.from({ length: 20 }, () => refused) });
        const resilient = resilientStore(store, { attempts: 1, breakerThreshold: 3, halfOpenAfterMs: 60_000 });
        for (let i = 0; i < 3; i++) {
            await expect(resilient.ping()).rejects.toThrow("ECONNREFUSED");
        }
        await expect(resilient.ping()).rejects.toBeInstanceOf(BrokenCircuitError);
        expect(calls.ping).toBe(3);
    });
});

describe("the state backend's reads", () => {
    it("retries a failed read of every stack, and times out a hung one", async () => {
        let n = 0;
        const executor: Executor = {
            execute: () => Promise.reject(new Error("unused")),
            recover: () => Promise.resolve(),
            checkDrift: () => Promise.reject(new Error("unused")),
            readAll: () => (++n === 1 ? Promise.reject(new Error("backend unreachable")) : Promise.resolve([{ name: "review-1" }])),
        };
        expect(await resilientBackendReads(executor, { initialDelayMs: 1 }).readAll()).toEqual([{ name: "review-1" }]);
        expect(n).toBe(2);
        const hung: Executor = { ...executor, readAll: () => new Promise(() => undefined) };
        await expect(resilientBackendReads(hung, { timeoutMs: 50, attempts: 1 }).readAll()).rejects.toThrow(/timed out/i);
    });
});
