/**
 * Posts the merge request's preview note: reads the previews the merge request
 * pipeline saved, renders one note (scripts/preview-note/), creates it on the
 * merge request or updates the one it wrote before, then exits non-zero when a
 * preview failed or a mandatory policy was violated: after posting, so the
 * merge request shows why the pipeline failed.
 *
 *   tsx scripts/post-preview-note.ts <preview-dir>
 *
 * <preview-dir> holds, for each previewed stack:
 *
 *   <stack>.json     stdout of `pulumi preview --json` for the stack, run with
 *                    PULUMI_ENABLE_STREAMING_JSON_PREVIEW=true (one engine event
 *                    a line: the only form with policy results; the default
 *                    digest is read too, and the note then says the policy
 *                    results are missing)
 *   <stack>.exit     pulumi's exit code, as a number
 *   <stack>.stderr   optional: pulumi's stderr (shown when pulumi failed without JSON)
 *
 * A stack is any name with a .json or an .exit file: one with an .exit but no
 * .json (pulumi never started) is shown as failed; without a readable .exit
 * the JSON alone decides. `<stack>.not-previewed` names an affected stack
 * left out on purpose, with the reason (prod). An empty directory means that
 * no stack was affected. What the preview job runs, e.g.:
 *
 *   mkdir -p previews
 *   for s in $(./platform stacks affected "$CI_MERGE_REQUEST_DIFF_BASE_SHA"); do
 *     status=0
 *     PULUMI_ENABLE_STREAMING_JSON_PREVIEW=true ./platform preview "$s" --json \
 *       >"previews/$s.json" 2>"previews/$s.stderr" || status=$?
 *     echo "$status" >"previews/$s.exit"
 *   done
 *   pnpm exec tsx scripts/post-preview-note.ts previews
 *
 * Environment (GitLab's predefined variables, and one CI/CD variable):
 *   CI_API_V4_URL, CI_PROJECT_ID, CI_MERGE_REQUEST_IID, CI_PIPELINE_URL, CI_COMMIT_SHA
 *   PLATFORM_GITLAB_TOKEN   a project access token, role Reporter (the least that
 *                           can comment), `api` scope (masked);
 *                           never printed, and removed from every error message
 *
 * One note per merge request, not one per pipeline: each pipeline replaces
 * the note's content with its own previews (the header names the pipeline and
 * commit), so the merge request always shows the current state of the change
 * and a busy merge request does not pile up notes; a re-run of a pipeline
 * updates it again. The note is found by its first line (NOTE_MARKER) among
 * the notes written by the token's own user (GET /user), so a note by anyone
 * else is never edited. A pipeline older than the one that last wrote the
 * note (pipelines can finish out of order) leaves it alone.
 *
 * Exit codes: 0 nothing blocking; 1 a preview failed or a mandatory policy was
 * violated (the note is posted first); 2 bad usage or missing variables;
 * 3 GitLab refused or could not be reached.
 */
import * as fs from "node:fs";
import * as path from "node:path";

import { MergeRequestNotes, Users } from "@gitbeaker/rest";
import { CommanderError } from "commander";

import { ENVIRONMENT_TEMPLATES, namePromotionRank } from "../environments/template-registry";
import { CliError, scriptCommand } from "./cli/process";
import { decide, NOTE_MARKER, notePipelineId, parsePreview, pipelineIdFromUrl, renderNote, StackPreview } from "./preview-note";

class GitLabError extends Error {}

const REQUIRED = ["CI_API_V4_URL", "CI_PROJECT_ID", "CI_MERGE_REQUEST_IID", "CI_PIPELINE_URL", "CI_COMMIT_SHA", "PLATFORM_GITLAB_TOKEN"] as const;
type Settings = Record<(typeof REQUIRED)[number], string>;

export interface Output {
    out(text: string): void;
    err(text: string): void;
}

/** The variables the script needs, or a CliError (exit code 2) naming every missing one. */
export function readSettings(env: NodeJS.ProcessEnv): Settings {
    const missing = REQUIRED.filter((name) => !env[name]);
    if (missing.length > 0) {
        throw new CliError(
            `missing CI variable(s): ${missing.join(", ")}. The CI_* ones are GitLab's own in merge request pipelines; ` +
                "PLATFORM_GITLAB_TOKEN is a project access token (role Reporter, api scope), set as a masked CI/CD variable",
            2,
        );
    }
    const settings = Object.fromEntries(REQUIRED.map((name) => [name, env[name] as string])) as Settings;
    if (!/^\d+$/.test(settings.CI_MERGE_REQUEST_IID)) {
        throw new CliError(`CI_MERGE_REQUEST_IID must be a number (got "${settings.CI_MERGE_REQUEST_IID}")`, 2);
    }
    return settings;
}

