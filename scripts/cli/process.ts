/** What every `./platform` command shares: its error type, its log line, and running a child with the terminal attached. */
import { spawn, spawnSync } from "node:child_process";
import { constants } from "node:os";

import { Command } from "commander";

/**
 * An error the command line reports as one line and an exit code: 2 for bad
 * usage or settings (nothing was run), 1 for a failed step, 3 for a refusal.
 */
export class CliError extends Error {
    constructor(
        message: string,
        readonly exitCode: number,
    ) {
        super(message);
    }
}

export function log(message: string): void {
    process.stderr.write(`[platform] ${message}\n`);
}

/**
 * Runs a command with stdin, stdout and stderr attached; resolves with its
 * exit code (128 + n when a signal ended it). SIGINT, SIGTERM and SIGHUP sent
 * to this process are passed on, so pulumi can cancel and release its lock;
 * this process waits for the child either way.
 */
export function runInherited(command: string, args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<number> {
    return new Promise((resolve) => {
        const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: "inherit" });
        const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
        const forward = (signal: NodeJS.Signals) => child.kill(signal);
        signals.forEach((s) => process.on(s, forward));
        const done = (code: number) => {
            signals.forEach((s) => process.off(s, forward));
            resolve(code);
        };
        child.on("error", (e) => {
            log(`${command}: ${e.message}`);
            done(127);
        });
        child.on("close", (code, signal) => done(code ?? 128 + (signal ? constants.signals[signal] : 0)));
    });
}

/**
 * Runs a script that prints `export NAME="value"` lines (toolchain/ensure-*.sh)
 * and returns the environment with them applied; its progress goes to stderr.
 */
export function sourceExports(script: string, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
    const run = spawnSync(script, [], { env, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    if (run.status !== 0) {
        throw new CliError(`${script} failed (exit ${run.status ?? "signal"})`, 1);
    }
    const out = { ...env };
    for (const line of run.stdout.split("\n")) {
        const match = /^export ([A-Za-z_][A-Za-z0-9_]*)="(.*)"$/.exec(line);
        if (match) {
            // The scripts write `\$PATH` for the value the variable had.
            out[match[1]] = match[2].replace(/\\\$([A-Za-z_][A-Za-z0-9_]*)/g, (_, name: string) => env[name] ?? "");
        }
    }
    return out;
}

/** Where a script's command line writes: its help, and its errors. */
export interface ScriptOutput {
    out: (text: string) => void;
    err: (text: string) => void;
}

/**
 * The commander settings every script's command line shares: it throws
 * instead of exiting (the script returns the exit code), writes through the
 * script's own output, prefixes its errors with `[prefix]` (after `mask`,
 * which hides secrets), and repeats the usage line after an error.
 */
export function scriptCommand(name: string, prefix: string, usage: string, io: ScriptOutput, mask: (text: string) => string = (text) => text): Command {
    return new Command(name)
        .showHelpAfterError(usage)
        .exitOverride()
        .configureOutput({
            writeOut: (text) => io.out(text),
            writeErr: (text) => io.err(text),
            outputError: (text, write) => write(`[${prefix}] ${mask(text)}`),
        });
}
