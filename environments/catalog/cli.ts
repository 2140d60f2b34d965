/**
 * The environment catalog: `pnpm run env <command>` (or `./platform catalog
 * <command>`). Reads the stacks of the state backend (PULUMI_BACKEND_URL)
 * through the Automation API.
 *
 *   list                      every environment: status, owner, age, planned destruction
 *   show <env> [--json]       its record
 *   search <text>             environments whose name, description, tags or resources match
 *   graph <env> [--format mermaid|dot] [--output <file.svg|file.png|file.dot|file.mmd>]
 *   reap [--yes] [--now YYYY-MM-DD]
 *                             destroy review environments past their planned date (dry run without --yes)
 *
 * Exit codes: 0 done, 1 failed, 2 bad usage, 3 environment not found.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";

import { environmentEvent, publishEnvironmentEvent } from "../events";
import { destroyEnvironment, openWorkspace, readAllEnvironments, readDeployedState, readEnvironment } from "./backend";
import { toDot, toMermaid } from "./graph";
import { ageInDays, EnvironmentEntry, effectiveStatus, matchesOf, reapDecision, RecordView, recheckReap } from "./model";

export const EXIT = { ok: 0, failed: 1, usage: 2, notFound: 3 } as const;

class UsageError extends Error {}
class NotFoundError extends Error {}

const USAGE = "usage: env <list | show <env> [--json] | search <text> | graph <env> [--format mermaid|dot] [--output file] | reap [--yes] [--now YYYY-MM-DD]>";

interface Io {
    out: (text: string) => void;
    progress: (text: string) => void;
}

function option(args: string[], name: string): string | undefined {
    const i = args.indexOf(name);
    if (i < 0) {
        return undefined;
    }
    const value = args[i + 1];
    if (value === undefined || value.startsWith("--")) {
        throw new UsageError(`${name} needs a value`);
    }
    args.splice(i, 2);
    return value;
}

function flag(args: string[], name: string): boolean {
    const i = args.indexOf(name);
    if (i >= 0) {
        args.splice(i, 1);
    }
    return i >= 0;
}

function firstLine(err: unknown): string {
    return err instanceof Error ? err.message.split("\n")[0] : String(err);
}

/** A fixed-width table. */
export function table(header: string[], rows: string[][]): string {
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
    return [line(header), ...rows.map(line)].join("\n");
}

function listRows(entries: EnvironmentEntry[], now: Date): string[][] {
    return entries.map((e) => {
        const age = ageInDays(e.record, now);
        return [
            e.stack,
            e.error ? "unreadable" : effectiveStatus(e),
            e.record?.templates[0]?.name ?? "-",
            e.record?.tags.owner ?? "-",
            age === undefined ? "-" : `${age}d`,
            e.record?.plannedDestructionAt ?? "-",
            String(e.resourceCount),
        ];
    });
}

async function findEnvironment(name: string, io: Io): Promise<EnvironmentEntry> {
    const ws = await openWorkspace();
    io.progress(`reading ${name}…`);
    const stacks = await ws.listStacks();
    const summary = stacks.find((s) => s.name === name);
    if (!summary) {
        throw new NotFoundError(`no environment "${name}" in the backend (known: ${stacks.map((s) => s.name).join(", ") || "none"})`);
    }
    const entry = await readEnvironment(ws, name, summary);
    if (!entry.record) {
        throw new NotFoundError(`environment "${name}" has no record${entry.error ? `: ${entry.error}` : " (never deployed, or destroyed)"}`);
    }
    return entry;
}

