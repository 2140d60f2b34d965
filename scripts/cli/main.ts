/**
 * The command line behind `./platform`. The bash front door only makes the
 * toolchain and the dependencies available (toolchain/ensure.sh, pnpm
 * install), then runs this file; every command and rule lives here, in
 * TypeScript, on commander. `./platform help` lists the commands.
 *
 * Exit codes: 0 done, 1 a step failed, 2 bad usage or settings (nothing was
 * run), 3 refused (destroy guard); a pulumi command's own code otherwise.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { Command, CommanderError, InvalidArgumentError } from "commander";

import { StackFileError } from "../../environments/stack-file";
import { StackTemplateError } from "../../environments/template-registry";
import { backendEnv, fileBackendUrl, StackSettingsError } from "../stack-settings";
import { CliError, log, runInherited, sourceExports } from "./process";
import { pulumiRefusal, stackArgument } from "./pulumi-guard";

// Each command loads what it runs when it runs (`await import`): the stack
// scripts bring the Pulumi automation types, ci-jobs and affected stacks the
// TypeScript compiler, and a refusal or `help` should not wait for them.
type StackOperation = "preview" | "up" | "refresh";
const stackEnvironment = async (...args: Parameters<typeof import("./run-stack").stackEnvironment>) => (await import("./run-stack")).stackEnvironment(...args);

const REPO_ROOT = path.resolve(__dirname, "..", "..");

/** The environment every command starts from: the local stack's backend unless one is set (state in .pulumi-state/, git-ignored). */
function baseEnv(): NodeJS.ProcessEnv {
    fs.mkdirSync(path.join(REPO_ROOT, ".pulumi-state"), { recursive: true });
    const env = { ...process.env };
    return backendEnv(env.PULUMI_BACKEND_URL || env.PLATFORM_LOCAL_BACKEND_URL || fileBackendUrl(path.join(REPO_ROOT, ".pulumi-state")), env);
}

/** The local stack's passphrase file, unless a passphrase is set (only local's throwaway secrets use it). */
function withLocalPassphrase(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
    if (!env.PULUMI_CONFIG_PASSPHRASE && !env.PULUMI_CONFIG_PASSPHRASE_FILE) {
        return { ...env, PULUMI_CONFIG_PASSPHRASE_FILE: path.join(REPO_ROOT, "stacks", "local.passphrase") };
    }
    return env;
}

/** `[stack] [flags]`: the stack when the first word is no flag, else `local`. */
function stackAndFlags(words: readonly string[], fallback: string | undefined, usage: string): { stack: string; flags: string[] } {
    if (words.length > 0 && !words[0].startsWith("-")) {
        return { stack: words[0], flags: words.slice(1) };
    }
    if (fallback === undefined) {
        throw new CliError(usage, 2);
    }
    return { stack: fallback, flags: [...words] };
}

function wholeNumber(value: string): number {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) {
        throw new InvalidArgumentError(`must be a whole number of at least 1 (got "${value}")`);
    }
    return n;
}

function stackName(value: string, previous: string[]): string[] {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(value)) {
        throw new InvalidArgumentError(`needs a stack name (got "${value}")`);
    }
    return [...previous, value];
}

/** The command an action runs for: commander passes it last, after the arguments and the options. */
function commandOf(params: readonly unknown[]): Command {
    return params[params.length - 1] as Command;
}

/** Commands whose words after the stack go to pulumi (or vitest) untouched, `--help` included. */
function passThrough(command: Command): Command {
    return command.helpOption(false).allowUnknownOption().allowExcessArguments().passThroughOptions();
}

