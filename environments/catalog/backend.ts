/**
 * Reads environments from the state backend with the Pulumi Automation API
 * (the backend is whatever PULUMI_BACKEND_URL names: file://, azblob://, s3://).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { parse } from "yaml";

import { EnvironmentEntry, RecordView } from "./model";
import { decideDestroy } from "../destroy-guard";

export const PROJECT_DIR = path.resolve(__dirname, "..", "..");


export async function openWorkspace(projectDir = PROJECT_DIR): Promise<LocalWorkspace> {
    return LocalWorkspace.create({ workDir: projectDir });
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
        entry.protect = stackSetting(stack, "platform:protect") === "true";
        // Outputs and history are independent CLI calls: run them together.
        const [outputs, history] = await Promise.all([ws.stackOutputs(stack), Stack.select(stack, ws).then((s) => s.history(1))]);
        entry.record = outputs.environment?.value as RecordView | undefined;
        const last = history[0];
        if (last) {
            entry.lastOperation = { kind: last.kind, result: last.result, endTime: last.endTime?.toISOString() };
        }
    } catch (err) {
        entry.error = reasonOf(err);
    }
    return entry;
}

/**
 * A plain setting of a stack's config file (stacks/Pulumi.<stack>.yaml), read
 * without the CLI: no decryption is needed for the catalog's settings.
 */
function stackSetting(stack: string, key: string): string | undefined {
    const file = path.join(PROJECT_DIR, "stacks", `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) {
        return undefined;
    }
    const doc = parse(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null;
    const value = doc?.config?.[key];
    return typeof value === "string" || typeof value === "boolean" ? String(value) : undefined;
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
 * the guard of `./platform destroy` (scripts/destroy.ts): nothing is deleted
 * while the state holds a protected resource. Review stacks have no stack
 * file in a fresh checkout, so their config comes from the last deployment.
 */
export async function destroyEnvironment(ws: LocalWorkspace, stack: string, onOutput: (line: string) => void): Promise<void> {
    const s = await Stack.select(stack, ws);
    const state = (await s.exportStack()) as { deployment?: { resources?: { urn: string; type: string; protect?: boolean }[] } };
    const decision = decideDestroy({ stack, template: undefined, unprotect: false, confirmation: undefined }, state.deployment?.resources ?? []);
    if (decision.action === "refuse") {
        throw new Error(decision.reason);
    }
    if (!fs.existsSync(path.join(PROJECT_DIR, "stacks", `Pulumi.${stack}.yaml`))) {
        await s.refreshConfig();
    }
    await s.destroy({ onOutput, color: "never" });
    await ws.removeStack(stack);
}
