/**
 * `./platform bootstrap` without a broker or a deployment: the bootstrap
 * file's validation (every problem named by entry and field, before anything
 * runs), the deterministic command ids, the dry run, and the meta stack's
 * refusals. The up is a stand-in that records its calls; the sending is
 * test/engine/bootstrap.test.ts, against a real broker.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { afterAll, describe, expect, it, vi } from "vitest";
import { parse } from "yaml";
import { z } from "zod";

import { loadEnvironmentConfig } from "../../environments/config";
import { REVIEW_MAX_DAYS } from "../../environments/template-registry";
import { bootstrap, BootstrapOptions, checkMetaStack, commandIdOf, EXAMPLE_STACK_FILE, readBootstrapFile, resolvePlannedDestruction, uuidV5 } from "../../scripts/bootstrap";
import { main } from "../../scripts/cli/main";
import { CliError } from "../../scripts/cli/process";
import { REPO_ROOT } from "../helpers/engine";

const NOW = new Date("2026-03-10T15:00:00Z");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bootstrap-unit-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let files = 0;
function writeFile(text: string): string {
    const file = path.join(dir, `environments-${++files}.yaml`);
    fs.writeFileSync(file, text);
    return file;
}

const VALID_ENTRY = {
    environment: "review-demo",
    template: "review",
    description: "a demo",
    owner: "team@example.com",
    costCenter: "PLT-0001",
    plannedDestruction: "+14d",
};

/** A project directory with one stack file (bootstrap reads stacks/ only). */
function projectWith(stack: string, text: string): string {
    const project = fs.mkdtempSync(path.join(dir, "project-"));
    fs.mkdirSync(path.join(project, "stacks"));
    fs.writeFileSync(path.join(project, "stacks", `Pulumi.${stack}.yaml`), text);
    return project;
}

function cliErrorOf(run: () => unknown): CliError {
    try {
        run();
    } catch (e) {
        if (e instanceof CliError) {
            return e;
        }
        throw e;
    }
    throw new Error("expected a CliError");
}

function options(overrides: Partial<BootstrapOptions>): { options: BootstrapOptions; out: string[]; up: ReturnType<typeof vi.fn> } {
    const out: string[] = [];
    const up = vi.fn(async () => 0);
    return {
        out,
        up,
        options: {
            stack: "meta",
            file: writeFile(`environments:\n  - ${JSON.stringify(VALID_ENTRY)}\n`),
            skipUp: false,
            dryRun: false,
            projectDir: projectWith("meta", fs.readFileSync(path.join(REPO_ROOT, EXAMPLE_STACK_FILE), "utf8")),
            env: { USER: "alice" },
            up,
            now: NOW,
            out: (t) => out.push(t),
            ...overrides,
        },
    };
}

