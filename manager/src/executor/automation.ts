/**
 * The real executor: the Pulumi Automation API on this repository's program,
 * in a checkout at a known commit (`projectDir`), with the settings every
 * other path uses: the stack's backend and secrets provider
 * (scripts/stack-settings.ts), the policy pack with the template's config on
 * every preview and up (scripts/stack-lifecycle.ts policyArgs), and the
 * destroy guard of `./platform destroy` (environments/catalog/backend.ts).
 *
 * An up is a preview first, as `pulumi up` without --skip-preview is: the
 * policy pack judges the whole plan before anything is touched, and the
 * preview's step count is the progress total.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { EngineEvent, LocalWorkspace, Stack } from "@pulumi/pulumi/automation";

import { deliveryModeOf } from "../../../scripts/delivery-mode";
import { destroyEnvironment, readAllEnvironments, readDeployedState } from "../../../environments/catalog/backend";
import { TEMPLATES, templateOfStack } from "../../../environments/template-registry";
import { parseUrn } from "../../../scripts/preview-note";
import { backendEnv, stackEnv, stackSettings } from "../../../scripts/stack-settings";
import type { Command, CreateCommand } from "../commands/schema";
import type { DriftedResourceEntry, EnvironmentRecordDocument } from "../store/store";
import type { DriftResult, ExecutionHooks, ExecutionResult, Executor } from "./executor";

export interface AutomationExecutorOptions {
    /** The checkout of this repository the manager runs (its commit is the record's template commit). */
    projectDir: string;
    /** The environment of every pulumi run: PLATFORM_STATE_BACKEND_URL, PLATFORM_SECRETS_PROVIDER and their credentials. */
    env: NodeJS.ProcessEnv;
    /**
     * platform:* settings every environment the manager creates gets, before the
     * command's own (where it deploys: platform:kubeContext, platform:chartMirror,
     * platform:renderDirectory, ...). Keys without the `platform:` prefix.
     */
    stackDefaults: Record<string, string>;
    /** platform:repository of the environments it creates (the tagging strategy's repository tag). */
    repository: string;
}

/** Engine step operations that do not change anything, left out of the progress count. */
const UNCHANGED_OPS = new Set(["same", "read", "refresh"]);

export class AutomationExecutor implements Executor {
    constructor(private readonly options: AutomationExecutorOptions) {}

    async execute(command: Command, hooks: ExecutionHooks): Promise<ExecutionResult> {
        const stack = await this.openStack(command.environment, command.type === "environment.create");
        if (command.type === "environment.destroy") {
            const ws = stack.workspace as LocalWorkspace;
            const { state } = await readDeployedState(ws, command.environment);
            await destroyEnvironment(ws, command.environment, state, (line) => hooks.onOutput([line]));
            return {};
        }
        if (command.type === "environment.create") {
            await stack.setAllConfig(prefixed({ ...this.options.stackDefaults, ...this.createSettings(command) }));
        } else {
            await stack.setAllConfig(prefixed(updateSettings(command)));
        }
        return { record: await this.up(stack, command.environment, hooks) };
    }

    async readAll(): Promise<{ name: string; template?: string; record?: EnvironmentRecordDocument; error?: string }[]> {
        const ws = await LocalWorkspace.create({ workDir: this.options.projectDir, envVars: stringEnv(this.backendEnv()) });
        const entries = await readAllEnvironments(ws, () => undefined);
        return entries.map((e) => ({
            name: e.stack,
            template: e.record?.templates[0]?.name,
            record: e.record as EnvironmentRecordDocument | undefined,
            error: e.error,
        }));
    }

    /**
     * After a killed run: the backend's update lock is removed (`pulumi cancel`
     * clears a self-managed backend's lock files), then a refresh reads back what
     * was really made and drops the creates that never finished, as README
     * "Reliability and recovery" documents for people.
     */
    async recover(environment: string): Promise<void> {
        let stack: Stack;
        try {
            stack = await this.openStack(environment, false);
        } catch {
            return; // never created: nothing to recover
        }
        await stack.cancel().catch(() => undefined);
        await stack.refresh({ clearPendingCreates: true, color: "never" });
    }

    /**
     * `pulumi refresh --preview-only`, read from its engine events as the
     * scheduled drift job reads the same run's JSON (scripts/drift-report.ts):
     * a resource whose refresh step comes out as an update with a detailed
     * diff changed outside code; as a delete, it is gone.
     */
    async checkDrift(environment: string, signal?: AbortSignal): Promise<DriftResult> {
        const stack = await this.openStack(environment, false);
        const ws = stack.workspace as LocalWorkspace;
        if ((await deliveryModeOf(environment, this.options.projectDir, { ...this.options.env, ...ws.envVars })) === "render") {
            return { state: "unchecked", resources: [], reason: "rendered to files: there are no live objects to compare" };
        }
        const refreshed = new Set<string>();
        const drifted: DriftedResourceEntry[] = [];
        const onEvent = (event: EngineEvent) => {
            const pre = event.resourcePreEvent?.metadata;
            if (pre?.op === "refresh") {
                refreshed.add(pre.urn);
            }
            const out = event.resOutputsEvent?.metadata;
            if (!out || !refreshed.has(out.urn)) {
                return;
            }
            const ref = parseUrn(out.urn);
            // The root stack has no live object: a change there is the program's outputs.
            if (ref.type === "pulumi:pulumi:Stack") {
                return;
            }
            if (out.op === "delete") {
                drifted.push({ urn: out.urn, type: out.type, name: ref.name, change: "deleted", paths: [] });
            } else if (out.op === "update" && out.detailedDiff) {
                // An update without a detailed diff is not drift: pulumi's own digest keeps such a step a refresh (display/json.go).
                const paths = Object.keys(out.detailedDiff);
                drifted.push({ urn: out.urn, type: out.type, name: ref.name, change: "changed", paths: (paths.length > 0 ? paths : (out.diffs ?? [])).sort() });
            }
        };
        await stack.previewRefresh({ onEvent, color: "never", signal });
        drifted.sort((a, b) => a.urn.localeCompare(b.urn));
        return drifted.length > 0 ? { state: "drifted", resources: drifted } : { state: "clean", resources: [] };
    }