/**
 * Promotion order first (local…, review-…, dev…, staging…, prod…: the
 * template registry's order, by how the name starts), then by name. Only
 * the note's order: the preview directory has stack names, no stack files.
 */
function stackRank(stack: string): number {
    const i = namePromotionRank(stack, "prefix");
    return i === -1 ? ENVIRONMENT_TEMPLATES.length : i;
}

/** Affected stacks the job left out on purpose: `<stack>.not-previewed` holds the reason. */
export function readNotPreviewed(dir: string): { stack: string; reason: string }[] {
    return fs
        .readdirSync(dir)
        .flatMap((f) => /^(.+)\.not-previewed$/.exec(f)?.slice(1, 2) ?? [])
        .sort((a, b) => stackRank(a) - stackRank(b) || a.localeCompare(b))
        .map((stack) => ({ stack, reason: fs.readFileSync(path.join(dir, `${stack}.not-previewed`), "utf8").trim() }));
}

/** The previews saved in `dir` (see the file comment for the layout). */
export function readPreviews(dir: string): StackPreview[] {
    if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
        throw new CliError(`${dir} is not a directory of previews`, 2);
    }
    const files = fs.readdirSync(dir);
    const stacks = [...new Set(files.flatMap((f) => /^(.+)\.(json|exit)$/.exec(f)?.slice(1, 2) ?? []))];
    stacks.sort((a, b) => stackRank(a) - stackRank(b) || a.localeCompare(b));
    const read = (stack: string, ext: string) => {
        const file = path.join(dir, `${stack}.${ext}`);
        return fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
    };
    return stacks.map((stack) => {
        const exit = read(stack, "exit")?.trim();
        return parsePreview({
            stack,
            stdout: read(stack, "json") ?? "",
            exitCode: exit !== undefined && /^\d+$/.test(exit) ? Number(exit) : undefined,
            stderr: read(stack, "stderr"),
        });
    });
}

export interface PostOptions {
    /** CI_API_V4_URL, e.g. https://gitlab.example.com/api/v4. */
    apiUrl: string;
    projectId: string;
    mergeRequestIid: number;
    token: string;
    body: string;
    /** The pipeline writing the note: an older one does not overwrite a newer one's note. */
    pipelineId?: number;
}

export interface PostResult {
    action: "created" | "updated" | "skipped";
    noteId: number;
    /** Why a note was skipped. */
    reason?: string;
}

/** What a failed request says, without the request itself (its headers hold the token). */
function describeError(what: string, e: unknown, token: string): GitLabError {
    // GitbeakerRequestError: cause = { description, request, response }; fetch's TypeError: cause = the network error.
    const cause = (e as { cause?: { description?: unknown; response?: { status?: number; statusText?: string }; code?: unknown; message?: unknown } }).cause;
    const status = cause?.response?.status;
    const detail = [
        status !== undefined ? `HTTP ${status}${cause?.response?.statusText ? ` ${cause.response.statusText}` : ""}` : undefined,
        typeof cause?.description === "string" && cause.description !== "" ? cause.description : (e as Error).message,
        status === undefined && typeof cause?.message === "string" ? cause.message : undefined,
        typeof cause?.code === "string" && !String(cause.message).includes(cause.code) ? cause.code : undefined,
    ].filter((s): s is string => s !== undefined && s !== "");
    const message = `GitLab API: ${what} failed: ${detail.join(": ")}`;
    return new GitLabError(token ? message.split(token).join("[masked]") : message);
}

async function call<T>(what: string, token: string, fn: () => Promise<T>): Promise<T> {
    try {
        return await fn();
    } catch (e) {
        throw describeError(what, e, token);
    }
}

/** Creates the merge request's preview note, or updates the one this token's user wrote before. */
export async function postNote(o: PostOptions): Promise<PostResult> {
    // gitbeaker appends /api/v4 itself.
    const host = o.apiUrl.replace(/\/+$/, "").replace(/\/api\/v4$/, "");
    const options = { host, token: o.token, queryTimeout: 60_000 };
    const me = await call("reading the token's user (GET /user)", o.token, () => new Users(options).showCurrentUser());
    const api = new MergeRequestNotes(options);
    const notes = await call(`listing the notes of merge request !${o.mergeRequestIid}`, o.token, () =>
        api.all(o.projectId, o.mergeRequestIid, { perPage: 100, orderBy: "created_at", sort: "asc" }),
    );
    const own = notes.filter((n) => !n.system && n.author.id === me.id && n.body.startsWith(NOTE_MARKER)).sort((a, b) => a.id - b.id);
    const existing = own[0];
    if (!existing) {
        const created = await call(`creating a note on merge request !${o.mergeRequestIid}`, o.token, () => api.create(o.projectId, o.mergeRequestIid, o.body));
        return { action: "created", noteId: created.id };
    }
    const writtenBy = notePipelineId(existing.body);
    if (o.pipelineId !== undefined && writtenBy !== undefined && writtenBy > o.pipelineId) {
        return { action: "skipped", noteId: existing.id, reason: `pipeline #${writtenBy}, newer than this one (#${o.pipelineId}), wrote it` };
    }
    await call(`updating note ${existing.id} on merge request !${o.mergeRequestIid}`, o.token, () =>
        api.edit(o.projectId, o.mergeRequestIid, existing.id, { body: o.body }),
    );
    return { action: "updated", noteId: existing.id };
}

