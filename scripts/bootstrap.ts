/**
 * `./platform bootstrap`: stands the platform up from a fresh clone.
 *
 *   1. reads and validates the whole bootstrap file (bootstrap/environments.yaml):
 *      each entry is an `environment.create` command of the manager without its
 *      commandId and requestedBy, checked with the manager's own schema and
 *      command policy (manager/src/commands/{schema,policy}.ts); any problem
 *      exits 2 naming the entry and the field, before anything is deployed;
 *   2. unless --skip-up, `runStack("up", <meta stack>)`: the meta environment
 *      (a local- or review-template stack with platform:manager set), with the
 *      policy pack and its change event, as every up;
 *   3. publishes each command to the manager's commands exchange on a confirm
 *      channel. The commandId is derived from the environment and the entry as
 *      written (a UUID v5), so running bootstrap again sends the same ids and
 *      the manager, which de-duplicates on commandId, creates nothing twice.
 *
 * `plannedDestruction` may be relative in the file (`+14d`: 14 days after the
 * day the command is sent, UTC), so a committed file does not expire; the id
 * hashes the entry as written, so a re-send on another day keeps its id.
 *
 * Exit codes as ./platform's: 0 done, 1 a step failed, 2 bad file or settings (nothing run).
 */
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { ChannelModel, connect } from "amqplib";
import { parse, YAMLParseError } from "yaml";
import { z } from "zod";

import { managerSetting } from "../environments/config-schema";
import { readStackFile, StackFile, stackFilePath } from "../environments/stack-file";
import { LOCAL_TEMPLATES } from "../environments/template-registry";
import { checkCommand } from "../manager/src/commands/policy";
import { createCommand, CreateCommand } from "../manager/src/commands/schema";
import { COMMANDS_EXCHANGE, COMMANDS_ROUTING_KEY } from "../manager/src/bus/topology";
import { CliError, log } from "./cli/process";
import { stackTemplate } from "./stack-settings";

export const DEFAULT_STACK = "meta";
export const DEFAULT_FILE = path.join("bootstrap", "environments.yaml");
/** Where the committed example of the meta stack file lives (copied to stacks/ to use it). */
export const EXAMPLE_STACK_FILE = path.join("bootstrap", "Pulumi.meta.example.yaml");
export const AMQP_URL_FILE_VARIABLE = "PLATFORM_MANAGER_AMQP_URL_FILE";

/** The UUID v5 namespace of bootstrap command ids: fixed, so ids stay the same across machines and runs. */
export const BOOTSTRAP_NAMESPACE = "47e8833d-ef90-4208-9473-d2948798c02b";

/** The keys an entry may have: a create command's, less what bootstrap sets itself. */
const ENTRY_KEYS = ["environment", "template", "description", "owner", "costCenter", "plannedDestruction", "parameters", "type"] as const;
/** Set by bootstrap, refused in the file (a fixed commandId would defeat the per-entry hash; requestedBy is who runs it). */
const SET_BY_BOOTSTRAP = ["commandId", "requestedBy", "requestedAt"];

const RELATIVE_DATE = /^\+([0-9]{1,4})d$/;
const DAY_MS = 86_400_000;

/** One validated entry: the command to send (without requestedAt) and where it came from. */
export interface BootstrapCommand {
    index: number;
    command: CreateCommand;
}

