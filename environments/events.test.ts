// Pure parts of the event publisher; publishing itself is tested against a real broker in test/engine/events.test.ts.
import { describe, expect, it } from "vitest";

import { VALID_RECORD } from "../test/helpers/records";
import { assertNoSecrets, assertPublishableRecord, backoffDelays, brokerAddress, environmentEvent, EnvironmentEvent, eventTypeFor, publishEnvironmentEvent } from "./events";

const validRecord = VALID_RECORD;

/** The valid record with one field changed (a deep copy: the fixture stays as it is). */
function recordWith(change: (r: typeof validRecord) => void): typeof validRecord {
    const copy = structuredClone(validRecord);
    change(copy);
    return copy;
}

/** The error assertPublishableRecord throws, or "" when it accepts the record. */
function refusalOf(record: unknown): string {
    try {
        assertPublishableRecord(record);
        return "";
    } catch (error) {
        return error instanceof Error ? error.message : String(error);
    }
}

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
        const a = environmentEvent("environment.created", "local", validRecord, now);
        const b = environmentEvent("environment.created", "local", validRecord, now);
        expect(a).toMatchObject({ type: "environment.created", environment: "local", occurredAt: "2026-03-01T12:00:00.000Z", record: validRecord });
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

describe("records checked before publishing", () => {
    it("accepts a valid record, in an event and as the reaper's destroyed record", () => {
        expect(refusalOf(validRecord)).toBe("");
        expect(refusalOf({ ...validRecord, status: "destroyed", plannedDestructionAt: "2026-12-01" })).toBe("");
        expect(environmentEvent("environment.updated", "local", validRecord).record).toEqual(validRecord);
    });

    // Each credential is built from parts, so that no scanner flags this file itself.
    const pem = ["-----BEGIN RSA PRIVATE KEY-----", "MIIEowIBAAKCAQEAx", "-----END RSA PRIVATE KEY-----"].join("\n");
    const awsKey = "AKIA" + "IOSFODNN7EXAMPL3";
    const jwt = ["eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9", "eyJzdWIiOiJwbGF0Zm9ybSJ9", "c2lnbmF0dXJlLXZhbHVl"].join(".");
    it.each([
        ["a URL with a password", (r: typeof validRecord) => (r.entrypoints[1] = "amqp://platform:hunter2@rabbitmq:5672"), "record.entrypoints[1]", "URL with a password", "hunter2"],
        ["a URL with a password and no user", (r: typeof validRecord) => (r.description = "cache at redis://:hunter2@cache:6379"), "record.description", "URL with a password", "hunter2"],
        ["a PEM private key", (r: typeof validRecord) => (r.description = pem), "record.description", "PEM private key", "MIIEowIBAAKCAQEAx"],
        ["an AWS access key id", (r: typeof validRecord) => (r.tags.repository = `s3 via ${awsKey}`), "record.tags.repository", "AWS access key id", awsKey],
        ["a JWT", (r: typeof validRecord) => (r.resources[0].template = `bearer ${jwt}`), "record.resources[0].template", "JWT", jwt],
        ["a password assignment", (r: typeof validRecord) => (r.description = "db: Host=pg;Password=hunter2;"), "record.description", "password/token assignment", "hunter2"],
        ["a token in a query", (r: typeof validRecord) => (r.statusEndpoints[0] = "http://vault:8200/v1/sys/health?token=hvs.abc123"), "record.statusEndpoints[0]", "password/token assignment", "hvs.abc123"],
        ["a client secret", (r: typeof validRecord) => (r.resources[0].dependsOn = ["client_secret=s3cr3t"]), "record.resources[0].dependsOn[0]", "password/token assignment", "s3cr3t"],
        [
            "an Azure storage connection string",
            (r: typeof validRecord) => (r.tags["cost-center"] = "DefaultEndpointsProtocol=https;AccountName=plat;AccountKey=bXlrZXk=;EndpointSuffix=core.windows.net"),
            'record.tags["cost-center"]',
            "Azure storage connection string",
            "bXlrZXk=",
        ],
    ])("refuses %s, naming the field and the kind, never the value", (_label, change, path, kind, value) => {
        const message = refusalOf(recordWith(change));
        expect(message).toMatch(/^refusing to publish the environment record: credentials at /);
        expect(message).toContain(`${path} (${kind}`);
        expect(message).not.toContain(value);
    });

    it("refuses a credential used as a property name, without spelling it (in the schema's paths either)", () => {
        const message = refusalOf(recordWith((r) => ((r.tags as Record<string, unknown>)[awsKey] = 5)));
        expect(message).toContain("credentials at record.tags (a property name) (AWS access key id)");
        expect(message).toContain("record.tags[<redacted>] must be string");
        expect(message).not.toContain(awsKey);
    });

    it("names every kind a field holds", () => {
        const message = refusalOf(recordWith((r) => (r.description = `token=${jwt}`)));
        expect(message).toContain("record.description (JWT, password/token assignment)");
    });

    it.each([
        ["a masked password", "password=[secret]"],
        ["an asterisked token", "token=***"],
        ["an empty assignment", "password= "],
        ["a URL with a user and no password", "https://git@gitlab.example.com/platform"],
        ["a port, not a password", "http://vault.vault.svc.cluster.local:8200/v1/sys/health"],
        ["words near the keywords", "passwordless sign-in; tokens rotate weekly; secretName=vault-token"],
        ["a base64 text that is no JWT", "eyJ.short.x"],
        ["a key id of the wrong length", "AKIA1234"],
    ])("does not mistake %s for a credential", (_label, text) => {
        expect(refusalOf(recordWith((r) => (r.description = text)))).toBe("");
    });

    it("refuses a record that does not match the schema, naming the field", () => {
        const message = refusalOf(recordWith((r) => ((r as { status: string }).status = "running")));
        expect(message).toBe(
            "refusing to publish the environment record: not valid against environments/record.schema.json: record.status must be equal to one of the allowed values",
        );
        expect(refusalOf(recordWith((r) => (r.resources[0].count = -1)))).toContain("record.resources[0].count must be >= 0");
        expect(refusalOf({ name: "local" })).toContain("record must have required property 'schemaVersion'");
        expect(refusalOf({ name: "local" })).toMatch(/ and \d+ more$/);
    });

    it("reports credentials and schema problems together", () => {
        const message = refusalOf(recordWith((r) => ((r as { status: string }).status = `token=${jwt}`)));
        expect(message).toContain("credentials at record.status (JWT, password/token assignment); not valid against environments/record.schema.json: record.status");
        expect(message).not.toContain(jwt);
    });

    it("refuses such a record when building the event, and again when publishing one built by hand", async () => {
        const bad = recordWith((r) => (r.entrypoints[0] = "https://admin:hunter2@platform.localtest.me"));
        expect(() => environmentEvent("environment.updated", "local", bad)).toThrow(/credentials at record\.entrypoints\[0\] \(URL with a password\)/);
        const handMade: EnvironmentEvent = { type: "environment.updated", id: "00000000-0000-4000-8000-000000000000", occurredAt: "2026-03-01T12:00:00.000Z", environment: "local", record: bad };
        // Refused before any connection: the URL names no reachable broker.
        await expect(publishEnvironmentEvent(handMade, { url: "amqp://user:pw@127.0.0.1:1", attempts: 1 })).rejects.toThrow(/URL with a password/);
    });
});