/** The program. `afterDashDash` holds what followed `--` for the commands that pass it to pulumi (stacks, destroy). */
export function program(afterDashDash: readonly string[], exit: (code: number) => void): Command {
    const cli = new Command("./platform")
        .description("The platform's front door: deploy, preview and destroy stacks, run the tests, fill a chart mirror.")
        .enablePositionalOptions()
        .helpCommand("help [command]", "show the commands, or one command's usage")
        .showHelpAfterError("(./platform help lists the commands)")
        .exitOverride()
        .configureOutput({ outputError: (text, write) => write(`[platform] ${text}`) })
        .addHelpText(
            "after",
            `
State: local in .pulumi-state/, every other stack in the team backend
(PLATFORM_STATE_BACKEND_URL; README "State and secrets").
Offline / air-gapped: PLATFORM_CHART_MIRROR=<dir or oci://registry> points every
Helm chart at a mirror (README "Charts and mirrors").`,
        );

    const single = (operation: StackOperation, summary: string, fallback: string | undefined) =>
        passThrough(cli.command(operation))
            .summary(summary)
            .argument(fallback === undefined ? "<stack>" : "[stack]", fallback === undefined ? "the stack" : `the stack (default: ${fallback})`)
            .argument("[flags...]", `pulumi ${operation} flags`)
            .action(async (...params: unknown[]) => {
                const command = commandOf(params);
                const usage = `usage: ./platform ${operation} <stack> [pulumi ${operation} flags]`;
                const { stack, flags } = stackAndFlags(command.args, fallback, usage);
                exit(await (await import("./run-stack")).runStack(operation, stack, { projectDir: REPO_ROOT, flags, env: baseEnv() }));
            });
    single("up", "deploy a stack, with the policy pack; publishes its change event", "local");
    single("preview", "preview a stack, with the policy pack", "local");
    // Recovery after a killed up (README "Reliability and recovery"); never creates a stack.
    single("refresh", "read a stack's resources back (never creates the stack)", undefined);

    const stacks = cli.command("stacks").summary("several stacks at once, one summary at the end; the stacks a change affects");
    for (const operation of ["preview", "up"] as const) {
        stacks
            .command(operation)
            .description(`${operation} of several stacks at once; pulumi flags go after --`)
            .argument("<stacks...>")
            .option("--workers <n>", "most runs at once (default: the CPU count)", wholeNumber, os.availableParallelism())
            .option("--project-dir <dir>", "the Pulumi project", REPO_ROOT)
            .action(async (names: string[], options: { workers: number; projectDir: string }) => {
                exit(await (await import("../stacks")).runStacksOperation(operation, { stacks: names, workers: options.workers, projectDir: path.resolve(options.projectDir), pulumiArgs: afterDashDash }));
            });
    }
    stacks
        .command("affected")
        .description("the stacks the changes since the merge base with <base-ref> affect, one a line")
        .argument("<base-ref>", "in a merge request pipeline, $CI_MERGE_REQUEST_DIFF_BASE_SHA")
        .option("--include <stack>", "a stack without a stack file to consider too (repeatable)", stackName, [])
        .option("--project-dir <dir>", "the Pulumi project", REPO_ROOT)
        .action(async (base: string, options: { include: string[]; projectDir: string }) => {
            exit(await (await import("../stacks")).printAffected(base, options.include, path.resolve(options.projectDir)));
        });

    cli.command("destroy")
        .summary("destroy a stack; refused while anything in it is protected")
        .description("destroy a stack; refused while anything in it is protected (pulumi flags go after --)")
        .argument("<stack>")
        .option("--unprotect", "lift every protection first (prod also needs PLATFORM_CONFIRM_DESTROY=<stack>)", false)
        .option("--project-dir <dir>", "the Pulumi project", REPO_ROOT)
        .action(async (stack: string, options: { unprotect: boolean; projectDir: string }) => {
            exit((await import("../destroy")).destroyStack({ stack, unprotect: options.unprotect, projectDir: path.resolve(options.projectDir), pulumiArgs: afterDashDash }));
        });

    passThrough(cli.command("pulumi"))
        .summary("other pulumi commands, with the project's environment (up, destroy, refresh, import, state edits refused)")
        .argument("[args...]")
        .action(async (...params: unknown[]) => {
                const command = commandOf(params);
            const refusal = pulumiRefusal(command.args);
            if (refusal !== undefined) {
                throw new CliError(`refused: ${refusal}`, 2);
            }
            // A named stack gets its own backend; otherwise the local one.
            const stack = stackArgument(command.args);
            const env = stack ? (await stackEnvironment(stack, REPO_ROOT, baseEnv())).env : baseEnv();
            exit(await runInherited("pulumi", command.args, { cwd: REPO_ROOT, env: withLocalPassphrase(env) }));
        });

    passThrough(cli.command("test"))
        .summary("run the test suite (typecheck, lint, unit and engine tests); arguments go to vitest")
        .argument("[vitest-args...]")
        .action(async (...params: unknown[]) => {
                const command = commandOf(params);
            // Debian packages the engine tests use (rabbitmq-server, rsync), then the control plane they deploy to (built once, then cached).
            const packages = await runInherited(path.join(REPO_ROOT, "toolchain", "ensure-test-packages.sh"), [], { cwd: REPO_ROOT, env: process.env });
            if (packages !== 0) {
                throw new CliError("toolchain/ensure-test-packages.sh failed", 1);
            }
            const env = sourceExports(path.join(REPO_ROOT, "toolchain", "ensure-test-cluster.sh"), baseEnv());
            exit(await runInherited(path.join(REPO_ROOT, "scripts", "test-all.sh"), command.args, { cwd: REPO_ROOT, env }));
        });

    cli.command("test-cluster")
        .summary("a throwaway local Kubernetes API server (Ctrl-C stops it)")
        .action(async () => {
            const env = sourceExports(path.join(REPO_ROOT, "toolchain", "ensure-test-cluster.sh"), baseEnv());
            exit(await runInherited(process.execPath, ["--import", "tsx", path.join(REPO_ROOT, "test", "helpers", "test-cluster.ts")], { cwd: REPO_ROOT, env }));
        });

    cli.command("env")
        .summary("print the environment of a stack's pulumi commands (eval \"$(./platform env)\")")
        .argument("[stack]", "the stack", "local")
        .action(async (stack: string) => {
            const env = withLocalPassphrase((await stackEnvironment(stack, REPO_ROOT, baseEnv())).env);
            const names = ["PATH", "PULUMI_HOME", "PULUMI_BACKEND_URL", "PULUMI_DIY_BACKEND_ZSTD", "PULUMI_SKIP_UPDATE_CHECK", "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION", "PULUMI_PARALLEL", "PULUMI_CONFIG_PASSPHRASE_FILE"];
            process.stdout.write(names.map((name) => `export ${name}="${env[name] ?? ""}"\n`).join(""));
        });

    cli.command("backend")
        .summary("where a stack's state lives")
        .argument("<stack>")
        .action(async (stack: string) => {
            process.stdout.write(`${(await stackEnvironment(stack, REPO_ROOT, baseEnv())).settings.backendUrl}\n`);
        });

    passThrough(cli.command("catalog"))
        .summary("the environment catalog: list, show, search, graph, reap (same as pnpm run env ...)")
        .argument("[args...]")
        .action(async (...params: unknown[]) => {
                const command = commandOf(params);
            const catalog = path.join(REPO_ROOT, "environments", "catalog", "cli.ts");
            exit(await runInherited(process.execPath, ["--import", "tsx", catalog, ...command.args], { cwd: REPO_ROOT, env: withLocalPassphrase(baseEnv()) }));
        });

    passThrough(cli.command("mirror"))
        .summary("fill a chart mirror directory with every pinned chart, verified")
        .argument("<dir>")
        .action(async (...params: unknown[]) => {
                const command = commandOf(params);
            exit(await (await import("../mirror")).run(command.args, process.env, { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) }));
        });

    cli.command("bootstrap")
        .summary("deploy the meta environment (local template + the manager), then send the bootstrap file's create commands")
        .option("--stack <name>", "the meta stack: platform:template local or review, with platform:manager", (v: string) => stackName(v, [])[0], "meta")
        .option("--file <bootstrap.yaml>", "the environments to create (a list under environments:)", "bootstrap/environments.yaml")
        .option("--amqp-url-file <file>", "a file holding the manager's broker URL with credentials (or PLATFORM_MANAGER_AMQP_URL_FILE)")
        .option("--skip-up", "send the commands only (a re-send: the same commandIds, created once)", false)
        .option("--dry-run", "validate the file and the stack, print what would be sent; deploy and send nothing", false)
        .action(async (options: { stack: string; file: string; amqpUrlFile?: string; skipUp: boolean; dryRun: boolean }) => {
            const env = baseEnv();
            const runStack = async (stack: string) => (await import("./run-stack")).runStack("up", stack, { projectDir: REPO_ROOT, flags: [], env });
            exit(
                await (await import("../bootstrap")).bootstrap({
                    stack: options.stack,
                    // ./platform runs in the repository root: a relative file is the repository's.
                    file: path.resolve(options.file),
                    amqpUrlFile: options.amqpUrlFile === undefined ? undefined : path.resolve(options.amqpUrlFile),
                    skipUp: options.skipUp,
                    dryRun: options.dryRun,
                    projectDir: REPO_ROOT,
                    env,
                    up: runStack,
                }),
            );
        });

    passThrough(cli.command("ci-jobs"))
        .summary("check (--check) or rewrite (--write) the per-stack jobs of .gitlab-ci.yml")
        .argument("[args...]")
        .action(async (...params: unknown[]) => {
            const command = commandOf(params);
            exit((await import("../ci-jobs")).main(command.args));
        });

    return cli;
}