function isRecord(value: unknown): value is Record<string, unknown> {
    return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** `+14d` → the UTC date 14 days after `now`; any other value unchanged. */
export function resolvePlannedDestruction(value: unknown, now: Date): unknown {
    const match = typeof value === "string" ? RELATIVE_DATE.exec(value) : null;
    if (!match) {
        return value;
    }
    const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
    return new Date(today + Number(match[1]) * DAY_MS).toISOString().slice(0, 10);
}

/** JSON with sorted keys at every level: the same entry hashes the same whatever its key order. */
function canonicalJson(value: unknown): string {
    if (Array.isArray(value)) {
        return `[${value.map(canonicalJson).join(",")}]`;
    }
    if (isRecord(value)) {
        return `{${Object.keys(value)
            .sort()
            .map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`)
            .join(",")}}`;
    }
    return JSON.stringify(value);
}

/** A name-based UUID, version 5 (RFC 9562 §5.5): SHA-1 of the namespace's bytes and the name. */
export function uuidV5(name: string, namespace: string = BOOTSTRAP_NAMESPACE): string {
    const ns = Buffer.from(namespace.replace(/-/g, ""), "hex");
    const bytes = createHash("sha1").update(ns).update(name, "utf8").digest().subarray(0, 16);
    bytes[6] = (bytes[6] & 0x0f) | 0x50;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = bytes.toString("hex");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The commandId of an entry as written in the file (relative dates unresolved,
 * key order ignored): the same entry always gets the same id; any change to it
 * (another description, another date) is a new command.
 */
export function commandIdOf(entry: Record<string, unknown>): string {
    const hash = createHash("sha256").update(canonicalJson(entry)).digest("hex");
    return uuidV5(`${String(entry.environment)}\n${hash}`);
}

/** Which field a policy refusal is about (its reasons start with the field they judge). */
function policyField(reason: string): string {
    if (reason.startsWith("plannedDestruction")) {
        return "plannedDestruction";
    }
    if (reason.startsWith("parameter")) {
        return "parameters";
    }
    if (reason.startsWith("environment name") || reason.includes(" is not a name any template makes")) {
        return "environment";
    }
    return "template";
}

function zodProblems(error: z.ZodError): string[] {
    return error.issues.map((issue) => {
        if (issue.code === "unrecognized_keys") {
            return `${issue.keys.join(", ")}: not a field of a create command; allowed: ${ENTRY_KEYS.join(", ")}`;
        }
        const field = issue.path.length ? issue.path.join(".") : "(entry)";
        return `${field}: ${issue.message}`;
    });
}

/** The problems of one entry, each naming its field; the command when there are none. */
function checkEntry(raw: unknown, requestedBy: string, now: Date): { problems: string[]; command?: CreateCommand } {
    if (!isRecord(raw)) {
        return { problems: [`(entry): must be a map of ${ENTRY_KEYS.join(", ")}`] };
    }
    const problems = SET_BY_BOOTSTRAP.filter((k) => k in raw).map((k) => `${k}: set by bootstrap, remove it from the file`);
    if (raw.type !== undefined && raw.type !== "environment.create") {
        problems.push(`type: bootstrap sends creates only; allowed: environment.create (or leave it out)`);
    }
    if (problems.length) {
        return { problems };
    }
    const candidate = {
        ...raw,
        type: "environment.create",
        commandId: commandIdOf(raw),
        requestedBy,
        plannedDestruction: resolvePlannedDestruction(raw.plannedDestruction, now),
    };
    const parsed = createCommand.safeParse(candidate);
    if (!parsed.success) {
        return {
            problems: zodProblems(parsed.error).map((p) => (p.startsWith("plannedDestruction:") ? `${p} (YYYY-MM-DD, or +<days>d from the day it is sent)` : p)),
        };
    }
    const policy = checkCommand(parsed.data, now);
    if (!policy.ok) {
        return { problems: [`${policyField(policy.reason)}: ${policy.reason}`] };
    }
    return { problems: [], command: parsed.data };
}

/**
 * Reads and validates the whole bootstrap file. Throws one CliError (exit 2)
 * listing every problem of every entry, as `entry <n> (<environment>): <field>: <why>`.
 */
export function readBootstrapFile(file: string, requestedBy: string, now: Date): BootstrapCommand[] {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (e) {
        throw new CliError(`bootstrap file ${file}: ${e instanceof Error ? e.message : String(e)}`, 2);
    }
    let doc: unknown;
    try {
        doc = parse(text);
    } catch (e) {
        throw new CliError(`bootstrap file ${file}: not valid YAML: ${e instanceof YAMLParseError ? e.message : String(e)}`, 2);
    }
    if (!isRecord(doc) || !Array.isArray(doc.environments)) {
        throw new CliError(`bootstrap file ${file}: expected a list under "environments:" (each entry a create command without commandId and requestedBy)`, 2);
    }
    const problems: string[] = [];
    const commands: BootstrapCommand[] = [];
    const seen = new Map<string, number>();
    doc.environments.forEach((raw: unknown, index: number) => {
        const environment = isRecord(raw) && typeof raw.environment === "string" ? raw.environment : "?";
        const label = `entry ${index + 1} (${environment})`;
        const { problems: own, command } = checkEntry(raw, requestedBy, now);
        problems.push(...own.map((p) => `${label}: ${p}`));
        const first = seen.get(environment);
        if (environment !== "?" && first !== undefined) {
            problems.push(`${label}: environment: already created by entry ${first + 1}; each environment once`);
        }
        seen.set(environment, index);
        if (command) {
            commands.push({ index, command });
        }
    });
    if (problems.length) {
        throw new CliError(`bootstrap file ${file}: nothing was deployed or sent:\n${problems.map((p) => `  - ${p}`).join("\n")}`, 2);
    }
    return commands;
}

/**
 * Refuses (exit 2, naming the file or setting) a meta stack that could not
 * run the manager: no stack file, a template other than local/review, or no
 * valid platform:manager.
 */
export function checkMetaStack(stack: string, projectDir: string): void {
    const where = stackFilePath(stack);
    let stackFile: StackFile | undefined;
    try {
        stackFile = readStackFile(projectDir, stack);
    } catch (e) {
        throw new CliError(e instanceof Error ? e.message : String(e), 2);
    }
    if (!stackFile) {
        throw new CliError(`stack ${stack}: ${where} does not exist; bootstrap deploys a stack file with platform:template local (or review) and platform:manager (copy ${EXAMPLE_STACK_FILE})`, 2);
    }
    const template = stackTemplate(stack, stackFile);
    if (template === undefined || !(LOCAL_TEMPLATES as readonly string[]).includes(template)) {
        throw new CliError(`stack ${stack}: ${where}: platform:template is ${template ?? "unset"}; the meta environment needs one of: ${LOCAL_TEMPLATES.join(", ")}`, 2);
    }
    const config = isRecord(stackFile.config) ? stackFile.config : {};
    const value = config["platform:manager"];
    if (value === undefined || value === null || value === "" || (isRecord(value) && Object.keys(value).length === 0)) {
        throw new CliError(`stack ${stack}: ${where} lacks platform:manager: set it to {image: <registry/repository@sha256:…>, replicas: <1-5>} so the meta environment runs the manager`, 2);
    }
    const parsed = managerSetting.safeParse(value);
    if (!parsed.success) {
        throw new CliError(`stack ${stack}: ${where}: platform:manager: ${parsed.error.issues.map((i) => `${i.path.length ? `${i.path.join(".")}: ` : ""}${i.message}`).join("; ")}`, 2);
    }
    log(`stack ${stack}: ${template} template, manager image ${parsed.data.image}`);
}

/** Who asked, for the manager's audit log: `bootstrap:<git user.email, git user.name or $USER>`. */
export function requestedByOf(projectDir: string, env: NodeJS.ProcessEnv): string {
    for (const key of ["user.email", "user.name"]) {
        try {
            const value = execFileSync("git", ["config", key], { cwd: projectDir, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
            if (value) {
                return `bootstrap:${value}`;
            }
        } catch {
            // not set: the next one
        }
    }
    let user = env.USER || env.LOGNAME;
    if (!user) {
        try {
            user = os.userInfo().username;
        } catch {
            user = "unknown";
        }
    }
    return `bootstrap:${user}`;
}

/** The broker URL (with credentials) from its file; never printed. */
export function readAmqpUrl(file: string | undefined): string {
    if (!file) {
        throw new CliError(`--amqp-url-file (or ${AMQP_URL_FILE_VARIABLE}) is required: a file holding the manager's broker URL, amqp://user:password@host:5672/vhost`, 2);
    }
    let url: string;
    try {
        url = fs.readFileSync(file, "utf8").trim();
    } catch (e) {
        throw new CliError(`--amqp-url-file ${file}: ${e instanceof Error ? e.message : String(e)}`, 2);
    }
    if (!/^amqps?:\/\/\S+$/.test(url)) {
        throw new CliError(`--amqp-url-file ${file}: the file does not hold an amqp:// or amqps:// URL`, 2);
    }
    return url;
}

