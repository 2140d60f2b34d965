/**
 * The scheduled drift job: which resources of a stack were changed outside
 * this code, and which of their properties.
 *
 *   tsx scripts/drift-report.ts <stack> [--mode refresh|preview] [--project-dir DIR] [-- <pulumi flags>]
 *   tsx scripts/drift-report.ts --input <file> [--exit-code N]
 *
 * The first form runs pulumi with the stack's state backend and secrets
 * provider (scripts/stack-settings.ts, as ./platform and ./platform stacks
 * do) and reads its JSON; the second reads JSON saved by an earlier run
 * (`--exit-code`: that run's exit code).
 *
 *   --mode refresh (default)  `pulumi refresh --preview-only --json`: reads every
 *                             resource from the cloud/cluster and compares it with
 *                             the state, changing nothing (no state write, no lock).
 *                             Exactly "what changed outside code".
 *   --mode preview            `pulumi preview --refresh --json`: the same refresh, then
 *                             the program's preview against it, so changes merged but
 *                             not yet deployed show up too.
 *
 * Both print the preview digest (pkg/backend/display/json.go, ShowPreviewDigest).
 * In it a refreshed resource is a step with op `refresh`, rewritten to `update`
 * (with `detailedDiff`: the changed property paths) when the provider read
 * something else than the state holds, or to `delete` when the object is gone.
 * A preview adds the program's steps: `update`/`replace` to put a property
 * back, `create` for what is missing. `--expect-no-changes` is not used: it
 * makes pulumi exit non-zero on drift, which an error also does; the report
 * tells them apart from the JSON.
 *
 * Exit codes: 0 no drift; 1 drift (each drifted resource listed with its URN,
 * name, type and changed properties); 2 pulumi failed, the JSON could not be
 * read, or bad usage.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

import { CommanderError, InvalidArgumentError, Option } from "commander";

import { CliError, scriptCommand } from "./cli/process";
import { DigestStep, parseUrn, PreviewDigest, ResourceRef, StepOp } from "./preview-note";
import { stackEnv, stackSettings } from "./stack-settings";

const REPO_ROOT = path.resolve(__dirname, "..");

export type DriftChange =
    /** A property differs: the refresh read another value, or the program would set it back. */
    | "changed"
    /** The object is gone outside code (refresh form). */
    | "deleted"
    /** The code has it and the state (after the refresh) does not: it would be created (preview form). */
    | "missing"
    /** A difference that the program would fix only by replacing the resource (preview form). */
    | "replaced";

export interface DriftedResource extends ResourceRef {
    change: DriftChange;
    /** The step operations pulumi reported for the resource. */
    ops: StepOp[];
    /** Changed property paths (detailedDiff's keys, else diffReasons, else replaceReasons), sorted. */
    paths: string[];
}

export interface DriftReport {
    drifted: DriftedResource[];
    /** Error diagnostics, without the "error: " prefix. */
    errors: string[];
}

const CHANGES: Partial<Record<StepOp, DriftChange>> = {
    update: "changed",
    delete: "deleted",
    create: "missing",
    replace: "replaced",
    "create-replacement": "replaced",
    "delete-replaced": "replaced",
};

function stepPaths(s: DigestStep): string[] {
    const detailed = Object.keys(s.detailedDiff ?? {});
    return detailed.length > 0 ? detailed : (s.diffReasons?.length ?? 0) > 0 ? (s.diffReasons ?? []) : (s.replaceReasons ?? []);
}