describe("the bootstrap file", () => {
    it("names every problem by entry, environment and field, with the allowed values, in one error", () => {
        const file = writeFile(
            [
                "environments:",
                `  - ${JSON.stringify(VALID_ENTRY)}`,
                `  - ${JSON.stringify({ ...VALID_ENTRY, environment: "review-b", owner: "not-an-email", costCenter: "platform" })}`,
                `  - ${JSON.stringify({ ...VALID_ENTRY, environment: "dev-2", template: "dev" })}`,
                `  - ${JSON.stringify({ ...VALID_ENTRY, environment: "review-c", plannedDestruction: "+45d" })}`,
                `  - ${JSON.stringify({ ...VALID_ENTRY, environment: "review-d", commandId: "x", colour: "blue" })}`,
                `  - ${JSON.stringify({ ...VALID_ENTRY, environment: "review-e", template: "nope" })}`,
                `  - ${JSON.stringify({ ...VALID_ENTRY, environment: "review-f", parameters: { nodeMax: 3 } })}`,
                `  - ${JSON.stringify({ ...VALID_ENTRY, plannedDestruction: "next week" })}`,
                `  - ${JSON.stringify({ ...VALID_ENTRY, environment: "review-g", parameters: { colour: "blue" } })}`,
            ].join("\n"),
        );
        const error = cliErrorOf(() => readBootstrapFile(file, "bootstrap:alice", NOW));
        expect(error.exitCode).toBe(2);
        expect(error.message).toContain("nothing was deployed or sent");
        expect(error.message).not.toContain("entry 1 (review-demo)");
        expect(error.message).toContain("entry 2 (review-b): owner: ");
        expect(error.message).toContain("entry 2 (review-b): costCenter: like PLT-0001");
        expect(error.message).toMatch(/entry 3 \(dev-2\): template: dev environments .* not self-service.*review environments only/);
        expect(error.message).toContain(`entry 4 (review-c): plannedDestruction: plannedDestruction 2026-04-24 is 45 days away: a review environment lives at most ${REVIEW_MAX_DAYS} days`);
        expect(error.message).toContain("entry 5 (review-d): commandId: set by bootstrap, remove it from the file");
        expect(error.message).toContain('entry 6 (review-e): template: template "nope" does not exist; allowed: review');
        expect(error.message).toContain('entry 7 (review-f): parameters: parameter "nodeMax" cannot be set on a review environment by command; allowed: kubernetesTarget, kubeContext');
        expect(error.message).toContain("entry 8 (review-demo): plannedDestruction: ");
        expect(error.message).toContain("(YYYY-MM-DD, or +<days>d from the day it is sent)");
        expect(error.message).toContain("entry 8 (review-demo): environment: already created by entry 1; each environment once");
        expect(error.message).toContain('entry 9 (review-g): parameters: parameter "colour" cannot be set');
    });

    it("names an unknown key with the fields an entry may have", () => {
        const file = writeFile(`environments:\n  - ${JSON.stringify({ ...VALID_ENTRY, colour: "blue" })}\n`);
        expect(cliErrorOf(() => readBootstrapFile(file, "bootstrap:alice", NOW)).message).toContain(
            "entry 1 (review-demo): colour: not a field of a create command; allowed: environment, template, description, owner, costCenter, plannedDestruction, parameters, type",
        );
    });

    it("refuses a file without an environments list, or not YAML, naming the file", () => {
        for (const text of ["environments: review-1\n", "- a\n", "environments: [\n"]) {
            const file = writeFile(text);
            const error = cliErrorOf(() => readBootstrapFile(file, "bootstrap:alice", NOW));
            expect(error.exitCode).toBe(2);
            expect(error.message).toContain(`bootstrap file ${file}`);
        }
    });

    it("resolves +<n>d against the day it is sent, in UTC", () => {
        expect(resolvePlannedDestruction("+14d", NOW)).toBe("2026-03-24");
        expect(resolvePlannedDestruction("+1d", new Date("2026-12-31T23:59:00Z"))).toBe("2027-01-01");
        expect(resolvePlannedDestruction("2026-03-20", NOW)).toBe("2026-03-20");
        const [sent] = readBootstrapFile(writeFile(`environments:\n  - ${JSON.stringify(VALID_ENTRY)}\n`), "bootstrap:alice", NOW);
        expect(sent.command).toMatchObject({ type: "environment.create", plannedDestruction: "2026-03-24", requestedBy: "bootstrap:alice" });
    });

    it("holds for the committed bootstrap/environments.yaml, today and in a year (its dates are relative)", () => {
        for (const now of [new Date(), new Date(Date.now() + 365 * 86_400_000)]) {
            const commands = readBootstrapFile(path.join(REPO_ROOT, "bootstrap", "environments.yaml"), "bootstrap:ci", now);
            expect(commands.length).toBeGreaterThanOrEqual(1);
            expect(commands.every((c) => c.command.template === "review")).toBe(true);
        }
    });
});