export async function run(argv: string[], io: Io, now = new Date()): Promise<number> {
    const args = [...argv];
    const command = args.shift();
    switch (command) {
        case "list": {
            const entries = await readAllEnvironments(await openWorkspace(), io.progress);
            io.out(table(["NAME", "STATUS", "TEMPLATE", "OWNER", "AGE", "PLANNED DESTRUCTION", "RESOURCES"], listRows(entries, now)));
            return EXIT.ok;
        }
        case "show": {
            const json = flag(args, "--json");
            const name = args.shift();
            if (!name) {
                throw new UsageError("show needs an environment name");
            }
            const e = await findEnvironment(name, io);
            const r = e.record!;
            if (json) {
                io.out(JSON.stringify({ ...r, status: effectiveStatus(e) }, null, 2));
                return EXIT.ok;
            }
            const summary = [
                ["name", r.name],
                ["description", r.description],
                ["status", effectiveStatus(e)],
                ["templates", r.templates.map((t) => `${t.name}@${t.version} (${t.commit.slice(0, 12)})`).join(", ")],
                ["created", r.createdAt],
                ["planned destruction", r.plannedDestructionAt ?? "-"],
                ["tags", Object.entries(r.tags).map(([k, v]) => `${k}=${v}`).join(" ")],
                ["entrypoints", r.entrypoints.join(" ") || "-"],
            ];
            io.out(summary.map(([k, v]) => `${k.padEnd(20)}${v}`).join("\n"));
            io.out("");
            io.out(
                table(
                    ["RESOURCE", "TEMPLATE", "COUNT", "STATUS", "DEPENDS ON"],
                    r.resources.map((x) => [x.id, x.template, String(x.count), x.status, x.dependsOn.join(", ") || "-"]),
                ),
            );
            return EXIT.ok;
        }
        case "search": {
            const text = args.join(" ").trim();
            if (!text) {
                throw new UsageError("search needs a text");
            }
            const entries = await readAllEnvironments(await openWorkspace(), io.progress);
            const rows = entries.flatMap((e) => matchesOf(e, text).map((m) => [e.stack, m]));
            io.out(rows.length ? table(["ENVIRONMENT", "MATCH"], rows) : `nothing matches "${text}"`);
            return rows.length ? EXIT.ok : EXIT.notFound;
        }
        case "graph": {
            const format = option(args, "--format") ?? "mermaid";
            const output = option(args, "--output");
            const name = args.shift();
            if (!name || !["mermaid", "dot"].includes(format)) {
                throw new UsageError("graph needs an environment name, and --format mermaid or dot");
            }
            const record = (await findEnvironment(name, io)).record!;
            const dot = toDot(record);
            const text = format === "dot" ? dot : toMermaid(record);
            if (!output) {
                io.out(text.trimEnd());
                return EXIT.ok;
            }
            const image = /\.(svg|png)$/.exec(output)?.[1];
            if (image) {
                // Graphviz renders images when it is installed; the source is written either way.
                const r = spawnSync("dot", [`-T${image}`, "-o", output], { input: dot, encoding: "utf8" });
                if (r.error || r.status !== 0) {
                    const source = output.replace(/\.(svg|png)$/, ".dot");
                    fs.writeFileSync(source, dot);
                    io.out(`graphviz (dot) is not available: wrote ${source} instead`);
                    return EXIT.failed;
                }
                io.out(`wrote ${output}`);
                return EXIT.ok;
            }
            fs.writeFileSync(output, text);
            io.out(`wrote ${output}`);
            return EXIT.ok;
        }
        case "reap": {
            const yes = flag(args, "--yes");
            const nowArg = option(args, "--now");
            const when = nowArg ? new Date(`${nowArg}T00:00:00Z`) : now;
            if (Number.isNaN(when.getTime())) {
                throw new UsageError(`--now ${nowArg}: expected YYYY-MM-DD`);
            }
            const ws = await openWorkspace();
            const entries = await readAllEnvironments(ws, io.progress);
            const decisions = entries.map((e) => reapDecision(e, when));
            io.out(table(["ENVIRONMENT", "ACTION", "WHY"], decisions.map((d) => [d.stack, d.reap ? (yes ? "destroy" : "would destroy") : "keep", d.reason])));
            const doomed = entries.filter((_e, i) => decisions[i].reap);
            if (!yes) {
                io.out(doomed.length ? `dry run: ${doomed.length} to destroy; run again with --yes` : "nothing to reap");
                return EXIT.ok;
            }
            let destroyed = 0;
            let kept = 0;
            let failed = 0;
            const eventsUrl = process.env.PLATFORM_EVENTS_URL;
            for (const listed of doomed) {
                const stack = listed.stack;
                io.progress(`destroying ${stack}…`);
                let record: RecordView | undefined;
                try {
                    // The listing may be minutes old: decide again on the state as it is now.
                    const { state } = await readDeployedState(ws, stack);
                    const recheck = recheckReap(listed, state, when);
                    if (!recheck.reap) {
                        kept++;
                        io.out(`kept ${stack}: ${recheck.reason}`);
                        continue;
                    }
                    await destroyEnvironment(ws, stack, state, () => undefined);
                    destroyed++;
                    io.out(`destroyed ${stack}`);
                    record = state.record;
                } catch (err) {
                    failed++;
                    io.out(`failed to destroy ${stack}: ${firstLine(err)}`);
                    continue;
                }
                if (eventsUrl) {
                    try {
                        await publishEnvironmentEvent(environmentEvent("environment.destroyed", stack, { ...record, status: "destroyed" }), { url: eventsUrl });
                        io.out(`published environment.destroyed for ${stack}`);
                    } catch (err) {
                        failed++;
                        io.out(`destroyed ${stack}, but did not publish environment.destroyed: ${firstLine(err)}`);
                    }
                }
            }
            io.out(`reaped ${destroyed} of ${doomed.length}${kept ? ` (${kept} kept: changed since the listing)` : ""}`);
            return failed ? EXIT.failed : EXIT.ok;
        }
        default:
            throw new UsageError(command ? `unknown command "${command}"` : "no command");
    }
}

export async function main(argv = process.argv.slice(2)): Promise<number> {
    const io: Io = { out: (t) => process.stdout.write(`${t}\n`), progress: (t) => process.stderr.write(`${t}\n`) };
    try {
        return await run(argv, io);
    } catch (err) {
        if (err instanceof UsageError) {
            process.stderr.write(`${err.message}\n${USAGE}\n`);
            return EXIT.usage;
        }
        if (err instanceof NotFoundError) {
            process.stderr.write(`${err.message}\n`);
            return EXIT.notFound;
        }
        process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
        return EXIT.failed;
    }
}

if (require.main === module) {
    void main().then((code) => process.exit(code));
}
