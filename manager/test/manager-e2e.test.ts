/**
 * The environment manager as it runs: `platform-manager server --primary` as
 * its own process, with a real RabbitMQ broker, its embedded Postgres, a real
 * file state backend with secrets under awskms (local-kms), and the real
 * Pulumi engine rendering the real charts (render mode: no cluster).
 *
 * A create command sent through the REST API ends in a deployed review
 * environment, announced on the bus in order; the record is served by the
 * API, and by a secondary fed only by the notifications (which refuses
 * commands); a prod command is refused (dead-lettered, command.rejected); a
 * primary killed with SIGKILL in the middle of an up is restarted and
 * finishes the command, once; destroy commands remove the environments.
 */
import { ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { connect, ChannelModel } from "amqplib";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { fileBackendUrl } from "../../scripts/stack-settings";
import { createEngineProject, EngineProject, REPO_ROOT } from "../../test/helpers/engine";
import { LocalKms, startLocalKms } from "../../test/helpers/local-kms";
import { freePorts, RabbitBroker, startRabbitMQ } from "../../test/helpers/rabbitmq";
import { defaultTestChartMirror } from "../../test/helpers/real-charts";
import { inDays } from "./helpers/commands";

const SECRET = randomUUID() + randomUUID();
let project: EngineProject;
let broker: RabbitBroker;
let kms: LocalKms;
let dir: string;
let managerEnv: NodeJS.ProcessEnv;
let primary: ManagerProcess;
let secondary: ManagerProcess;
let bus: ChannelModel;
const notifications: { type: string; commandId?: string; environment?: string; status?: string; reason?: string; progress?: { done: number; total: number } }[] = [];
const deadLetters: { body: string; reason: unknown }[] = [];

interface ManagerProcess {
    child: ChildProcess;
    baseUrl: string;
    log(): string;
    exited: Promise<number | null>;
}

/** Runs `platform-manager server` as its own process; `args` are its role-specific flags. */
async function startManager(name: string, args: string[]): Promise<ManagerProcess> {
    const [port] = await freePorts(1);
    const baseUrl = `http://127.0.0.1:${port}`;
    let output = "";
    const child = spawn(process.execPath, [path.join(REPO_ROOT, "manager", "bin", "platform-manager"), "server", "--listen", `127.0.0.1:${port}`, ...common(), ...args], {
        env: managerEnv,
        stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const manager = { child, baseUrl, log: () => output, exited };
    await until(`${name} to be ready`, async () => {
        if (child.exitCode !== null) {
            throw new Error(`${name} exited with ${child.exitCode}:\n${output}`);
        }
        const r = await fetch(`${baseUrl}/api/v1/readyz`).catch(() => undefined);
        return r?.status === 200 ? true : undefined;
    }, 180_000, () => output);
    return manager;
}

function common(): string[] {
    return ["--amqp-url-file", path.join(dir, "amqp-url"), "--token-secret-file", path.join(dir, "token-secret"), "--project-dir", project.dir];
}

async function stopManager(m: ManagerProcess | undefined): Promise<void> {
    if (m && m.child.exitCode === null && m.child.signalCode === null) {
        m.child.kill("SIGTERM");
        await m.exited;
    }
}

async function token(scope: string): Promise<string> {
    return new SignJWT({ scope })
        .setProtectedHeader({ alg: "HS256" })
        .setSubject("dev@example.com")
        .setIssuer("platform")
        .setAudience("platform-manager")
        .setIssuedAt()
        .setExpirationTime("10m")
        .sign(new TextEncoder().encode(SECRET));
}

async function api(method: string, route: string, body?: unknown, on: ManagerProcess = primary): Promise<{ status: number; json: unknown; text: string }> {
    const response = await fetch(`${on.baseUrl}${route}`, {
        method,
        headers: { authorization: `Bearer ${await token("environments:read environments:write")}`, ...(body ? { "content-type": "application/json" } : {}) },
        body: body ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    let json: unknown;
    try {
        json = JSON.parse(text);
    } catch {
        json = undefined;
    }
    return { status: response.status, json, text };
}

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number, log: () => string = () => primary?.log() ?? ""): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        const value = await probe();
        if (value !== undefined) {
            return value;
        }
        await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`timed out waiting for ${what}\nmanager log (tail):\n${log().slice(-4000)}`);
}

/** Waits for the command's outcome (command.completed or command.failed) and expects it completed: the reason and the primary's log tail when not. */
async function untilCompleted(what: string, commandId: string, timeoutMs: number): Promise<void> {
    const done = await until(
        what,
        () => notifications.find((n) => n.commandId === commandId && (n.type === "command.completed" || n.type === "command.failed")),
        timeoutMs,
    );
    expect(done.type, `${done.reason}\n${primary.log().slice(-4000)}`).toBe("command.completed");
}

beforeAll(async () => {
    project = createEngineProject({ withPolicies: true });
    broker = await startRabbitMQ();
    kms = await startLocalKms(path.join(project.dir, "..", "kms"));
    dir = path.join(project.dir, "..", "manager");
    fs.mkdirSync(dir);
    const write = (name: string, text: string) => fs.writeFileSync(path.join(dir, name), text, { mode: 0o600 });
    write("amqp-url", broker.url);
    write("token-secret", SECRET);
    write(
        "stack-defaults.json",
        JSON.stringify({ kubernetesTarget: "render", renderDirectory: path.join(project.renderDir, "manager"), chartMirror: defaultTestChartMirror() }),
    );
    managerEnv = { ...project.env, ...kms.env, PLATFORM_STATE_BACKEND_URL: fileBackendUrl(project.backendDir), PLATFORM_SECRETS_PROVIDER: kms.providerUrl };
    primary = await startManager("the primary", primaryArgs());
    secondary = await startManager("the secondary", ["--embedded-database", path.join(dir, "secondary-db")]);

    bus = await connect(broker.url);
    const channel = await bus.createChannel();
    const { queue } = await channel.assertQueue("", { exclusive: true });
    await channel.bindQueue(queue, "platform.manager.notifications", "#");
    await channel.consume(queue, (m) => m && notifications.push(JSON.parse(m.content.toString()) as (typeof notifications)[number]), { noAck: true });
    await channel.consume(
        "platform.manager.dead-letter",
        (m) => m && deadLetters.push({ body: m.content.toString(), reason: m.properties.headers?.["x-rejection-reason"] }),
        { noAck: true },
    );
}, 300_000);

function primaryArgs(): string[] {
    return ["--primary", "--embedded-database", path.join(dir, "primary-db"), "--stack-defaults", path.join(dir, "stack-defaults.json")];
}

afterAll(async () => {
    await bus?.close().catch(() => undefined);
    await stopManager(primary);
    await stopManager(secondary);
    await broker?.stop();
    await kms?.stop();
    project?.cleanup();
});

describe("platform-manager server --primary, on real parts", () => {
    it("creates a review environment from a command: deployed-ok, notifications in order, the record on the API", async () => {
        const commandId = randomUUID();
        const sent = await api("POST", "/api/v1/commands", {
            commandId,
            type: "environment.create",
            environment: "review-e2e",
            requestedBy: "dev@example.com",
            template: "review",
            description: "Manager end-to-end test",
            owner: "dev@example.com",
            costCenter: "PLT-0001",
            plannedDestruction: inDays(3),
        });
        expect(sent.status, sent.text).toBe(202);

        await untilCompleted("the create command to finish", commandId, 900_000);

        const statuses = notifications.filter((n) => n.commandId === commandId && n.type === "environment.status").map((n) => n.status);
        expect(statuses).toEqual(["deploying", "deployed-validating", "deployed-ok"]);
        const progress = notifications.filter((n) => n.commandId === commandId && n.type === "environment.progress").map((n) => n.progress!);
        expect(progress.length).toBeGreaterThan(0);
        const last = progress[progress.length - 1];
        expect(last.total).toBeGreaterThan(100);
        expect(last.done).toBe(last.total);
        console.log(`[figure] manager create: ${last.total} resources, ${progress.length} progress notifications`);

        const env = await api("GET", "/api/v1/environments/review-e2e");
        expect(env.status).toBe(200);
        const body = env.json as { status: string; template: string; record?: { resources?: { id: string }[]; tags?: Record<string, string> } };
        expect(body.status).toBe("deployed-ok");
        expect(body.template).toBe("review");
        expect(body.record?.tags?.owner).toBe("dev@example.com");
        expect(body.record?.resources?.map((r) => r.id)).toContain("rabbitmq");

        const command = await api("GET", `/api/v1/commands/${commandId}`);
        expect(command.status).toBe(200);
        expect((command.json as { state: string }).state).toBe("succeeded");
    });

    it("a secondary serves the environment from the primary's notifications, and refuses commands", async () => {
        const env = await until("the secondary to know review-e2e", async () => {
            const r = await api("GET", "/api/v1/environments/review-e2e", undefined, secondary);
            return r.status === 200 && (r.json as { status: string }).status === "deployed-ok" ? r : undefined;
        }, 30_000, () => secondary.log());
        const body = env.json as { record?: { resources?: { id: string }[] } };
        expect(body.record?.resources?.map((r) => r.id)).toContain("rabbitmq");
        const refused = await api(
            "POST",
            "/api/v1/commands",
            { commandId: randomUUID(), type: "environment.destroy", environment: "review-e2e", requestedBy: "dev@example.com" },
            secondary,
        );
        expect(refused.status).toBe(503);
        expect(refused.text).toContain("secondary");
    });

    it("refuses a command for prod: dead-lettered with the reason and answered with command.rejected", async () => {
        const commandId = randomUUID();
        const channel = await bus.createChannel();
        channel.publish(
            "platform.manager.commands",
            "command",
            Buffer.from(
                JSON.stringify({
                    commandId,
                    type: "environment.create",
                    environment: "prod",
                    requestedBy: "dev@example.com",
                    template: "prod",
                    description: "not through a merge request",
                    owner: "dev@example.com",
                    costCenter: "PLT-0001",
                    plannedDestruction: inDays(3),
                }),
            ),
            { persistent: true, messageId: commandId, contentType: "application/json" },
        );
        const rejected = await until("command.rejected", () => notifications.find((n) => n.commandId === commandId && n.type === "command.rejected"), 30_000);
        expect(rejected.reason).toMatch(/merge request/);
        const dead = await until("the dead letter", () => deadLetters.find((d) => d.body.includes(commandId)), 30_000);
        expect(String(dead.reason)).toMatch(/merge request/);
        await channel.close();
    });

    it("a primary killed in the middle of an up is restarted and finishes the command, once", async () => {
        const commandId = randomUUID();
        const sent = await api("POST", "/api/v1/commands", {
            commandId,
            type: "environment.create",
            environment: "review-kill",
            requestedBy: "dev@example.com",
            template: "review",
            description: "Killed mid-command",
            owner: "dev@example.com",
            costCenter: "PLT-0001",
            plannedDestruction: inDays(3),
        });
        expect(sent.status, sent.text).toBe(202);
        const midway = await until(
            "the up to be under way",
            () => notifications.find((n) => n.commandId === commandId && n.type === "environment.progress" && (n.progress?.done ?? 0) >= 20),
            600_000,
        );
        primary.child.kill("SIGKILL");
        await primary.exited;
        const before = notifications.length;
        primary = await startManager("the restarted primary", primaryArgs());

        await untilCompleted("the command to finish after the restart", commandId, 900_000);
        const after = notifications.slice(before).filter((n) => n.commandId === commandId);
        expect(after.filter((n) => n.type === "environment.status").map((n) => n.status)).toEqual(["deploying", "deployed-validating", "deployed-ok"]);
        expect(notifications.filter((n) => n.commandId === commandId && n.type === "command.completed")).toHaveLength(1);
        console.log(`[figure] manager killed after ${midway.progress?.done}/${midway.progress?.total} resources; the restarted primary finished the command`);

        const env = await api("GET", "/api/v1/environments/review-kill");
        expect((env.json as { status: string }).status).toBe("deployed-ok");
        const exported = project.pulumi(["stack", "export", "--stack", "review-kill"], { PULUMI_BACKEND_URL: fileBackendUrl(project.backendDir) });
        expect(exported.status, exported.stderr).toBe(0);
        const deployment = (JSON.parse(exported.stdout) as { deployment: { pending_operations?: unknown[] } }).deployment;
        expect(deployment.pending_operations ?? []).toEqual([]);
    });

    it("destroys the environments on command: destroying, destroyed, gone from the backend, destroyed on the secondary", async () => {
        for (const environment of ["review-e2e", "review-kill"]) {
            const commandId = randomUUID();
            const sent = await api("POST", "/api/v1/commands", { commandId, type: "environment.destroy", environment, requestedBy: "dev@example.com" });
            expect(sent.status, sent.text).toBe(202);
            await untilCompleted(`the destroy of ${environment} to finish`, commandId, 600_000);
            const statuses = notifications.filter((n) => n.commandId === commandId && n.type === "environment.status").map((n) => n.status);
            expect(statuses).toEqual(["destroying", "destroyed"]);
        }
        const stacks = project.pulumi(["stack", "ls", "--json"], { PULUMI_BACKEND_URL: fileBackendUrl(project.backendDir) });
        expect(JSON.parse(stacks.stdout) as { name: string }[]).toEqual([]);
        // Kept as destroyed (the record of what was), on the primary and the secondary alike.
        for (const on of [primary, secondary]) {
            await until(
                "review-e2e to show as destroyed",
                async () => {
                    const r = await api("GET", "/api/v1/environments/review-e2e", undefined, on);
                    return r.status === 200 && (r.json as { status: string }).status === "destroyed" ? true : undefined;
                },
                30_000,
                () => on.log(),
            );
        }
        // The restarted primary's counters: the create it took over, then the two destroys.
        const metrics = await (await fetch(`${primary.baseUrl}/metrics`)).text();
        expect(metrics).toContain('platform_manager_commands_total{type="environment.create",outcome="succeeded"} 1');
        expect(metrics).toContain('platform_manager_commands_total{type="environment.destroy",outcome="succeeded"} 2');
        // Secrets never reach the logs: the token secret and the broker password are not in the managers' output.
        for (const log of [primary.log(), secondary.log()]) {
            expect(log).not.toContain(SECRET);
            expect(log).not.toContain(broker.password);
        }
    });
});