/** An error's text without the URL's password (amqplib may echo the URL). */
function redacted(error: unknown, url: string): string {
    const text = error instanceof Error ? error.message : String(error);
    let password = "";
    try {
        password = decodeURIComponent(new URL(url).password);
    } catch {
        // not a URL: nothing to hide beyond the whole text
    }
    return [url, password].filter((s) => s.length > 3).reduce((t, secret) => t.split(secret).join("***"), text);
}

/** The body as sent: the command with the time it was sent. */
export function messageBody(command: CreateCommand, now: Date): CreateCommand {
    return { ...command, requestedAt: now.toISOString() };
}

function describe(command: CreateCommand): string {
    return `${command.type} ${command.environment} (commandId ${command.commandId}, template ${command.template}, plannedDestruction ${command.plannedDestruction})`;
}

/**
 * Publishes the commands on a confirm channel: persistent, mandatory (an
 * unroutable command is an error, not a silent drop), message id = commandId.
 * The manager declares the topology; the exchange is only checked here, so a
 * missing manager is named instead of a bare 404.
 */
export async function sendCommands(url: string, commands: readonly CreateCommand[], now: Date, out: (text: string) => void): Promise<void> {
    let model: ChannelModel;
    try {
        model = await connect(url, { timeout: 10_000, clientProperties: { connection_name: "platform bootstrap" } });
    } catch (e) {
        throw new CliError(`cannot reach the manager's broker: ${redacted(e, url)}`, 1);
    }
    // A closed connection is reported by the failing call below; the listener keeps it from being an unhandled 'error'.
    model.on("error", () => undefined);
    try {
        const channel = await model.createConfirmChannel();
        // A 404 on checkExchange closes the channel with an 'error' event: reported by the awaited call instead.
        channel.on("error", () => undefined);
        try {
            await channel.checkExchange(COMMANDS_EXCHANGE);
        } catch {
            throw new CliError(`the exchange ${COMMANDS_EXCHANGE} does not exist on the broker: the manager declares it when it starts; is it running?`, 1);
        }
        const returned: string[] = [];
        channel.on("return", (message: { properties: { messageId?: unknown } }) => returned.push(String(message.properties.messageId)));
        for (const command of commands) {
            const body = Buffer.from(JSON.stringify(messageBody(command, now)));
            const traceparent = `00-${randomBytes(16).toString("hex")}-${randomBytes(8).toString("hex")}-01`;
            await new Promise<void>((resolve, reject) => {
                channel.publish(
                    COMMANDS_EXCHANGE,
                    COMMANDS_ROUTING_KEY,
                    body,
                    { persistent: true, mandatory: true, contentType: "application/json", messageId: command.commandId, headers: { traceparent } },
                    (error: unknown) => (error ? reject(new CliError(`the broker refused ${command.environment}'s command: ${redacted(error, url)}`, 1)) : resolve()),
                );
            });
            // A basic.return comes before the confirm of the same message.
            if (returned.includes(command.commandId)) {
                throw new CliError(`${command.environment}'s command was not routed to any queue (is the manager's ${COMMANDS_ROUTING_KEY} binding declared?)`, 1);
            }
            out(`sent ${describe(command)}\n`);
        }
        await channel.close();
    } catch (e) {
        throw e instanceof CliError ? e : new CliError(`sending the commands failed: ${redacted(e, url)}`, 1);
    } finally {
        await model.close().catch(() => undefined);
    }
}