/** The drift in a preview digest (of `refresh --preview-only --json` or `preview --refresh --json`). */
export function parseDrift(stdout: string): DriftReport {
    const digest = JSON.parse(stdout) as PreviewDigest & { sequence?: number };
    if (typeof digest !== "object" || digest === null || Array.isArray(digest) || digest.sequence !== undefined) {
        throw new Error("not a preview digest: run pulumi without PULUMI_ENABLE_STREAMING_JSON_PREVIEW");
    }
    const byUrn = new Map<string, DriftedResource>();
    for (const step of digest.steps ?? []) {
        const change = CHANGES[step.op];
        const ref = parseUrn(step.urn);
        // The root stack has no live state: a change there is the program's outputs, not drift.
        if (!change || ref.type === "pulumi:pulumi:Stack") {
            continue;
        }
        const type = step.newState?.type ?? step.oldState?.type ?? ref.type;
        // `preview --refresh` names a drifted resource twice: its refresh, then the program's step.
        const seen = byUrn.get(step.urn);
        if (seen) {
            seen.ops.push(step.op);
            seen.paths = [...new Set([...seen.paths, ...stepPaths(step)])].sort();
            if (change === "replaced") {
                seen.change = change;
            }
        } else {
            byUrn.set(step.urn, { ...ref, type, change, ops: [step.op], paths: [...new Set(stepPaths(step))].sort() });
        }
    }
    const errors = [
        ...new Set(
            (digest.diagnostics ?? [])
                .filter((d) => d.severity === "error")
                .map((d) => (d.message ?? "").replace(/\s+$/, "").replace(/^error: /, "")),
        ),
    ];
    return { drifted: [...byUrn.values()], errors: errors.length > 1 ? errors.filter((e) => e !== "preview failed") : errors };
}

/** 0 clean, 1 drift, 2 error: errors first (the drift found may be partial), and pulumi's own failure. */
export function driftExitCode(report: DriftReport, pulumiExitCode?: number): 0 | 1 | 2 {
    if (report.errors.length > 0) {
        return 2;
    }
    if (report.drifted.length > 0) {
        return 1;
    }
    return pulumiExitCode !== undefined && pulumiExitCode !== 0 ? 2 : 0;
}

const VERBS: Record<DriftChange, string> = {
    changed: "changed",
    deleted: "deleted outside code",
    missing: "missing (the program would create it)",
    replaced: "changed (the program would replace it)",
};

/** The report as the job log shows it. */
export function formatDriftReport(stack: string, report: DriftReport, pulumiExitCode?: number): string {
    const code = driftExitCode(report, pulumiExitCode);
    const lines: string[] = [];
    if (report.drifted.length > 0) {
        lines.push(`drift in stack ${stack}: ${report.drifted.length} resource(s) changed outside code`);
        for (const r of report.drifted) {
            lines.push(`  ${r.name} (${r.type}): ${VERBS[r.change]}${r.paths.length > 0 ? `: ${r.paths.join(", ")}` : ""}`, `    ${r.urn}`);
        }
    } else if (code === 0) {
        lines.push(`no drift in stack ${stack}`);
    }
    if (code === 2) {
        lines.push(`the drift check of stack ${stack} failed${report.drifted.length > 0 ? " (the list above may be incomplete)" : ""}:`);
        lines.push(...(report.errors.length > 0 ? report.errors : [`pulumi exited with code ${pulumiExitCode}`]).flatMap((e) => e.split("\n")).map((l) => `  ${l}`));
    }
    return `${lines.join("\n")}\n`;
}

interface Args {
    stack?: string;
    mode: "refresh" | "preview";
    projectDir: string;
    input?: string;
    exitCode?: number;
    pulumiArgs: string[];
}

const USAGE = "usage: drift-report.ts <stack> [--mode refresh|preview] [--project-dir DIR] [-- <pulumi flags>], or drift-report.ts --input <file> [--exit-code N]";

function wholeNumber(value: string): number {
    const n = Number(value);
    if (!Number.isInteger(n)) {
        throw new InvalidArgumentError(`must be an integer (got "${value}")`);
    }
    return n;
}

/**
 * The arguments, or a CommanderError (already printed to `io`; exit code 0
 * for --help) or a CliError.
 */
