// Pure parts of the event publisher; publishing itself is tested against a real broker in test/engine/events.test.ts.
import { describe, expect, it } from "vitest";

import { assertNoSecrets, backoffDelays, brokerAddress, environmentEvent, eventTypeFor } from "./events";

describe("eventTypeFor", () => {
    it("reports the first successful up as created, later ones as updated", () => {
        expect(eventTypeFor(0, "up")).toBe("environment.created");
        expect(eventTypeFor(1, "up")).toBe("environment.updated");
        expect(eventTypeFor(42, "up")).toBe("environment.updated");
    });

    it("reports a destroy as destroyed, whatever came before", () => {
        expect(eventTypeFor(0, "destroy")).toBe("environment.destroyed");
        expect(eventTypeFor(3, "destroy")).toBe("environment.destroyed");
    });

    it("rejects a count that is not a whole number >= 0", () => {
        expect(() => eventTypeFor(-1, "up")).toThrow(/whole number >= 0, got -1/);
        expect(() => eventTypeFor(1.5, "up")).toThrow(/got 1.5/);
        expect(() => eventTypeFor(Number.NaN, "up")).toThrow(/got NaN/);
    });
});

describe("backoffDelays", () => {
    it("waits between attempts only: n attempts, n - 1 waits", () => {
        expect(backoffDelays(1, 200, 5000)).toEqual([]);
        expect(backoffDelays(5, 200, 5000)).toHaveLength(4);
    });

    it("doubles from the initial delay and stops at the maximum (no jitter at its top)", () => {
        expect(backoffDelays(8, 200, 5000, () => 1)).toEqual([200, 400, 800, 1600, 3200, 5000, 5000]);
    });

    it("never waits less than half of a step (jitter at its bottom)", () => {
        expect(backoffDelays(8, 200, 5000, () => 0)).toEqual([100, 200, 400, 800, 1600, 2500, 2500]);
    });

    it("keeps every jittered wait within [half, all] of its step", () => {
        const steps = [200, 400, 800, 1600, 3200, 5000, 5000, 5000, 5000];
        for (let run = 0; run < 100; run++) {
            backoffDelays(10, 200, 5000).forEach((delay, i) => {
                expect(delay).toBeGreaterThanOrEqual(steps[i] / 2);
                expect(delay).toBeLessThanOrEqual(steps[i]);
            });
        }
    });

    it("clamps a jitter source outside [0, 1]", () => {
        expect(backoffDelays(3, 100, 1000, () => 7)).toEqual([100, 200]);
        expect(backoffDelays(3, 100, 1000, () => -3)).toEqual([50, 100]);
    });

    it("rejects impossible settings", () => {
        expect(() => backoffDelays(0, 200, 5000)).toThrow(/attempts must be a whole number >= 1, got 0/);
        expect(() => backoffDelays(3, 500, 100)).toThrow(/initialDelayMs \(500\) <= maxDelayMs \(100\)/);
        expect(() => backoffDelays(3, -1, 100)).toThrow(/0 <= initialDelayMs/);
    });
});

describe("brokerAddress", () => {
    it("names host and port, never the credentials", () => {
        expect(brokerAddress("amqp://user:hunter2@mq.internal:5673/platform")).toBe("mq.internal:5673");
        expect(brokerAddress("amqp://user:hunter2@mq.internal")).toBe("mq.internal:5672");
        expect(brokerAddress("amqps://user:hunter2@mq.internal/")).toBe("mq.internal:5671");
    });

    it("rejects URLs that are not AMQP, without echoing them", () => {
        expect(() => brokerAddress("http://user:hunter2@mq.internal")).toThrow("must start with amqp:// or amqps://, got http://");
        expect(() => brokerAddress("//user:hunter2@mq.internal")).toThrow(/^the events URL is not a valid URL \(expected amqp:/);
        expect(() => brokerAddress("//user:hunter2@mq.internal")).not.toThrow(/hunter2/);
    });
});

describe("environmentEvent", () => {
    it("builds an event with a fresh UUID and an ISO time", () => {
        const now = new Date("2026-03-01T12:00:00Z");
        const a = environmentEvent("environment.created", "local", { name: "local" }, now);
        const b = environmentEvent("environment.created", "local", { name: "local" }, now);
        expect(a).toMatchObject({ type: "environment.created", environment: "local", occurredAt: "2026-03-01T12:00:00.000Z", record: { name: "local" } });
        expect(a.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        expect(b.id).not.toBe(a.id);
    });

    it("rejects an unknown type and an empty environment name", () => {
        // @ts-expect-error: a type the compiler already refuses, as the CLI could pass it
        expect(() => environmentEvent("environment.deleted", "local", {})).toThrow(/unknown event type "environment.deleted"/);
        expect(() => environmentEvent("environment.updated", "", {})).toThrow("the environment name is empty");
    });
});

describe("assertNoSecrets", () => {
    it("accepts a record whose secrets are masked, as `pulumi stack output --json` prints them", () => {
        expect(() => assertNoSecrets({ name: "dev", resources: [{ id: "vault", token: "[secret]" }] })).not.toThrow();
    });

    it("refuses a record holding a Pulumi secret value, naming where", () => {
        const secret = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", plaintext: "s3cret" };
        expect(() => assertNoSecrets({ resources: [{ id: "vault", token: secret }] })).toThrow(/^record\.resources\[0\]\.token holds a Pulumi secret/);
    });
});
