/**
 * The catalog command against a real file backend holding several stacks
 * deployed by the real engine (render mode): list, show, search, graph, and
 * the reaper destroying only the expired, unprotected review environment.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { recordProblems } from "../../environments/record-schema";
import { defaultTestChartMirror } from "../helpers/real-charts";
import { connect } from "amqplib";

import { createEngineProject, EngineProject, runAsync } from "../helpers/engine";
import { RabbitBroker, startRabbitMQ } from "../helpers/rabbitmq";

// Dates relative to the file's start, not to each call: a run that crosses midnight (UTC) expects the dates it deployed.
const START = Date.now();
const day = (offset: number) => new Date(START + offset * 86_400_000).toISOString().slice(0, 10);
let project: EngineProject;
let broker: RabbitBroker | undefined;

function catalog(...args: string[]) {
    return catalogWith({}, ...args);
}

function catalogWith(env: NodeJS.ProcessEnv, ...args: string[]) {
    return runAsync(process.execPath, ["--import", "tsx", path.join(project.dir, "environments/catalog/cli.ts"), ...args], {
        cwd: project.dir,
        env: { ...project.env, ...env },
    });
}

async function deploy(stack: string, config: Record<string, string>): Promise<void> {
    expect(project.pulumi(["stack", "init", stack]).status).toBe(0);
    for (const [key, value] of Object.entries({ "platform:renderDirectory": project.renderDir, ...config })) {
        project.setConfig(stack, key, value);
    }
    // The catalog is under test, not the preview: the update alone.
    const up = await project.pulumiAsync(["up", "--yes", "--skip-preview", "--stack", stack]);
    expect(up.status, up.stdout + up.stderr).toBe(0);
}

beforeAll(async () => {
    project = createEngineProject({ withPolicies: false });
    const mirror = defaultTestChartMirror();
    const review = (planned: string) => ({
        "platform:template": "review",
        "platform:description": "Merge request review environment",
        "platform:owner": "dev@example.com",
        "platform:costCenter": "PLT-0001",
        "platform:repository": "platform-gitops",
        "platform:plannedDestruction": planned,
        "platform:chartMirror": mirror,
    });
    await deploy("local", { "platform:chartMirror": mirror });
    await deploy("review-1", review(day(1)));
    await deploy("review-2", { ...review(day(20)), "platform:description": "Merge request 2: new checkout" });
    await deploy("review-3", { ...review(day(1)), "platform:protect": "true" });
}, 1_200_000);
afterAll(async () => {
    await broker?.stop();
    project?.cleanup();
});

describe("the environment catalog on a real file backend", () => {
    it("lists every environment with status, template, owner, age and planned destruction", async () => {
        const r = await catalog("list");
        expect(r.status, r.stderr).toBe(0);
        const lines = r.stdout.trim().split("\n");
        expect(lines[0]).toMatch(/^NAME\s+STATUS\s+TEMPLATE\s+OWNER\s+AGE\s+PLANNED DESTRUCTION\s+RESOURCES$/);
        expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 6))).toEqual([
            ["local", "deployed-ok", "local", "platform-team@example.com", "0d", "-"],
            ["review-1", "deployed-ok", "review", "dev@example.com", "0d", day(1)],
            ["review-2", "deployed-ok", "review", "dev@example.com", "0d", day(20)],
            ["review-3", "deployed-ok", "review", "dev@example.com", "0d", day(1)],
        ]);
        expect(r.stderr).toMatch(/read [a-z0-9-]+ \(4\/4\)/);
    });

    it("shows one record, as a table or as JSON that validates against the schema", async () => {
        const human = await catalog("show", "review-2");
        expect(human.status, human.stderr).toBe(0);
        expect(human.stdout).toMatch(/description\s+Merge request 2: new checkout/);
        expect(human.stdout).toMatch(/rabbitmq\s+platform:rabbitmq:RabbitMq\s+1\s+rendered/);
        const json = await catalog("show", "review-2", "--json");
        expect(recordProblems(JSON.parse(json.stdout))).toEqual([]);
        const missing = await catalog("show", "review-9");
        expect(missing.status).toBe(3);
        expect(missing.stderr).toContain('no environment "review-9" in the backend (known: local, review-1, review-2, review-3)');
    });

    it("searches names, descriptions, tags and resources", async () => {
        const r = await catalog("search", "checkout");
        expect(r.status).toBe(0);
        expect(r.stdout).toMatch(/review-2\s+description: Merge request 2: new checkout/);
        expect(r.stdout).not.toMatch(/^review-1/m);
        expect((await catalog("search", "no-such-thing")).status).toBe(3);
        expect((await catalog("search")).status).toBe(2);
    });

    it("draws the dependency graph as Mermaid, and writes DOT", async () => {
        const r = await catalog("graph", "local");
        expect(r.status).toBe(0);
        expect(r.stdout).toMatch(/^graph LR/);
        expect(r.stdout).toContain("n_mesh_ingress_gateway --> n_mesh_istiod");
        const file = path.join(project.dir, "..", "local.dot");
        expect((await catalog("graph", "local", "--format", "dot", "--output", file)).status).toBe(0);
        expect(fs.readFileSync(file, "utf8")).toContain("n_vault -> n_mesh_istiod;");
    });

    it("reaps only the expired, unprotected review environment, after a dry run", async () => {
        const dry = await catalog("reap", "--now", day(5));
        expect(dry.status, dry.stderr).toBe(0);
        expect(dry.stdout).toMatch(/review-1\s+would destroy\s+planned for \d{4}-\d{2}-\d{2}, expired/);
        expect(dry.stdout).toMatch(/review-2\s+keep\s+planned for/);
        expect(dry.stdout).toMatch(/review-3\s+keep\s+protected/);
        expect(dry.stdout).toMatch(/local\s+keep\s+template local is not reaped/);
        expect((await catalog("list")).stdout).toContain("review-1");

        // The reaper announces what it destroyed on the event bus (a real RabbitMQ).
        broker = await startRabbitMQ();
        const connection = await connect(broker.url);
        const channel = await connection.createChannel();
        await channel.assertExchange("platform.environments", "topic", { durable: true });
        const { queue } = await channel.assertQueue("", { exclusive: true });
        await channel.bindQueue(queue, "platform.environments", "environment.*");

        const real = await catalogWith({ PLATFORM_EVENTS_URL: broker.url }, "reap", "--now", day(5), "--yes");
        expect(real.status, real.stdout + real.stderr).toBe(0);
        expect(real.stdout).toContain("destroyed review-1");
        expect(real.stdout).toContain("published environment.destroyed for review-1");
        const message = await channel.get(queue, { noAck: true });
        expect(message && message.fields.routingKey).toBe("environment.destroyed");
        const event = JSON.parse(message ? message.content.toString() : "{}") as { environment: string; record: { status: string } };
        expect(event).toMatchObject({ environment: "review-1", record: { status: "destroyed" } });
        await connection.close();
        expect(real.stdout).toContain("reaped 1 of 1");
        const after = (await catalog("list")).stdout;
        expect(after).not.toContain("review-1");
        expect(after).toMatch(/review-2\s+deployed-ok/);
        expect(after).toMatch(/review-3\s+deployed-ok/);
        // Destroy deletes the rendered manifests of review-1, not those of the others.
        // What stays are CustomResourceDefinitions: charts mark theirs
        // `helm.sh/resource-policy: keep`, which Pulumi honours by retaining
        // them on delete (deleting a CRD deletes every resource of its kind).
        const manifests = (env: string) => {
            const dir = path.join(project.renderDir, env);
            const files = fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true }).map(String).filter((f) => f.endsWith(".yaml")) : [];
            return { all: files.length, notCrds: files.filter((f) => !/customresourcedefinition/i.test(path.basename(f))) };
        };
        expect(manifests("review-1").notCrds).toEqual([]);
        expect(manifests("review-2").all).toBeGreaterThan(50);
    });
});
