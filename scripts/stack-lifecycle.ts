/**
 * The lifecycle rules every path that previews, deploys or refreshes a stack
 * applies: `./platform up|preview|refresh` (through this file's command line)
 * and `./platform stacks preview|up` (scripts/stacks.ts, by import). One
 * implementation, so the single and the parallel path cannot drift apart.
 *
 * - Which missing stacks a command may create (mayCreateStack).
 * - The policy pack and the stack's policy settings, on every preview and up
 *   (policyArgs).
 * - After a successful up: environment.created or environment.updated
 *   (upEventKind), published with the record by scripts/publish-event.ts
 *   when PLATFORM_EVENTS_URL names a broker (publishUpEvent).
 *
 * Usage:
 *   stack-lifecycle.ts policy-args <stack>
 *       the policy pack arguments, one a line
 *   stack-lifecycle.ts may-create <preview|up|refresh> <stack> <backend URL>
 *       exit 0 when the command may create the missing stack, else names the
 *       backend it is missing from and exits 2
 *   stack-lifecycle.ts previewed-in-merge-requests <stack>
 *       exit 0 when merge request pipelines preview the stack; exit 1, printing
 *       the reason, when its template is kept out of them (prod, prod-eu…);
 *       exit 2 when its stack file names no known template
 *   stack-lifecycle.ts publish-up-event <stack>
 *       publishes the event of a successful up (the stack's backend from
 *       PULUMI_BACKEND_URL); a failure is a warning, exit 1
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

import { templateOfStack, TEMPLATES } from "../environments/template-registry";

const REPO_ROOT = path.resolve(__dirname, "..");

export type StackOperation = "preview" | "up" | "refresh";

/**
 * Whether `operation` may create `stack` when its backend does not have it.
 * A preview never creates a shared stack: a missing one means the wrong
 * backend (an unset PLATFORM_STATE_BACKEND_URL_<STACK>, say), and a preview
 * against an empty stack would show everything as new. Stacks of a template
 * that says so (environments/template-registry.ts, `previewCreatesStack`:
 * local, state in the repository; review, made per merge request) are
 * created on first use. A refresh never creates one: it has nothing to read back.
 */
export function mayCreateStack(operation: StackOperation, stack: string, projectDir: string): boolean {
    switch (operation) {
        case "up":
            return true;
        case "refresh":
            return false;
        case "preview": {
            const template = templateOfStack(projectDir, stack);
            return template !== undefined && TEMPLATES[template].previewCreatesStack;
        }
    }
}

/**
 * The policy pack arguments of every preview and up: the pack, with the
 * policy config of the stack's template (policies/config/<template>.json),
 * chosen by its stack file, not its name: prod-eu gets prod.json. A stack
 * whose template cannot be told (no stack file, not local or review-<id>)
 * gets the pack alone, with its defaults.
 */
export function policyArgs(projectDir: string, stack: string): string[] {
    const template = templateOfStack(projectDir, stack);
    const config = template === undefined ? undefined : path.join(projectDir, TEMPLATES[template].policyConfig);
    return ["--policy-pack", path.join(projectDir, "policies"), ...(config !== undefined && fs.existsSync(config) ? ["--policy-pack-config", config] : [])];
}

/**
 * The pulumi arguments of a stack operation, on every path (`./platform
 * up|preview|refresh`, `./platform stacks`, CI): an up never asks
 * (`--yes`), a preview and an up always carry the policy pack, and the
 * caller's own flags come last. Parallel runs add --non-interactive.
 */
export function stackCommandArgs(operation: StackOperation, stack: string, projectDir: string, flags: readonly string[], interactive = true): string[] {
    return [
        operation,
        "--stack",
        stack,
        ...(operation === "up" ? ["--yes"] : []),
        ...(operation === "refresh" ? [] : policyArgs(projectDir, stack)),
        ...(interactive ? [] : ["--non-interactive"]),
        ...flags,
    ];
}

/**
 * Why merge request pipelines do not preview `stack`, or undefined when they
 * do: its template's `previewInMergeRequests` (environments/template-registry.ts),
 * from its stack file, so a prod-template stack of any name (prod-eu) is kept
 * out, not only the one named prod. A stack whose template cannot be told
 * (no stack file, not local or review-<id>) is previewed, as before: its
 * preview fails on the preview identity if it is not for merge requests.
 */
export function notPreviewedInMergeRequests(projectDir: string, stack: string): string | undefined {
    const template = templateOfStack(projectDir, stack);
    if (template === undefined || TEMPLATES[template].previewInMergeRequests) {
        return undefined;
    }
    return `template ${template}: its state and keys are for its own identity, which merge requests never get (the release tag's preview:prod job previews prod)`;
}

export function missingStackMessage(stack: string, backendUrl: string): string {
    return `stack ${stack} does not exist in ${backendUrl}; check the stack's backend (README "State and secrets")`;
}

/** One entry of `pulumi stack history --json` (newest first); only the fields the decision reads. */
export interface UpdateSummary {
    kind: string;
    result: string;
}

/**
 * `created` for the first successful update since the stack was created or
 * last destroyed (the one just made counts), `updated` after that.
 */
