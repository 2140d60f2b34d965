/**
 * Environment change events against a real RabbitMQ broker (test/helpers/rabbitmq.ts):
 * delivery and message properties, publisher confirms (and nacks), retries with
 * backoff, and the publish-event CLI.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { Channel, ChannelModel, connect, ConsumeMessage } from "amqplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { DEFAULT_EXCHANGE, environmentEvent, EnvironmentEvent, publishEnvironmentEvent } from "../../environments/events";
import { REPO_ROOT } from "../helpers/engine";
import { freePorts, RabbitBroker, startRabbitMQ } from "../helpers/rabbitmq";
import { VALID_RECORD } from "../helpers/records";

let broker: RabbitBroker;
let model: ChannelModel;
let channel: Channel;
let tmp: string;

beforeAll(async () => {
    broker = await startRabbitMQ();
    model = await connect(broker.url);
    channel = await model.createChannel();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "platform-events-"));
});

afterAll(async () => {
    await model?.close().catch(() => undefined);
    await broker?.stop();
    if (tmp) {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
});

/** A record valid against environments/record.schema.json: anything else is refused before publishing. */
const record = VALID_RECORD;

/** A server-named queue bound to the exchange (declared as the publisher declares it), deleted with the test's channel. */
async function boundQueue(pattern: string, exchange = DEFAULT_EXCHANGE, args: Record<string, unknown> = {}): Promise<string> {
    await channel.assertExchange(exchange, "topic", { durable: true });
    const { queue } = await channel.assertQueue("", { exclusive: true, arguments: args });
    await channel.bindQueue(queue, exchange, pattern);
    return queue;
}

/** The next message on the queue, consumed and acknowledged. */
async function nextMessage(queue: string, timeoutMs = 10_000): Promise<ConsumeMessage> {
    let tag = "";
    const message = await new Promise<ConsumeMessage>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no message on ${queue} within ${timeoutMs} ms`)), timeoutMs);
        channel
            .consume(queue, (msg) => {
                if (msg) {
                    clearTimeout(timer);
                    channel.ack(msg);
                    resolve(msg);
                }
            })
            .then((reply) => (tag = reply.consumerTag), reject);
    });
    await channel.cancel(tag);
    return message;
}

/** A TCP proxy from a local port to the broker: "the broker comes up" on that port when it starts. */
function startProxy(port: number, target: number): Promise<net.Server> {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((client) => {
        const upstream = net.connect(target, "127.0.0.1");
        for (const s of [client, upstream]) {
            sockets.add(s);
            s.on("close", () => sockets.delete(s));
            s.on("error", () => undefined);
        }
        client.pipe(upstream).pipe(client);
    });
    server.on("close", () => sockets.forEach((s) => s.destroy()));
    return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
}

function closeServer(server: net.Server): Promise<void> {
    return new Promise((resolve) => server.close(() => resolve()));
}

function urlWithPort(port: number, password = broker.password): string {
    return `amqp://${broker.user}:${password}@127.0.0.1:${port}/`;
}

