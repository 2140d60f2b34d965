/**
 * `runStack(operation, stack)`: a preview, up or refresh of one stack under
 * the lifecycle rules (scripts/stack-lifecycle.ts) that `./platform stacks`
 * and the CI jobs go through too: the stack's backend and secrets provider
 * (scripts/stack-settings.ts), which missing stacks the operation may create,
 * the policy pack on every preview and up, a render-mode up without per-step
 * checkpoints (scripts/delivery-mode.ts), and an up's change event.
 */
import { spawnSync } from "node:child_process";

import { deliveryModeOf } from "../delivery-mode";
import { pulumiTask } from "../parallel-stacks";
import { mayCreateStack, missingStackMessage, publishUpEvent, publishWarning, StackOperation } from "../stack-lifecycle";
import { StackSettings, stackEnv, stackSettings } from "../stack-settings";
import { CliError, log, runInherited } from "./process";

export interface RunStackOptions {
    projectDir: string;
    /** pulumi flags, after the platform's own. */
    flags: readonly string[];
    env?: NodeJS.ProcessEnv;
}

/**
 * The stack's settings and environment (its backend; local's committed
 * passphrase), logged as `./platform` always has for a shared stack.
 */
export function stackEnvironment(stack: string, projectDir: string, env: NodeJS.ProcessEnv = process.env): { settings: StackSettings; env: NodeJS.ProcessEnv } {
    const settings = stackSettings(stack, projectDir, env);
    if (settings.secretsProvider !== "passphrase") {
        log(`stack ${stack}: state in ${settings.backendUrl}, secrets provider ${settings.secretsProvider}`);
    }
    return { settings, env: stackEnv(settings, env) };
}

/**
 * Selects the stack, creating it when its backend does not have it and the
 * operation may (a preview never creates a shared stack, a refresh none).
 * Created with its secrets provider: without one, `stack init` on a
 * self-managed backend gives the stack the passphrase provider.
 */
export function selectStack(operation: StackOperation, settings: StackSettings, projectDir: string, env: NodeJS.ProcessEnv): void {
    const select = spawnSync("pulumi", ["stack", "select", settings.stack], { cwd: projectDir, env, stdio: ["ignore", "inherit", "ignore"] });
    if (select.status === 0) {
        return;
    }
    if (!mayCreateStack(operation, settings.stack, projectDir)) {
        throw new CliError(missingStackMessage(settings.stack, settings.backendUrl), 2);
    }
    log(`creating stack ${settings.stack}`);
    const init = spawnSync("pulumi", ["stack", "init", "--secrets-provider", settings.secretsProvider, settings.stack], {
        cwd: projectDir,
        env,
        stdio: ["ignore", 2, "inherit"],
    });
    if (init.status !== 0) {
        throw new CliError(`pulumi stack init ${settings.stack} failed`, 1);
    }
}

/** Runs the operation with the terminal attached; returns pulumi's exit code. */
export async function runStack(operation: StackOperation, stack: string, options: RunStackOptions): Promise<number> {
    const { projectDir } = options;
    const { settings, env } = stackEnvironment(stack, projectDir, options.env);
    selectStack(operation, settings, projectDir, env);
    if (operation === "up" && (await deliveryModeOf(stack, projectDir, env)) === "render") {
        // A render keeps no per-step checkpoints (scripts/delivery-mode.ts says why).
        env.PULUMI_SKIP_CHECKPOINTS = "true";
    }
    // The same task `./platform stacks` runs, with the terminal attached.
    const task = pulumiTask(operation, stack, { projectDir, env, extraArgs: options.flags, interactive: true });
    const status = await runInherited(task.command, task.args, { cwd: task.cwd, env: task.env });
    if (status !== 0 || operation !== "up") {
        return status;
    }
    // The change event, as the task's afterSuccess publishes it, with the warning on stderr here:
    // the deployment stands, and a broker that is down must not fail it (the publisher has already retried).
    try {
        process.stdout.write(await publishUpEvent(stack, { projectDir, env }));
    } catch (e) {
        process.stderr.write(publishWarning(e));
    }
    process.stdout.write("\n");
    log(`stack ${stack} is up. The environment record: pulumi stack output --stack ${stack} --json environment`);
    const rendered = spawnSync("pulumi", ["stack", "output", "--stack", stack, "renderDirectory"], { cwd: projectDir, env, encoding: "utf8" });
    if (rendered.status === 0 && rendered.stdout.trim() !== "") {
        log(`rendered manifests: ${rendered.stdout.trim()}`);
    }
    return 0;
}