describe("command ids", () => {
    it("are RFC 9562 version 5 UUIDs (the standard test vector) the manager's schema takes", () => {
        // uuid5(NAMESPACE_DNS, "www.example.com"), as Python's uuid module gives it.
        expect(uuidV5("www.example.com", "6ba7b810-9dad-11d1-80b4-00c04fd430c8")).toBe("2ed6657d-e927-568b-95e1-2665a8aea6a2");
        expect(z.uuid().safeParse(commandIdOf(VALID_ENTRY)).success).toBe(true);
        expect(commandIdOf(VALID_ENTRY)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    });

    it("are the same for the same entry, whatever its key order, the day, or who sends it", () => {
        const reordered = Object.fromEntries(Object.entries(VALID_ENTRY).reverse());
        expect(commandIdOf(reordered)).toBe(commandIdOf(VALID_ENTRY));
        const file = writeFile(`environments:\n  - ${JSON.stringify(VALID_ENTRY)}\n`);
        const today = readBootstrapFile(file, "bootstrap:alice", NOW)[0].command;
        const later = readBootstrapFile(file, "bootstrap:bob", new Date("2026-03-15T08:00:00Z"))[0].command;
        expect(later.commandId).toBe(today.commandId);
        expect(later.plannedDestruction).not.toBe(today.plannedDestruction);
    });

    it("differ between environments and when an entry changes", () => {
        const ids = new Set([
            commandIdOf(VALID_ENTRY),
            commandIdOf({ ...VALID_ENTRY, environment: "review-other" }),
            commandIdOf({ ...VALID_ENTRY, description: "another demo" }),
            commandIdOf({ ...VALID_ENTRY, plannedDestruction: "+15d" }),
        ]);
        expect(ids.size).toBe(4);
    });
});

describe("the meta stack", () => {
    const base = "config:\n  platform:template: local\n  platform:name: local-meta\n";
    const image = "registry.example.com/platform/manager@sha256:" + "a".repeat(64);

    it("refuses a stack file without platform:manager, naming the setting; nothing is deployed", async () => {
        const project = projectWith("meta", base);
        const error = cliErrorOf(() => checkMetaStack("meta", project));
        expect(error.exitCode).toBe(2);
        expect(error.message).toContain("stacks/Pulumi.meta.yaml lacks platform:manager");
        const run = options({ projectDir: project });
        await expect(bootstrap(run.options)).rejects.toThrow("lacks platform:manager");
        expect(run.up).not.toHaveBeenCalled();
    });

    it("refuses a cloud template, a tag instead of a digest, and a missing stack file", () => {
        const cloud = projectWith("meta", `config:\n  platform:template: dev\n  platform:manager: {image: "${image}"}\n`);
        expect(cliErrorOf(() => checkMetaStack("meta", cloud)).message).toContain("platform:template is dev; the meta environment needs one of: local, review");
        const tagged = projectWith("meta", `${base}  platform:manager: {image: "registry.example.com/platform/manager:latest"}\n`);
        expect(cliErrorOf(() => checkMetaStack("meta", tagged)).message).toContain("platform:manager: image: allowed: an image pinned by digest");
        const missing = cliErrorOf(() => checkMetaStack("meta", projectWith("other", base)));
        expect(missing.message).toContain(`stacks/Pulumi.meta.yaml does not exist`);
        expect(missing.message).toContain(EXAMPLE_STACK_FILE);
    });

    it("takes the committed example, which the environment config loads as the engine passes it", () => {
        const text = fs.readFileSync(path.join(REPO_ROOT, EXAMPLE_STACK_FILE), "utf8");
        expect(() => checkMetaStack("meta", projectWith("meta", text))).not.toThrow();
        const project = parse(fs.readFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), "utf8")) as { config: Record<string, { default?: unknown }> };
        const asPassed = (v: unknown) => (typeof v === "object" && v !== null ? JSON.stringify(v) : String(v));
        const defaults = Object.fromEntries(Object.entries(project.config).filter(([, d]) => d.default !== undefined).map(([k, d]) => [k, asPassed(d.default)]));
        const values = Object.fromEntries(Object.entries((parse(text) as { config: Record<string, unknown> }).config).map(([k, v]) => [k, asPassed(v)]));
        const config = loadEnvironmentConfig({ ...defaults, "platform:name": "meta", ...values });
        expect(config).toMatchObject({ template: "local", name: "local-meta" });
        expect(text).toContain("manager:image");
        expect(text).toMatch(/image: \S+@sha256:[0-9a-f]{64}\n/);
    });
});