/** Splits off what follows `--` for the commands that hand it to pulumi themselves. */
export function splitDashDash(argv: readonly string[]): { own: string[]; afterDashDash: string[] } {
    const dashDash = argv.indexOf("--");
    if (dashDash < 0 || !["stacks", "destroy"].includes(argv[0] ?? "")) {
        return { own: [...argv], afterDashDash: [] };
    }
    return { own: argv.slice(0, dashDash), afterDashDash: argv.slice(dashDash + 1) };
}

export async function main(argv: readonly string[]): Promise<number> {
    const { own, afterDashDash } = splitDashDash(argv);
    let code = 0;
    const cli = program(afterDashDash, (c) => (code = c));
    if (own.length === 0) {
        process.stdout.write(cli.helpInformation());
        return 0;
    }
    try {
        await cli.parseAsync(own, { from: "user" });
        return code;
    } catch (e) {
        if (e instanceof CommanderError) {
            // Help and version exit 0; every other parse error is bad usage, already printed.
            return e.exitCode === 0 ? 0 : 2;
        }
        if (e instanceof CliError) {
            log(e.message);
            return e.exitCode;
        }
        if (e instanceof StackSettingsError || e instanceof StackTemplateError || e instanceof StackFileError) {
            log(e.message);
            return 2;
        }
        log(e instanceof Error ? e.message : String(e));
        return 1;
    }
}

if (require.main === module) {
    void main(process.argv.slice(2)).then((code) => process.exit(code));
}
