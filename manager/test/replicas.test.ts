/**
 * Two replicas of `platform-manager server --primary` with leader election:
 * a real kube-apiserver for their Lease, a real RabbitMQ broker, and one
 * Postgres server for their shared store, as in a cluster. Only the leader
 * consumes commands; the other serves the API and stands by; when the leader
 * stops, the other takes over and runs the next commands.
 *
 * The commands are destroys of environments that do not exist: each runs the
 * real executor (a `pulumi` call that fails at once), which is all this test
 * needs to see who executes.
 */
import { ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { connect, ChannelModel } from "amqplib";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { fileBackendUrl } from "../../scripts/stack-settings";
import { REPO_ROOT, requirePulumi } from "../../test/helpers/engine";
import { PostgresServer, startPostgres } from "../../test/helpers/postgres";
import { freePorts, RabbitBroker, startRabbitMQ } from "../../test/helpers/rabbitmq";
import { startTestCluster, TestCluster } from "../../test/helpers/test-cluster";

const SECRET = randomUUID() + randomUUID();
let dir: string;
let cluster: TestCluster;
let broker: RabbitBroker;
let postgres: PostgresServer;
let bus: ChannelModel;
const replicas: Replica[] = [];
const finished: { commandId?: string; type: string }[] = [];

interface Replica {
    name: string;
    child: ChildProcess;
    baseUrl: string;
    log(): string;
    exited: Promise<unknown>;
}

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        const value = await probe();
        if (value !== undefined) {
            return value;
        }
        await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`timed out waiting for ${what}\n${replicas.map((r) => `--- ${r.name}\n${r.log().slice(-3000)}`).join("\n")}`);
}

async function startReplica(name: string): Promise<Replica> {
    const [port] = await freePorts(1);
    let output = "";
    const child = spawn(
        process.execPath,
        [
            path.join(REPO_ROOT, "manager", "bin", "platform-manager"),
            "server",
            "--primary",
            "--listen",
            `127.0.0.1:${port}`,
            "--amqp-url-file",
            path.join(dir, "amqp-url"),
            "--database-url-file",
            path.join(dir, "database-url"),
            "--token-secret-file",
            path.join(dir, "token-secret"),
            "--lease-namespace",
            "default",
            "--lease-name",
            "platform-manager",
            "--kubeconfig",
            cluster.kubeconfigPath,
        ],
        {
            env: {
                ...process.env,
                HOSTNAME: name,
                PLATFORM_STATE_BACKEND_URL: fileBackendUrl(path.join(dir, "state")),
                // Never reached: the environments do not exist, so no stack is opened for writing.
                PLATFORM_SECRETS_PROVIDER: "awskms://alias/unused?region=eu-west-2",
                PULUMI_SKIP_UPDATE_CHECK: "true",
            },
            stdio: ["ignore", "pipe", "pipe"],
        },
    );
    child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
    const replica: Replica = { name, child, baseUrl: `http://127.0.0.1:${port}`, log: () => output, exited: new Promise((r) => child.once("exit", r)) };
    replicas.push(replica);
    await until(`${name} to be ready`, async () => {
        if (child.exitCode !== null) {
            throw new Error(`${name} exited with ${child.exitCode}:\n${output}`);
        }
        const r = await fetch(`${replica.baseUrl}/api/v1/readyz`).catch(() => undefined);
        return r?.status === 200 ? true : undefined;
    }, 120_000);
    return replica;
}

const leading = (r: Replica) => r.log().includes("leading: taking commands");

async function send(via: Replica, environment: string): Promise<string> {
    const token = await new SignJWT({ scope: "environments:read environments:write" })
        .setProtectedHeader({ alg: "HS256" })
        .setSubject("dev@example.com")
        .setIssuer("platform")
        .setAudience("platform-manager")
        .setExpirationTime("10m")
        .sign(new TextEncoder().encode(SECRET));
    const commandId = randomUUID();
    const response = await fetch(`${via.baseUrl}/api/v1/commands`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ commandId, type: "environment.destroy", environment, requestedBy: "dev@example.com" }),
    });
    expect(response.status, await response.text()).toBe(202);
    return commandId;
}

beforeAll(async () => {
    requirePulumi();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "platform-manager-replicas-"));
    fs.mkdirSync(path.join(dir, "state"));
    [cluster, broker, postgres] = await Promise.all([startTestCluster(), startRabbitMQ(), startPostgres()]);
    fs.writeFileSync(path.join(dir, "amqp-url"), broker.url, { mode: 0o600 });
    fs.writeFileSync(path.join(dir, "database-url"), postgres.url, { mode: 0o600 });
    fs.writeFileSync(path.join(dir, "token-secret"), SECRET, { mode: 0o600 });
}, 300_000);

afterAll(async () => {
    await bus?.close().catch(() => undefined);
    for (const r of replicas) {
        if (r.child.exitCode === null && r.child.signalCode === null) {
            r.child.kill("SIGTERM");
            await r.exited;
        }
    }
    await Promise.all([cluster?.stop(), broker?.stop(), postgres?.stop()]);
    fs.rmSync(dir, { recursive: true, force: true });
});

describe("two replicas with a Lease", () => {
    it("only the leader executes; when it stops, the other takes over", async () => {
        const [a, b] = [await startReplica("replica-a"), await startReplica("replica-b")];
        const first = await until("one replica to lead", () => (leading(a) ? a : leading(b) ? b : undefined), 30_000);
        const other = first === a ? b : a;
        expect(leading(other)).toBe(false);

        bus = await connect(broker.url);
        const channel = await bus.createChannel();
        const { queue } = await channel.assertQueue("", { exclusive: true });
        await channel.bindQueue(queue, "platform.manager.notifications", "command.*.*");
        await channel.consume(queue, (m) => m && finished.push(JSON.parse(m.content.toString()) as { commandId?: string; type: string }), { noAck: true });

        // Sent through both replicas' APIs: the standby takes requests too, only the leader executes.
        const ids = [await send(first, "review-gone-1"), await send(other, "review-gone-2"), await send(other, "review-gone-3")];
        await until("the three commands to end", () => (ids.every((id) => finished.some((n) => n.commandId === id && n.type === "command.failed")) ? true : undefined), 120_000);
        const ranOn = (r: Replica, id: string) => r.log().split("\n").some((line) => line.includes("runner: command finished") && line.includes(id));
        for (const id of ids) {
            expect(ranOn(first, id)).toBe(true);
        }
        expect(other.log()).not.toMatch(/runner: command|consumer: consuming/);

        // A graceful stop releases the Lease: the other replica leads at once and runs what comes next.
        first.child.kill("SIGTERM");
        await first.exited;
        const stoppedAt = Date.now();
        await until("the other replica to lead", () => (leading(other) ? true : undefined), 30_000);
        console.log(`[figure] the standby led ${Date.now() - stoppedAt} ms after the leader stopped`);
        const next = await send(other, "review-gone-4");
        await until("the next command to end on the new leader", () => (finished.some((n) => n.commandId === next && n.type === "command.failed") ? true : undefined), 120_000);
        expect(ranOn(other, next)).toBe(true);
        // Each command ran once, on one replica.
        expect(finished.filter((n) => n.type === "command.failed").map((n) => n.commandId).sort()).toEqual([...ids, next].sort());
    });
});