export function upEventKind(history: readonly UpdateSummary[]): "created" | "updated" {
    let succeeded = 0;
    for (const update of history) {
        if (update.kind === "destroy") {
            break;
        }
        if (update.kind === "update" && update.result === "succeeded") {
            succeeded++;
        }
    }
    return succeeded <= 1 ? "created" : "updated";
}

export interface CommandResult {
    status: number;
    stdout: string;
    stderr: string;
}

/** Runs a command to its end (tests pass a fake). */
export type Runner = (command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; input?: string }) => Promise<CommandResult>;

/** Async, so parallel runs keep reading the other stacks' output meanwhile. */
export const runCommand: Runner = (command, args, options) =>
    new Promise((resolve) => {
        const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ["pipe", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("error", (e) => resolve({ status: -1, stdout, stderr: `${stderr}${e.message}\n` }));
        child.on("close", (code) => resolve({ status: code ?? -1, stdout, stderr }));
        // A child that exits without reading its input must not crash us (EPIPE).
        child.stdin.on("error", () => undefined);
        child.stdin.end(options.input ?? "");
    });

export interface PublishOptions {
    /** The Pulumi project's directory (where `pulumi stack ...` runs). */
    projectDir: string;
    /** The stack's environment (its backend, its passphrase); PLATFORM_EVENTS_URL turns events on. */
    env: NodeJS.ProcessEnv;
    run?: Runner;
}

/**
 * After a successful up: publishes environment.created or .updated with the
 * stack's record, when PLATFORM_EVENTS_URL is set. Returns what
 * scripts/publish-event.ts printed ("" when events are off); throws, naming
 * the event, when it was not published. The caller only warns: the deployment
 * stands, and the publisher has already retried.
 */
export async function publishUpEvent(stack: string, options: PublishOptions): Promise<string> {
    if (!options.env.PLATFORM_EVENTS_URL) {
        return "";
    }
    const run = options.run ?? runCommand;
    const pulumi = (args: string[]) => run("pulumi", [...args, "--non-interactive"], { cwd: options.projectDir, env: options.env });
    const history = await pulumi(["stack", "history", "--stack", stack, "--json"]);
    if (history.status !== 0) {
        throw new Error(`the change event of ${stack} was not published: pulumi stack history failed: ${history.stderr.trim()}`);
    }
    let kind: "created" | "updated";
    try {
        kind = upEventKind(JSON.parse(history.stdout) as UpdateSummary[]);
    } catch (e) {
        throw new Error(`the change event of ${stack} was not published: pulumi stack history printed no history (${(e as Error).message})`);
    }
    const notPublished = `the change event of ${stack} (environment.${kind}) was not published`;
    const record = await pulumi(["stack", "output", "--stack", stack, "--json", "environment"]);
    if (record.status !== 0) {
        throw new Error(`${notPublished}: pulumi stack output failed: ${record.stderr.trim()}`);
    }
    const published = await run(process.execPath, ["--import", "tsx", path.join(REPO_ROOT, "scripts", "publish-event.ts"), kind, stack, "-"], {
        // tsx resolves from the repository, whichever project is deployed.
        cwd: REPO_ROOT,
        env: options.env,
        input: record.stdout,
    });
    if (published.status !== 0) {
        throw new Error(`${notPublished}: ${(published.stderr || published.stdout).trim()}`);
    }
    return published.stdout;
}

/** The line every path prints when the event of a successful up could not be published. */
export function publishWarning(error: unknown): string {
    return `[platform] warning: ${error instanceof Error ? error.message : String(error)} (PLATFORM_EVENTS_URL)\n`;
}

function isOperation(value: string | undefined): value is StackOperation {
    return value === "preview" || value === "up" || value === "refresh";
}

async function main(argv: string[]): Promise<number> {
    const [command, ...rest] = argv;
    try {
        if (command === "policy-args" && rest.length === 1) {
            process.stdout.write(`${policyArgs(REPO_ROOT, rest[0]).join("\n")}\n`);
            return 0;
        }
        if (command === "previewed-in-merge-requests" && rest.length === 1) {
            const reason = notPreviewedInMergeRequests(REPO_ROOT, rest[0]);
            if (reason === undefined) {
                return 0;
            }
            process.stdout.write(`${reason}\n`);
            return 1;
        }
        if (command === "may-create" && rest.length === 3 && isOperation(rest[0])) {
            const [operation, stack, backendUrl] = rest;
            if (mayCreateStack(operation, stack, REPO_ROOT)) {
                return 0;
            }
            process.stderr.write(`[platform] ${missingStackMessage(stack, backendUrl)}\n`);
            return 2;
        }
    } catch (e) {
        // A stack file that names no known template: the message names the file and the allowed values.
        process.stderr.write(`[platform] ${(e as Error).message}\n`);
        return 2;
    }
    if (command === "publish-up-event" && rest.length === 1) {
        try {
            process.stdout.write(await publishUpEvent(rest[0], { projectDir: REPO_ROOT, env: process.env }));
            return 0;
        } catch (e) {
            process.stderr.write(publishWarning(e));
            return 1;
        }
    }
    process.stderr.write("usage: stack-lifecycle.ts policy-args <stack> | may-create <preview|up|refresh> <stack> <backend URL> | previewed-in-merge-requests <stack> | publish-up-event <stack>\n");
    return 2;
}

if (require.main === module) {
    void main(process.argv.slice(2)).then((code) => process.exit(code));
}