function parseArgs(argv: string[], io: Output): Args {
    // What follows the first `--` is pulumi's: commander would read it as operands.
    const dashDash = argv.indexOf("--");
    const own = dashDash >= 0 ? argv.slice(0, dashDash) : argv;
    const command = scriptCommand("drift-report.ts", "drift", USAGE, io)
        .description("Which resources of a stack were changed outside this code, and which of their properties.")
        .usage("<stack> [--mode refresh|preview] [--project-dir DIR] [-- <pulumi flags>]\n       drift-report.ts --input <file> [--exit-code N]")
        .argument("[stack]", "the stack to check (pulumi is run with its state backend and secrets provider)")
        .addOption(
            new Option("--mode <mode>", "refresh: `pulumi refresh --preview-only`; preview: `pulumi preview --refresh`, undeployed changes included")
                .choices(["refresh", "preview"])
                .default("refresh"),
        )
        .option("--project-dir <dir>", "the Pulumi project", REPO_ROOT)
        .option("--input <file>", "read JSON saved by an earlier run instead of running pulumi")
        .option("--exit-code <n>", "with --input: that run's exit code", wholeNumber)
        .addHelpText("after", "\nExit codes: 0 no drift; 1 drift; 2 pulumi failed, the JSON could not be read, or bad usage.")
        .parse(own, { from: "user" });
    const [stack] = command.processedArgs as [string | undefined];
    const options = command.opts<{ mode: Args["mode"]; projectDir: string; input?: string; exitCode?: number }>();
    if (!stack && !options.input) {
        throw new CliError(USAGE, 2);
    }
    return {
        stack,
        mode: options.mode,
        projectDir: path.resolve(options.projectDir),
        input: options.input,
        exitCode: options.exitCode,
        pulumiArgs: dashDash >= 0 ? argv.slice(dashDash + 1) : [],
    };
}

/** The pulumi command line of a mode. */
export function driftCommand(mode: Args["mode"], stack: string, extra: string[] = []): string[] {
    const operation = mode === "refresh" ? ["refresh", "--preview-only"] : ["preview", "--refresh"];
    return [...operation, "--json", "--stack", stack, "--non-interactive", ...extra];
}

export interface Output {
    out(text: string): void;
    err(text: string): void;
}

/** The whole command; returns the exit code. */
export function run(argv: string[], env: NodeJS.ProcessEnv, io: Output): number {
    try {
        const args = parseArgs(argv, io);
        let stdout: string;
        let exitCode = args.exitCode;
        const stack = args.stack ?? "(from file)";
        if (args.input) {
            stdout = fs.readFileSync(args.input, "utf8");
        } else {
            const settings = stackSettings(stack, args.projectDir, env);
            const command = driftCommand(args.mode, stack, args.pulumiArgs);
            io.err(`[drift] pulumi ${command.join(" ")} (state in ${settings.backendUrl})\n`);
            const result = spawnSync("pulumi", command, {
                cwd: args.projectDir,
                env: stackEnv(settings, env),
                encoding: "utf8",
                maxBuffer: 1024 * 1024 * 1024,
            });
            if (result.error) {
                throw new Error(`could not run pulumi: ${result.error.message}`);
            }
            // pulumi's own messages stay in the job log.
            io.err(result.stderr);
            stdout = result.stdout;
            exitCode = result.status ?? -1;
        }
        if (stdout.trim() === "") {
            io.err(`[drift] pulumi printed no JSON${exitCode !== undefined ? ` (exit code ${exitCode})` : ""}\n`);
            return 2;
        }
        const report = parseDrift(stdout);
        io.out(formatDriftReport(stack, report, exitCode));
        return driftExitCode(report, exitCode);
    } catch (e) {
        if (e instanceof CommanderError) {
            // Printed already; --help exits 0.
            return e.exitCode === 0 ? 0 : 2;
        }
        io.err(`[drift] ${(e as Error).message}\n`);
        return e instanceof CliError ? e.exitCode : 2;
    }
}

if (require.main === module) {
    process.exit(run(process.argv.slice(2), process.env, { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) }));
}
