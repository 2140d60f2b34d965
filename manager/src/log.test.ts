import { Writable } from "node:stream";

import { describe, expect, it } from "vitest";

import { createLogger, scrubUrlCredentials } from "./log";

function capture() {
    const lines: Record<string, unknown>[] = [];
    const destination = new Writable({
        write(chunk: Buffer, _enc, done) {
            for (const l of chunk.toString("utf8").split("\n").filter((x) => x !== "")) {
                lines.push(JSON.parse(l) as Record<string, unknown>);
            }
            done();
        },
    });
    return { lines, logger: createLogger({ destination }) };
}

describe("createLogger", () => {
    it("censors authorization headers, passwords and tokens", () => {
        const { lines, logger } = capture();
        logger.info({ req: { method: "GET", headers: { authorization: "Bearer abc.def.ghi", accept: "json" } }, password: "hunter2", db: { password: "pw", user: "u" }, token: "t0k" }, "x");
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatchObject({
            level: "info",
            msg: "x",
            req: { method: "GET", headers: { authorization: "[redacted]", accept: "json" } },
            password: "[redacted]",
            db: { password: "[redacted]", user: "u" },
            token: "[redacted]",
        });
        expect(JSON.stringify(lines[0])).not.toMatch(/abc\.def\.ghi|hunter2|t0k/);
    });

    it("removes credentials from URLs in values and in the message", () => {
        const { lines, logger } = capture();
        logger.info({ broker: { url: "amqps://manager:s3cret@rabbit:5671/vhost" }, list: ["postgres://a:b@db/x"] }, "connecting to amqp://guest:guest@localhost:5672");
        expect(lines[0]).toMatchObject({
            broker: { url: "amqps://[redacted]@rabbit:5671/vhost" },
            list: ["postgres://[redacted]@db/x"],
            msg: "connecting to amqp://[redacted]@localhost:5672",
        });
    });

    it("keeps errors readable, scrubbed", () => {
        const { lines, logger } = capture();
        logger.error({ err: new Error("cannot reach https://u:p@host/") }, "failed");
        expect(lines[0].err).toMatchObject({ type: "Error", message: "cannot reach https://[redacted]@host/" });
    });
});

describe("scrubUrlCredentials", () => {
    it("leaves URLs without credentials and e-mail addresses alone", () => {
        expect(scrubUrlCredentials("see https://example.com/a@b and alice@example.com")).toBe("see https://example.com/a@b and alice@example.com");
        expect(scrubUrlCredentials("redis://:pw@cache:6379")).toBe("redis://[redacted]@cache:6379");
    });
});