export interface BootstrapOptions {
    stack: string;
    file: string;
    amqpUrlFile?: string;
    skipUp: boolean;
    dryRun: boolean;
    projectDir: string;
    env: NodeJS.ProcessEnv;
    /** The up of the meta stack (runStack in ./platform; a stand-in in tests). */
    up: (stack: string) => Promise<number>;
    now?: Date;
    out?: (text: string) => void;
}

export async function bootstrap(options: BootstrapOptions): Promise<number> {
    const now = options.now ?? new Date();
    const out = options.out ?? ((text: string) => process.stdout.write(text));
    const requestedBy = requestedByOf(options.projectDir, options.env);
    // Everything that can be wrong is checked before the up: a deploy takes minutes.
    const commands = readBootstrapFile(options.file, requestedBy, now).map((c) => c.command);
    if (!options.skipUp) {
        checkMetaStack(options.stack, options.projectDir);
    }
    if (options.dryRun) {
        if (!options.skipUp) {
            out(`would deploy stack ${options.stack} (./platform up ${options.stack})\n`);
        }
        for (const command of commands) {
            out(`would send ${describe(command)}: ${JSON.stringify(messageBody(command, now))}\n`);
        }
        out(`dry run: ${commands.length} command(s) valid, nothing deployed or sent\n`);
        return 0;
    }
    const url = readAmqpUrl(options.amqpUrlFile ?? (options.env[AMQP_URL_FILE_VARIABLE] || undefined));
    if (!options.skipUp) {
        const status = await options.up(options.stack);
        if (status !== 0) {
            log(`the up of ${options.stack} failed (exit ${status}); no command was sent`);
            return status;
        }
    }
    if (commands.length === 0) {
        out("no environments in the bootstrap file: nothing to send\n");
        return 0;
    }
    await sendCommands(url, commands, now, out);
    log(`${commands.length} command(s) sent; a re-run sends the same commandIds, which the manager takes once`);
    return 0;
}
