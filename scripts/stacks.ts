/**
 * `./platform stacks` (its command line: scripts/cli/main.ts): preview or
 * deploy several stacks at once, or list the stacks a change affects.
 *
 *   stacks preview|up <stack...> [--workers N] [--project-dir DIR] [-- <pulumi flags>]
 *   stacks affected <base-ref> [--include <stack>]... [--project-dir DIR]
 *
 * preview|up: the rules of `./platform preview|up` for each stack
 * (scripts/stack-lifecycle.ts): its backend and secrets provider from
 * scripts/stack-settings.ts; missing stacks created one after another (with
 * their secrets provider) before any run, except that a preview never creates
 * a shared stack (a missing one stops everything, exit 2); the policy pack on
 * every run; an up's change event once it succeeded; a render-mode up without
 * per-step checkpoints (scripts/delivery-mode.ts). The runs go at most N at a
 * time (default: the CPU count), each stack's output printed whole as it
 * finishes, and one summary at the end. Exits 1 when any stack failed, 2 on
 * bad usage or a missing shared stack.
 *
 * affected: prints the stacks (one a line, promotion order) that the changes
 * between the merge base of <base-ref> and HEAD can affect, among the stacks
 * with a stack file and those named with --include (a merge request's
 * review-<id>, which has none); see scripts/affected-stacks.ts for the rules.
 */
import { spawnSync } from "node:child_process";

import { deliveryModeOf } from "./delivery-mode";
import { formatStackOutput, formatSummary, pulumiTask, runStacks } from "./parallel-stacks";
import { mayCreateStack, missingStackMessage } from "./stack-lifecycle";
import { StackSettings, StackSettingsError, stackEnv, stackSettings } from "./stack-settings";

export interface StacksArgs {
    stacks: readonly string[];
    workers: number;
    projectDir: string;
    /** More pulumi flags, after the platform's own. */
    pulumiArgs: readonly string[];
}

function log(message: string): void {
    process.stderr.write(`[platform] ${message}\n`);
}

/** The environment pulumi runs a stack with: its backend, and local's committed passphrase unless one is set. */
function pulumi(args: string[], cwd: string, env: NodeJS.ProcessEnv) {
    return spawnSync("pulumi", [...args, "--non-interactive"], { cwd, env, encoding: "utf8" });
}

/**
 * Creates the stacks a backend does not have yet, one after another (before
 * the parallel runs), each with its own secrets provider: `pulumi stack init`
 * without one would give a cloud stack the passphrase provider. When the
 * operation may not create one of them (a shared stack on a preview), creates
 * none and returns why.
 */
function createMissingStacks(operation: "preview" | "up", settings: StackSettings[], projectDir: string): string[] {
    const backends = new Map<string, Set<string>>();
    const missing: StackSettings[] = [];
    for (const s of settings) {
        let existing = backends.get(s.backendUrl);
        if (!existing) {
            const ls = pulumi(["stack", "ls", "--json"], projectDir, stackEnv(s));
            if (ls.status !== 0) {
                throw new Error(`pulumi stack ls on ${s.backendUrl} failed:\n${ls.stderr}`);
            }
            existing = new Set((JSON.parse(ls.stdout) as { name: string }[]).map((x) => x.name));
            backends.set(s.backendUrl, existing);
        }
        if (!existing.has(s.stack)) {
            missing.push(s);
        }
    }
    const refused = missing.filter((s) => !mayCreateStack(operation, s.stack, projectDir));
    if (refused.length > 0) {
        return refused.map((s) => missingStackMessage(s.stack, s.backendUrl));
    }
    for (const s of missing) {
        log(`creating stack ${s.stack} (state in ${s.backendUrl}, secrets provider ${s.secretsProvider})`);
        const init = pulumi(["stack", "init", "--no-select", "--secrets-provider", s.secretsProvider, s.stack], projectDir, stackEnv(s));
        if (init.status !== 0) {
            throw new Error(`pulumi stack init ${s.stack} failed:\n${init.stdout}${init.stderr}`);
        }
    }
    return [];
}

/**
 * A stack's environment for its run: as `./platform up` does, a render keeps
 * no per-step checkpoints (scripts/delivery-mode.ts says why).
 */
async function runEnv(operation: "preview" | "up", settings: StackSettings, projectDir: string): Promise<NodeJS.ProcessEnv> {
    const env = stackEnv(settings);
    if (operation === "up" && (await deliveryModeOf(settings.stack, projectDir)) === "render") {
        env.PULUMI_SKIP_CHECKPOINTS = "true";
    }
    return env;
}

/** Runs the operation on every stack, at most `workers` at once; returns the exit code (1 when any failed, 2 on settings). */
export async function runStacksOperation(operation: "preview" | "up", args: StacksArgs): Promise<number> {
    const stacks = [...new Set(args.stacks)];
    const problems: string[] = [];
    const settings = stacks.flatMap((stack) => {
        try {
            return [stackSettings(stack, args.projectDir)];
        } catch (e) {
            if (e instanceof StackSettingsError) {
                problems.push(e.message);
                return [];
            }
            throw e;
        }
    });
    if (problems.length > 0) {
        problems.forEach(log);
        return 2;
    }
    const missing = createMissingStacks(operation, settings, args.projectDir);
    if (missing.length > 0) {
        missing.forEach(log);
        return 2;
    }

    const workers = Math.min(args.workers, stacks.length);
    log(`${operation} of ${stacks.join(", ")} with ${workers} worker(s)`);
    const controller = new AbortController();
    const cancel = () => controller.abort();
    process.once("SIGINT", cancel).once("SIGTERM", cancel);
    const envs = await Promise.all(settings.map((s) => runEnv(operation, s, args.projectDir)));
    const tasks = settings.map((s, i) => pulumiTask(operation, s.stack, { projectDir: args.projectDir, env: envs[i], extraArgs: [...args.pulumiArgs] }));
    const summary = await runStacks(tasks, {
        workers,
        signal: controller.signal,
        onDone: (result) => process.stdout.write(formatStackOutput(operation, result)),
    });
    process.stdout.write(`\n${formatSummary(operation, summary, workers)}\n`);
    return summary.results.every((r) => r.status === 0) ? 0 : 1;
}

/**
 * Prints the stacks (one a line, promotion order) the changes between the
 * merge base of `base` and HEAD can affect, among the stacks with a stack
 * file and `include` (a merge request's review-<id>, which has none).
 */
export async function printAffected(base: string, include: readonly string[], projectDir: string): Promise<number> {
    // --no-renames: a renamed file's old path is listed too, and a path gone from disk affects every stack.
    const diff = spawnSync("git", ["diff", "--name-only", "--no-renames", `${base}...HEAD`], { cwd: projectDir, encoding: "utf8" });
    if (diff.status !== 0) {
        throw new Error(`git diff ${base}...HEAD failed: ${diff.stderr}`);
    }
    const changed = diff.stdout.split("\n").filter((l) => l !== "");
    // Loaded here: it brings the TypeScript compiler, which preview and up do not need.
    const { affectedStacks, knownStacks } = await import("./affected-stacks");
    const stacks = [...new Set([...knownStacks(projectDir), ...include])];
    for (const stack of affectedStacks(changed, stacks, projectDir)) {
        process.stdout.write(`${stack}\n`);
    }
    return 0;
}