describe("publishEnvironmentEvent, real broker", () => {
    it("(a) delivers to a queue bound with environment.*: routing key, persistent, JSON, message id", async () => {
        const all = await boundQueue("environment.*");
        const createdOnly = await boundQueue("environment.created");
        const event = environmentEvent("environment.updated", "local", record, new Date("2026-03-01T12:00:00Z"));

        await publishEnvironmentEvent(event, { url: broker.url });

        const message = await nextMessage(all);
        expect(message.fields.exchange).toBe("platform.environments");
        expect(message.fields.routingKey).toBe("environment.updated");
        expect(message.properties.deliveryMode).toBe(2);
        expect(message.properties.contentType).toBe("application/json");
        expect(message.properties.messageId).toBe(event.id);
        expect(message.properties.timestamp).toBe(Date.parse("2026-03-01T12:00:00Z") / 1000);
        expect(JSON.parse(message.content.toString("utf8")) as EnvironmentEvent).toEqual(event);
        // The topic exchange routes by type: a created-only subscriber does not see updates.
        expect((await channel.checkQueue(createdOnly)).messageCount).toBe(0);
        // The exchange is durable: it survives a broker restart.
        const declared = await channel.assertExchange("platform.environments", "topic", { durable: true });
        expect(declared.exchange).toBe("platform.environments");
    });

    it("(b) resolves only once the broker has confirmed: the message is in the queue when it returns", async () => {
        const exchange = "test.confirms";
        await channel.assertExchange(exchange, "topic", { durable: true });
        const { queue } = await channel.assertQueue("test.confirms.durable", { durable: true });
        await channel.bindQueue(queue, exchange, "#");
        try {
            await publishEnvironmentEvent(environmentEvent("environment.created", "local", record), { url: broker.url, exchange });
            // The publisher's connection is closed already; no waiting here.
            expect((await channel.checkQueue(queue)).messageCount).toBe(1);
        } finally {
            await channel.deleteQueue(queue);
        }
    });

    it("(b) treats a nack as a failure: retried, then rejected", async () => {
        const exchange = "test.nacks";
        // A full queue that rejects new messages makes the broker nack the publish.
        await boundQueue("#", exchange, { "x-max-length": 0, "x-overflow": "reject-publish" });
        const lines: string[] = [];
        const publishing = publishEnvironmentEvent(environmentEvent("environment.created", "local", record), {
            url: broker.url,
            exchange,
            attempts: 2,
            initialDelayMs: 10,
            logger: (line) => lines.push(line),
        });
        await expect(publishing).rejects.toThrow(/after 2 attempts: the broker did not confirm the message: message nacked/);
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(/attempt 1\/2 .* failed \(the broker did not confirm the message: message nacked\); retrying in \d+ ms/);
    });

    it("(c) retries with backoff until the broker is reachable, then delivers", async () => {
        const queue = await boundQueue("environment.destroyed");
        const [port] = await freePorts(1);
        const lines: string[] = [];
        let proxy: net.Server | undefined;
        let proxyStarting: Promise<net.Server> | undefined;
        const event = environmentEvent("environment.destroyed", "review-42", record);
        try {
            // Nothing listens on `port` until two attempts have failed; then the proxy brings the broker there.
            await publishEnvironmentEvent(event, {
                url: urlWithPort(port),
                attempts: 10,
                initialDelayMs: 100,
                maxDelayMs: 400,
                logger: (line) => {
                    lines.push(line);
                    if (lines.length === 2) {
                        proxyStarting = startProxy(port, broker.port).then((server) => (proxy = server));
                    }
                },
            });
            expect(lines.length).toBeGreaterThanOrEqual(2);
            for (const [i, line] of lines.entries()) {
                expect(line).toMatch(new RegExp(`attempt ${i + 1}/10 to publish environment.destroyed to 127.0.0.1:${port} failed \\(.*ECONNREFUSED.*\\); retrying in \\d+ ms`));
                expect(line).not.toContain(broker.password);
            }
            const message = await nextMessage(queue);
            expect(message.properties.messageId).toBe(event.id);
        } finally {
            await proxyStarting;
            if (proxy) {
                await closeServer(proxy);
            }
        }
    });

    it("(c) gives up after the last attempt, naming the host and the attempts, never the password", async () => {
        const [port] = await freePorts(1);
        const password = "hunter2-s3cret";
        const lines: string[] = [];
        const started = Date.now();
        const error = await publishEnvironmentEvent(environmentEvent("environment.updated", "dev", record), {
            url: urlWithPort(port, password),
            attempts: 3,
            initialDelayMs: 40,
            logger: (line) => lines.push(line),
        }).then(
            () => new Error("published to a port with nothing listening"),
            (e: unknown) => e as Error,
        );
        expect(error.message).toMatch(new RegExp(`^could not publish environment.updated for dev to 127.0.0.1:${port} after 3 attempts: .*ECONNREFUSED`));
        expect(error.message).not.toContain(password);
        expect(lines).toHaveLength(2);
        expect(lines.join("\n")).not.toContain(password);
        // Two waits, each at least half its step (40 ms, then 80 ms).
        expect(Date.now() - started).toBeGreaterThanOrEqual(20 + 40);
    });

    it("(c) bounds each attempt: a server that accepts and never answers times out", async () => {
        const silent = net.createServer(() => undefined);
        const sockets: net.Socket[] = [];
        silent.on("connection", (s) => sockets.push(s));
        await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", () => resolve()));
        const { port } = silent.address() as net.AddressInfo;
        const started = Date.now();
        try {
            await expect(
                publishEnvironmentEvent(environmentEvent("environment.updated", "dev", record), {
                    url: urlWithPort(port),
                    attempts: 2,
                    initialDelayMs: 10,
                    timeoutMs: 300,
                    logger: () => undefined,
                }),
            ).rejects.toThrow(new RegExp(`to 127.0.0.1:${port} after 2 attempts: .*(ETIMEDOUT|timed out after 300 ms)`));
            expect(Date.now() - started).toBeLessThan(5_000);
        } finally {
            sockets.forEach((s) => s.destroy());
            await closeServer(silent);
        }
    });

    it("does not retry refused credentials, and does not print them", async () => {
        const lines: string[] = [];
        const publishing = publishEnvironmentEvent(environmentEvent("environment.updated", "dev", record), {
            url: urlWithPort(broker.port, "wrong-password-123"),
            logger: (line) => lines.push(line),
        });
        await expect(publishing).rejects.toThrow(/after 1 attempt: .*403 \(ACCESS-REFUSED\).*\(not retried/);
        await expect(publishing).rejects.not.toThrow(/wrong-password-123/);
        expect(lines).toEqual([]);
    });
});

interface CliResult {
    status: number | null;
    stdout: string;
    stderr: string;
}

/** Runs the CLI as a deployment would: tsx, from the repository root. */
function runCli(args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<CliResult> {
    const { PLATFORM_EVENTS_URL: _url, PLATFORM_EVENTS_EXCHANGE: _exchange, ...base } = process.env;
    return new Promise((resolve, reject) => {
        const child = spawn(path.join(REPO_ROOT, "node_modules", ".bin", "tsx"), ["scripts/publish-event.ts", ...args], {
            cwd: REPO_ROOT,
            env: { ...base, ...env },
            stdio: ["pipe", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
        child.on("error", reject);
        child.on("close", (status) => resolve({ status, stdout, stderr }));
        child.stdin.end(input ?? "");
    });
}

describe("scripts/publish-event.ts, real broker", () => {
    it("(d) publishes `created local <file>` to PLATFORM_EVENTS_URL", async () => {
        const queue = await boundQueue("environment.created");
        const file = path.join(tmp, "record.json");
        fs.writeFileSync(file, JSON.stringify(record));

        const result = await runCli(["created", "local", file], { PLATFORM_EVENTS_URL: broker.url });

        expect(result.status, result.stdout + result.stderr).toBe(0);
        expect(result.stdout).toMatch(new RegExp(`^published environment.created for local \\(id [0-9a-f-]{36}\\) to 127.0.0.1:${broker.port}\\n$`));
        expect(result.stdout + result.stderr).not.toContain(broker.password);
        const message = await nextMessage(queue);
        const body = JSON.parse(message.content.toString("utf8")) as EnvironmentEvent;
        expect(body).toMatchObject({ type: "environment.created", environment: "local", record });
        expect(message.properties.messageId).toBe(body.id);
        expect(result.stdout).toContain(body.id);
    });

    it("(d) reads the record from stdin with -", async () => {
        const queue = await boundQueue("environment.updated");
        const result = await runCli(["updated", "dev", "-"], { PLATFORM_EVENTS_URL: broker.url }, JSON.stringify(record));
        expect(result.status, result.stdout + result.stderr).toBe(0);
        const body = JSON.parse((await nextMessage(queue)).content.toString("utf8")) as EnvironmentEvent;
        expect(body).toMatchObject({ type: "environment.updated", environment: "dev", record });
    });

    it("(d) without PLATFORM_EVENTS_URL, says events are off and exits 0", async () => {
        const queue = await boundQueue("environment.*");
        const result = await runCli(["created", "local", path.join(tmp, "does-not-matter.json")], {});
        expect(result.status, result.stderr).toBe(0);
        expect(result.stdout).toBe("environment events are off (PLATFORM_EVENTS_URL is not set): environment.created for local not published\n");
        expect((await channel.checkQueue(queue)).messageCount).toBe(0);
    });

    it("exits 1 naming the host and attempts when the broker stays unreachable", async () => {
        const [port] = await freePorts(1);
        const result = await runCli(["destroyed", "local", "-"], { PLATFORM_EVENTS_URL: urlWithPort(port, "cli-s3cret") }, JSON.stringify(record));
        expect(result.status).toBe(1);
        expect(result.stderr).toMatch(new RegExp(`publish-event: could not publish environment.destroyed for local to 127.0.0.1:${port} after 5 attempts`));
        expect(result.stderr).toContain("retrying in");
        expect(result.stdout + result.stderr).not.toContain("cli-s3cret");
    });

    it("exits 1 with the usage on bad arguments, and on a record that is not JSON", async () => {
        const usage = await runCli(["deleted", "local", "-"], { PLATFORM_EVENTS_URL: broker.url });
        expect(usage.status).toBe(1);
        expect(usage.stderr).toContain('unknown event "deleted": expected created, updated or destroyed');
        const notJson = await runCli(["updated", "local", "-"], { PLATFORM_EVENTS_URL: broker.url }, "not json");
        expect(notJson.status).toBe(1);
        expect(notJson.stderr).toContain("the record in stdin is not JSON");
    });
});