    private backendEnv(): NodeJS.ProcessEnv {
        const env = this.options.env;
        if (!env.PLATFORM_STATE_BACKEND_URL) {
            throw new Error("PLATFORM_STATE_BACKEND_URL is not set: the manager keeps self-service environments in the team backend");
        }
        return backendEnv(env.PLATFORM_STATE_BACKEND_URL, env);
    }

    /** The stack with its own backend and secrets provider; created only for a create command. */
    private async openStack(environment: string, create: boolean): Promise<Stack> {
        const { projectDir } = this.options;
        const settings = stackSettings(environment, projectDir, this.options.env);
        const envVars = stringEnv(stackEnv(settings, this.options.env));
        const ws = await LocalWorkspace.create({ workDir: projectDir, envVars, secretsProvider: settings.secretsProvider });
        if (create) {
            return Stack.createOrSelect(environment, ws);
        }
        const stack = await Stack.select(environment, ws);
        // A fresh checkout has no stack file for a self-service environment: its config is the last deployment's.
        if (!fs.existsSync(path.join(projectDir, "stacks", `Pulumi.${environment}.yaml`))) {
            await stack.refreshConfig();
        }
        return stack;
    }

    private createSettings(command: CreateCommand): Record<string, string> {
        return {
            template: command.template,
            description: command.description,
            owner: command.owner,
            costCenter: command.costCenter,
            repository: this.options.repository,
            plannedDestruction: command.plannedDestruction,
            ...stringValues(command.parameters ?? {}),
        };
    }

    private async up(stack: Stack, environment: string, hooks: ExecutionHooks): Promise<EnvironmentRecordDocument> {
        const template = templateOfStack(this.options.projectDir, environment) ?? "review";
        const policy = {
            policyPacks: [path.join(this.options.projectDir, "policies")],
            policyPackConfigs: [path.join(this.options.projectDir, TEMPLATES[template].policyConfig)],
        };
        // A render keeps no per-step checkpoints, as `./platform up` (scripts/delivery-mode.ts says why).
        const ws = stack.workspace as LocalWorkspace;
        if ((await deliveryModeOf(environment, this.options.projectDir, { ...this.options.env, ...ws.envVars })) === "render") {
            ws.envVars.PULUMI_SKIP_CHECKPOINTS = "true";
        } else {
            delete ws.envVars.PULUMI_SKIP_CHECKPOINTS;
        }
        const onOutput = (out: string) => hooks.onOutput(out.split("\n").filter((l) => l.trim() !== ""));
        const preview = await stack.preview({ ...policy, onOutput, color: "never", signal: hooks.signal });
        const total = Object.entries(preview.changeSummary)
            .filter(([op]) => !UNCHANGED_OPS.has(op))
            .reduce((sum, [, n]) => sum + n, 0);
        let done = 0;
        hooks.onProgress(0, total);
        const onEvent = (event: EngineEvent) => {
            const step = event.resOutputsEvent?.metadata;
            if (step && !UNCHANGED_OPS.has(step.op)) {
                done += 1;
                hooks.onProgress(Math.min(done, total), total);
            }
        };
        await stack.up({ ...policy, onOutput, onEvent, color: "never", signal: hooks.signal });
        hooks.onProgress(total, total);
        const outputs = await stack.outputs();
        return outputs.environment?.value as EnvironmentRecordDocument;
    }
}

function updateSettings(command: Exclude<Command, CreateCommand>): Record<string, string> {
    switch (command.type) {
        case "environment.update":
            return { ...(command.description === undefined ? {} : { description: command.description }), ...stringValues(command.parameters ?? {}) };
        case "environment.extend":
            return { plannedDestruction: command.plannedDestruction };
        case "environment.destroy":
            return {};
    }
}

function prefixed(settings: Record<string, string>): Record<string, { value: string }> {
    return Object.fromEntries(Object.entries(settings).map(([k, v]) => [`platform:${k}`, { value: v }]));
}

function stringValues(values: Record<string, string | number | boolean>): Record<string, string> {
    return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, String(v)]));
}

/** The Automation API takes string values only. */
function stringEnv(env: NodeJS.ProcessEnv): Record<string, string> {
    return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}