const USAGE = "usage: post-preview-note.ts <preview-dir> (<stack>.json, <stack>.exit and optional <stack>.stderr per stack)";

/** The preview directory, or a CommanderError (already printed to `io`, through `masked`; exit code 0 for --help). */
function previewDir(argv: string[], io: Output, masked: (text: string) => string): string {
    const command = scriptCommand("post-preview-note.ts", "post-preview-note", USAGE, io, masked)
        .description("Posts the merge request's preview note (created, or the one this token's user wrote before updated), then fails when a preview failed or a mandatory policy was violated.")
        .argument("<preview-dir>", "per previewed stack: <stack>.json, <stack>.exit and optional <stack>.stderr; <stack>.not-previewed for one left out")
        .addHelpText(
            "after",
            `
Environment: CI_API_V4_URL, CI_PROJECT_ID, CI_MERGE_REQUEST_IID, CI_PIPELINE_URL, CI_COMMIT_SHA
(GitLab's, in merge request pipelines) and PLATFORM_GITLAB_TOKEN (a project access token,
role Reporter, api scope; masked).
Exit codes: 0 nothing blocking; 1 a preview failed or a mandatory policy was violated;
2 bad usage or missing variables; 3 GitLab refused or could not be reached.`,
        )
        .parse(argv, { from: "user" });
    return command.processedArgs[0] as string;
}

/** The whole command; returns the exit code. */
export async function run(argv: string[], env: NodeJS.ProcessEnv, io: Output): Promise<number> {
    const token = env.PLATFORM_GITLAB_TOKEN ?? "";
    const masked = (text: string) => (token ? text.split(token).join("[masked]") : text);
    try {
        const dir = previewDir(argv, io, masked);
        const settings = readSettings(env);
        const previews = readPreviews(dir);
        const decision = decide(previews);
        const pipelineId = pipelineIdFromUrl(settings.CI_PIPELINE_URL);
        const notPreviewed = readNotPreviewed(dir);
        const body = renderNote(previews, { pipelineUrl: settings.CI_PIPELINE_URL, commitSha: settings.CI_COMMIT_SHA, notPreviewed });
        const result = await postNote({
            apiUrl: settings.CI_API_V4_URL,
            projectId: settings.CI_PROJECT_ID,
            mergeRequestIid: Number(settings.CI_MERGE_REQUEST_IID),
            token: settings.PLATFORM_GITLAB_TOKEN,
            body,
            pipelineId,
        });
        io.out(
            result.action === "skipped"
                ? `note ${result.noteId} left as it is: ${result.reason}\n`
                : `${result.action} note ${result.noteId} on merge request !${settings.CI_MERGE_REQUEST_IID} (${previews.length} stack(s), ${body.length} characters)\n`,
        );
        for (const p of previews) {
            io.out(`  ${p.stack}: ${p.status}\n`);
        }
        if (decision.fail) {
            io.err(masked(`blocking:\n${decision.reasons.map((r) => `  ${r}\n`).join("")}`));
            return 1;
        }
        return 0;
    } catch (e) {
        if (e instanceof CommanderError) {
            // Printed already; --help exits 0.
            return e.exitCode === 0 ? 0 : 2;
        }
        io.err(`[post-preview-note] ${masked((e as Error).message)}\n`);
        return e instanceof CliError ? e.exitCode : e instanceof GitLabError ? 3 : 1;
    }
}

if (require.main === module) {
    run(process.argv.slice(2), process.env, { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) }).then(
        (code) => process.exit(code),
        (e: unknown) => {
            // run() catches everything; this is a last resort, and still without the token.
            const token = process.env.PLATFORM_GITLAB_TOKEN;
            const message = String((e as Error)?.message ?? e);
            process.stderr.write(`[post-preview-note] ${token ? message.split(token).join("[masked]") : message}\n`);
            process.exit(1);
        },
    );
}
