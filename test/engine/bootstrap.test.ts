/**
 * `./platform bootstrap --skip-up` against a real RabbitMQ broker
 * (test/helpers/rabbitmq.ts), run as a child process as ./platform runs it:
 * the commands arrive on the manager's commands queue (declared here as the
 * manager declares it) with the manager's wire format, and a second run sends
 * the same commandIds. No up runs: that is runStack, covered by the stack tests.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { Channel, ChannelModel, connect, GetMessage } from "amqplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { COMMANDS_EXCHANGE, COMMANDS_QUEUE, declareTopology } from "../../manager/src/bus/topology";
import { command as commandSchema, CreateCommand } from "../../manager/src/commands/schema";
import { REPO_ROOT, runAsync } from "../helpers/engine";
import { RabbitBroker, startRabbitMQ } from "../helpers/rabbitmq";

/** A tsx start takes seconds on a loaded machine. */
const CHILD = { timeout: 180_000 };

let broker: RabbitBroker;
let model: ChannelModel;
let channel: Channel;
let tmp: string;
let file: string;
let urlFile: string;

/** A date `days` from today (UTC), as the manager takes it. */
function inDays(days: number): string {
    const now = new Date();
    return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) + days * 86_400_000).toISOString().slice(0, 10);
}

const FIXED_DATE = inDays(10);

beforeAll(async () => {
    broker = await startRabbitMQ();
    model = await connect(broker.url);
    channel = await model.createChannel();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "platform-bootstrap-"));
    file = path.join(tmp, "environments.yaml");
    fs.writeFileSync(
        file,
        [
            "environments:",
            "  - environment: review-alpha",
            "    template: review",
            "    description: first",
            "    owner: alpha@example.com",
            "    costCenter: PLT-0001",
            "    plannedDestruction: +14d",
            "    parameters:",
            "      kubernetesTarget: render",
            "  - environment: review-beta",
            "    template: review",
            "    description: second",
            "    owner: beta@example.com",
            "    costCenter: ABC-123",
            `    plannedDestruction: "${FIXED_DATE}"`,
            "",
        ].join("\n"),
    );
    urlFile = path.join(tmp, "amqp-url");
    fs.writeFileSync(urlFile, `${broker.url}\n`, { mode: 0o600 });
}, 120_000);

afterAll(async () => {
    await model?.close().catch(() => undefined);
    await broker?.stop();
    if (tmp) {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
});

/** `./platform bootstrap --skip-up` as the front door runs it: node with tsx, in the repository root. */
function bootstrap(args: string[], env: NodeJS.ProcessEnv = {}) {
    return runAsync(process.execPath, ["--import", "tsx", path.join(REPO_ROOT, "scripts", "cli", "main.ts"), "bootstrap", "--skip-up", "--file", file, ...args], {
        cwd: REPO_ROOT,
        env: { ...process.env, PLATFORM_MANAGER_AMQP_URL_FILE: "", USER: "tester", ...env },
    });
}

/** Every message waiting on the commands queue, acknowledged. */
async function drain(): Promise<GetMessage[]> {
    const messages: GetMessage[] = [];
    for (;;) {
        const message = await channel.get(COMMANDS_QUEUE);
        if (message === false) {
            return messages;
        }
        channel.ack(message);
        messages.push(message);
    }
}

describe("./platform bootstrap --skip-up, with a real broker", () => {
    it("names the missing commands exchange when the manager has not declared it, and sends nothing", CHILD, async () => {
        const run = await bootstrap(["--amqp-url-file", urlFile]);
        expect(run.status, run.stderr).toBe(1);
        expect(run.stderr).toContain(`the exchange ${COMMANDS_EXCHANGE} does not exist on the broker`);
        expect(run.stdout).not.toContain("sent ");
    });

    it("fails on a command no queue takes (mandatory), instead of dropping it", CHILD, async () => {
        await channel.assertExchange(COMMANDS_EXCHANGE, "direct", { durable: true });
        const run = await bootstrap(["--amqp-url-file", urlFile]);
        expect(run.status, run.stderr).toBe(1);
        expect(run.stderr).toContain("review-alpha's command was not routed to any queue");
    });

    it("sends each command once per run, in the manager's wire format, with the same ids on a second run", CHILD, async () => {
        await declareTopology(channel);
        expect(await drain()).toEqual([]);

        const first = await bootstrap(["--amqp-url-file", urlFile]);
        expect(first.status, first.stderr).toBe(0);
        const firstMessages = await drain();
        // The second run takes the URL file from the environment, as a CI job would pass it.
        const second = await bootstrap([], { PLATFORM_MANAGER_AMQP_URL_FILE: urlFile });
        expect(second.status, second.stderr).toBe(0);
        const secondMessages = await drain();

        for (const [run, messages] of [[first, firstMessages], [second, secondMessages]] as const) {
            expect(messages).toHaveLength(2);
            expect(run.stdout.split("\n").filter((l) => l.startsWith("sent environment.create "))).toHaveLength(2);
            // The URL holds the broker's password: never printed.
            expect(run.stdout + run.stderr).not.toContain(broker.password);
            for (const message of messages) {
                expect(message.properties.contentType).toBe("application/json");
                expect(message.properties.deliveryMode).toBe(2);
                expect(message.properties.headers?.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
                const parsed = commandSchema.safeParse(JSON.parse(message.content.toString("utf8")));
                expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
                expect(message.properties.messageId).toBe(parsed.data?.commandId);
                expect(run.stdout).toContain(`sent environment.create ${parsed.data?.environment} (commandId ${message.properties.messageId},`);
            }
        }
        const bodies = firstMessages.map((m) => JSON.parse(m.content.toString("utf8")) as CreateCommand);
        expect(bodies.map((b) => b.environment)).toEqual(["review-alpha", "review-beta"]);
        expect(bodies[0]).toMatchObject({
            type: "environment.create",
            template: "review",
            description: "first",
            owner: "alpha@example.com",
            costCenter: "PLT-0001",
            plannedDestruction: inDays(14),
            parameters: { kubernetesTarget: "render" },
            requestedBy: expect.stringMatching(/^bootstrap:.+/),
        });
        expect(bodies[1]).toMatchObject({ environment: "review-beta", costCenter: "ABC-123", plannedDestruction: FIXED_DATE });
        expect(bodies[1].parameters).toBeUndefined();

        // Deterministic: the second run's ids are the first's, so the manager creates nothing twice.
        const ids = (messages: GetMessage[]) => messages.map((m) => m.properties.messageId as string);
        expect(new Set(ids(firstMessages)).size).toBe(2);
        expect(ids(secondMessages)).toEqual(ids(firstMessages));
    });

    it("sends nothing for a bad file, naming the entry and the field", CHILD, async () => {
        const bad = path.join(tmp, "bad.yaml");
        fs.writeFileSync(bad, "environments:\n  - {environment: review-x, template: review, description: x, owner: x@example.com, costCenter: PLT-0001, plannedDestruction: +90d}\n");
        const run = await runAsync(process.execPath, ["--import", "tsx", path.join(REPO_ROOT, "scripts", "cli", "main.ts"), "bootstrap", "--skip-up", "--file", bad, "--amqp-url-file", urlFile], {
            cwd: REPO_ROOT,
            env: process.env,
        });
        expect(run.status).toBe(2);
        expect(run.stderr).toContain("entry 1 (review-x): plannedDestruction: ");
        expect(await drain()).toEqual([]);
    });
});