describe("bootstrap", () => {
    it("on a dry run, validates the file and the stack and prints what it would deploy and send; deploys and sends nothing", async () => {
        const run = options({ dryRun: true });
        expect(await bootstrap(run.options)).toBe(0);
        expect(run.up).not.toHaveBeenCalled();
        const text = run.out.join("");
        expect(text).toContain("would deploy stack meta (./platform up meta)\n");
        const id = commandIdOf(VALID_ENTRY);
        expect(text).toContain(`would send environment.create review-demo (commandId ${id}, template review, plannedDestruction 2026-03-24): `);
        const body = JSON.parse(/: (\{.*\})\n/.exec(text)![1]) as Record<string, unknown>;
        expect(body).toEqual({ ...VALID_ENTRY, type: "environment.create", plannedDestruction: "2026-03-24", commandId: id, requestedBy: expect.stringMatching(/^bootstrap:.+/), requestedAt: NOW.toISOString() });
        expect(text).toContain("dry run: 1 command(s) valid, nothing deployed or sent\n");
    });

    it("checks the file before the stack and the broker URL before the up", async () => {
        const bad = options({ file: writeFile(`environments:\n  - ${JSON.stringify({ ...VALID_ENTRY, owner: "x" })}\n`), projectDir: projectWith("other", "") });
        await expect(bootstrap(bad.options)).rejects.toThrow("entry 1 (review-demo): owner: ");
        const noUrl = options({});
        await expect(bootstrap(noUrl.options)).rejects.toThrow("--amqp-url-file (or PLATFORM_MANAGER_AMQP_URL_FILE) is required");
        const notUrl = path.join(dir, "not-a-url");
        fs.writeFileSync(notUrl, "postgres://x\n");
        await expect(bootstrap(options({ env: { PLATFORM_MANAGER_AMQP_URL_FILE: notUrl } }).options)).rejects.toThrow("does not hold an amqp:// or amqps:// URL");
        expect(noUrl.up).not.toHaveBeenCalled();
    });

    it("sends nothing when the up fails, and returns its exit code", async () => {
        const url = path.join(dir, "url");
        // A port nothing listens on: reaching for it would fail differently.
        fs.writeFileSync(url, "amqp://u:p@127.0.0.1:1/\n");
        const run = options({ amqpUrlFile: url });
        run.up.mockResolvedValue(7);
        expect(await bootstrap(run.options)).toBe(7);
        expect(run.up).toHaveBeenCalledWith("meta");
        expect(run.out).toEqual([]);
    });
});

describe("./platform bootstrap (scripts/cli/main.ts, in-process)", () => {
    it("exits 2 naming the entry and field of a bad file", async () => {
        const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
        try {
            const file = writeFile(`environments:\n  - ${JSON.stringify({ ...VALID_ENTRY, template: "prod", environment: "prod" })}\n`);
            expect(await main(["bootstrap", "--dry-run", "--file", file])).toBe(2);
            expect(stderr.mock.calls.map((c) => String(c[0])).join("")).toContain("entry 1 (prod): template: prod environments");
        } finally {
            stderr.mockRestore();
        }
    });

    it("exits 2 for the local stack, which has no platform:manager", async () => {
        const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
        const stdout = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
        try {
            expect(await main(["bootstrap", "--stack", "local", "--dry-run"])).toBe(2);
            expect(stderr.mock.calls.map((c) => String(c[0])).join("")).toContain("stack local: stacks/Pulumi.local.yaml lacks platform:manager");
            expect(stdout).not.toHaveBeenCalled();
        } finally {
            stderr.mockRestore();
            stdout.mockRestore();
        }
    });
});
