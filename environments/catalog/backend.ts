/**
 * Reads environments from the state backend with the Pulumi Automation API
 * (the backend is whatever PULUMI_BACKEND_URL names: file://, azblob://, s3://).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { LocalWorkspace, Stack, UpdateSummary } from "@pulumi/pulumi/automation";

import { DeployedState, deployedState, EnvironmentEntry, isProtected } from "./model";
import { decideDestroy, destroySkipsCheckpoints } from "../destroy-guard";
import { backendVariables } from "../state-backend";

export const PROJECT_DIR = path.resolve(__dirname, "..", "..");


/** A workspace on PULUMI_BACKEND_URL, with the backend's settings (a reap's destroy writes the state as every other command does). */
export async function openWorkspace(projectDir = PROJECT_DIR, env: NodeJS.ProcessEnv = process.env): Promise<LocalWorkspace> {
    return LocalWorkspace.create({ workDir: projectDir, envVars: env.PULUMI_BACKEND_URL ? backendVariables(env.PULUMI_BACKEND_URL) : {} });
}

/** Short reason from a CLI error (its first line with content, without the command echo). */
function reasonOf(err: unknown): string {
    const text = err instanceof Error ? err.message : String(err);
    const line = text.split("\n").find((l) => /error|failed|passphrase|unable/i.test(l)) ?? text.split("\n")[0];
    return line.replace(/^\s*(stderr:\s*)?(error:\s*)?/i, "").slice(0, 200);
}

/** Everything the catalog needs about one stack; never throws (an unreadable stack is reported as such). */
export async function readEnvironment(ws: LocalWorkspace, stack: string, summary?: { resourceCount?: number; updateInProgress?: boolean }): Promise<EnvironmentEntry> {
    const entry: EnvironmentEntry = {
        stack,
        resourceCount: summary?.resourceCount ?? 0,
        updateInProgress: summary?.updateInProgress ?? false,
        protect: false,
    };
    try {
        // Record and protection come from one snapshot of the state, so they agree.
        const { state, last } = await readDeployedState(ws, stack);
        entry.record = state.record;
        entry.protect = isProtected(state);
        if (last) {
            entry.lastOperation = { kind: last.kind, result: last.result, endTime: last.endTime?.toISOString() };
        }
    } catch (err) {
        entry.error = reasonOf(err);
    }
    return entry;
}

/**
 * A stack's deployed state (`pulumi stack export`) and its last operation
 * (`pulumi stack history`): both live in the backend, so they need no stack
 * file. The two CLI calls are independent: they run together.
 */
export async function readDeployedState(ws: LocalWorkspace, stack: string): Promise<{ state: DeployedState; last?: UpdateSummary }> {
    const s = await Stack.select(stack, ws);
    const [exported, history] = await Promise.all([s.exportStack(), s.history(1)]);
    const last = history[0] as UpdateSummary | undefined;
    return { state: deployedState(exported, last?.config), last };
}

/** How many stacks are read at once (each read runs the CLI). */
const READ_CONCURRENCY = 4;

/** Every stack of the project in the backend, a few at a time, with progress on stderr. */
export async function readAllEnvironments(ws: LocalWorkspace, progress: (message: string) => void): Promise<EnvironmentEntry[]> {
    progress("listing stacks…");
    const summaries = await ws.listStacks();
    const entries: EnvironmentEntry[] = [];
    let next = 0;
    const worker = async () => {
        while (next < summaries.length) {
            const s = summaries[next++];
            entries.push(await readEnvironment(ws, s.name, s));
            progress(`read ${s.name} (${entries.length}/${summaries.length})`);
        }
    };
    await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, summaries.length) }, worker));
    return entries.sort((a, b) => a.stack.localeCompare(b.stack));
}

/**
 * Destroys a stack's resources and removes the stack from the backend, with
 * the guard of `./platform destroy` (scripts/destroy.ts) applied to `state`,
 * the state the caller decided on: nothing is deleted while it holds a
 * protected resource. Review stacks have no stack file in a fresh checkout,
 * so their config comes from the last deployment.
 */
export async function destroyEnvironment(ws: LocalWorkspace, stack: string, state: DeployedState, onOutput: (line: string) => void): Promise<void> {
    const template = state.record?.templates[0]?.name;
    const decision = decideDestroy({ stack, template, unprotect: false, confirmation: undefined }, state.protectedResources);
    if (decision.action === "refuse") {
        throw new Error(decision.reason);
    }
    const s = await Stack.select(stack, ws);
    if (!fs.existsSync(path.join(PROJECT_DIR, "stacks", `Pulumi.${stack}.yaml`))) {
        await s.refreshConfig();
    }
    // A Kubernetes-only stack's destroy is finished by running it again (destroySkipsCheckpoints).
    const skip = destroySkipsCheckpoints(template);
    const before = ws.envVars.PULUMI_SKIP_CHECKPOINTS;
    if (skip) {
        ws.envVars.PULUMI_SKIP_CHECKPOINTS = "true";
    }
    try {
        await s.destroy({ onOutput, color: "never" });
    } finally {
        if (skip) {
            if (before === undefined) {
                delete ws.envVars.PULUMI_SKIP_CHECKPOINTS;
            } else {
                ws.envVars.PULUMI_SKIP_CHECKPOINTS = before;
            }
        }
    }
    await ws.removeStack(stack);
}
