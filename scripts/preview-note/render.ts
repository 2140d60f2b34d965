/**
 * The merge request note, in GitLab Markdown, for the previews parsed by
 * ./parse.ts. Pure: no I/O.
 */
import { decide } from "./parse";
import type { ResourceRef, StackPreview } from "./parse";
import type { EnforcementLevel, StepOp } from "./pulumi-json";

/** The first line of every note this job writes: how the poster finds its own note. */
export const NOTE_MARKER = "<!-- platform-preview -->";
/** GitLab refuses notes longer than this (characters). */
export const GITLAB_NOTE_LIMIT = 1_000_000;

export interface NoteContext {
    /** CI_PIPELINE_URL. */
    pipelineUrl?: string;
    /** CI_COMMIT_SHA. */
    commitSha?: string;
    /** Affected stacks this pipeline does not preview, and why (prod: its release tag previews it). */
    notPreviewed?: { stack: string; reason: string }[];
}

export interface RenderOptions {
    /** Most rows per list (replaced, deleted, violations) before "… and N more". Default 50. */
    maxItems?: number;
    /** Most error lines per stack. Default 20. */
    maxErrorLines?: number;
    /** Longest note, in characters. Default GITLAB_NOTE_LIMIT. */
    maxLength?: number;
}

/** The pipeline id at the end of a pipeline URL (…/-/pipelines/123), if any. */
export function pipelineIdFromUrl(url: string | undefined): number | undefined {
    const m = /\/pipelines\/(\d+)\/?$/.exec(url ?? "");
    return m ? Number(m[1]) : undefined;
}

/** The pipeline a note was written by (its hidden second line), if it says. */
export function notePipelineId(body: string): number | undefined {
    const m = /^<!-- platform-preview:pipeline=(\d+) -->$/m.exec(body);
    return m ? Number(m[1]) : undefined;
}

const CELL_LIMIT = 1000;

function clip(text: string, limit: number): string {
    return text.length > limit ? `${text.slice(0, limit - 1)}…` : text;
}

/**
 * Text in a table cell: Markdown and HTML are escaped (a resource name or a
 * policy message must not open a link, hide text in an HTML comment or end
 * the table), a zero-width space after each "@" keeps GitLab from turning
 * `@name` into a mention, newlines become <br>.
 */
export function escapeCell(text: string): string {
    return clip(text, CELL_LIMIT)
        .replace(/&/g, "&amp;")
        .replace(/</g, "&lt;")
        .replace(/>/g, "&gt;")
        .replace(/([\\`*_[\]|~])/g, "\\$1")
        .replace(/@/g, "@\u200b")
        .replace(/\r?\n/g, "<br>");
}

/** A code span in a table cell: no Markdown inside; pipes still need their backslash in GitLab's tables. */
export function codeCell(text: string): string {
    const flat = clip(text, CELL_LIMIT).replace(/\s*\r?\n\s*/g, " ");
    const longestRun = Math.max(0, ...(flat.match(/`+/g) ?? []).map((r) => r.length));
    const fence = "`".repeat(longestRun + 1);
    const pad = flat.startsWith("`") || flat.endsWith("`") ? " " : "";
    return `${fence}${pad}${flat.replace(/\|/g, "\\|")}${pad}${fence}`;
}

/** A fenced code block that no backtick run in the text can close. */
function codeBlock(lines: string[]): string {
    const text = lines.join("\n");
    const longestRun = Math.max(2, ...(text.match(/`+/g) ?? []).map((r) => r.length));
    const fence = "`".repeat(longestRun + 1);
    return `${fence}text\n${text}\n${fence}`;
}

/** A URL as a Markdown link target: what would end the target is percent-encoded. */
function linkTarget(url: string): string {
    return url.replace(/[\s()<>]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`);
}

const COLUMNS: StepOp[] = ["create", "update", "replace", "delete", "same"];

function levelCell(level: EnforcementLevel): string {
    return level === "mandatory" ? "❌ mandatory" : level === "advisory" ? "⚠️ advisory" : level;
}

function policySummary(p: StackPreview): string {
    if (p.status === "failed" && p.violations.length === 0) {
        return "–";
    }
    if (!p.policiesReported) {
        return "not reported";
    }
    const byLevel = new Map<string, number>();
    for (const v of p.violations) {
        byLevel.set(v.level, (byLevel.get(v.level) ?? 0) + 1);
    }
    if (byLevel.size === 0) {
        return p.policyPacks.length > 0 ? "✅ none" : "no policy pack ran";
    }
    return [...byLevel].map(([level, n]) => `${n} ${level}`).join(", ");
}

function resultCell(p: StackPreview): string {
    switch (p.status) {
        case "ok":
            return "✅ ok";
        case "policy-failed":
            return "❌ policy violations";
        case "failed":
            return "❌ preview failed";
    }
}

/** A Markdown table; `numeric` columns are right-aligned. */
function table(header: string[], rows: string[][], total: number, maxItems: number, numeric: number[] = []): string[] {
    const rule = header.map((_, i) => (numeric.includes(i) ? "---:" : "---"));
    const lines = [`| ${header.join(" | ")} |`, `| ${rule.join(" | ")} |`, ...rows.slice(0, maxItems).map((r) => `| ${r.join(" | ")} |`)];
    if (total > maxItems) {
        lines.push(`| … and ${total - maxItems} more |${" |".repeat(header.length - 1)}`);
    }
    return lines;
}

function resourceCell(r: ResourceRef): string {
    return codeCell(r.name);
}

function stackSection(p: StackPreview, maxItems: number, maxErrorLines: number): string[] {
    const out: string[] = [];
    if (p.status === "failed") {
        const lines = p.errors.flatMap((e) => e.split("\n")).filter((l) => l.trim() !== "");
        const shown = lines.slice(0, maxErrorLines);
        out.push(
            "**The preview failed**: its changes are unknown.",
            "",
            codeBlock([...shown, ...(lines.length > shown.length ? [`… and ${lines.length - shown.length} more line(s): see the job log`] : [])]),
            "",
        );
    }
    if (p.replaced.length > 0) {
        out.push(
            `**Replaced** (${p.replaced.length}): deleted and created again`,
            "",
            ...table(
                ["resource", "type", "replaced because of"],
                p.replaced.map((r) => [resourceCell(r), codeCell(r.type), r.reasons.map(codeCell).join(", ")]),
                p.replaced.length,
                maxItems,
            ),
            "",
        );
    }
    if (p.deleted.length > 0) {
        out.push(
            `**Deleted** (${p.deleted.length})`,
            "",
            ...table(["resource", "type"], p.deleted.map((r) => [resourceCell(r), codeCell(r.type)]), p.deleted.length, maxItems),
            "",
        );
    }
    if (p.violations.length > 0) {
        // Mandatory first: they are what blocks the merge request.
        const order: Record<string, number> = { mandatory: 0, advisory: 1 };
        const sorted = [...p.violations].sort((a, b) => (order[a.level] ?? 2) - (order[b.level] ?? 2));
        out.push(
            `**Policy violations** (${p.violations.length})`,
            "",
            ...table(
                ["level", "policy", "resource", "message"],
                sorted.map((v) => [
                    levelCell(v.level),
                    codeCell(v.policy),
                    v.resource ? `${resourceCell(v.resource)} (${codeCell(v.resource.type)})` : "the stack",
                    escapeCell(v.message),
                ]),
                sorted.length,
                maxItems,
            ),
            "",
        );
    }
    if (!p.policiesReported && p.format === "digest") {
        out.push(
            "Policy results are not in this output: it is the `pulumi preview --json` digest, which leaves them out. " +
                "Run the preview with `PULUMI_ENABLE_STREAMING_JSON_PREVIEW=true` to see them here.",
            "",
        );
    }
    return out.length > 0 ? [`#### ${codeCell(p.stack)}`, "", ...out] : [];
}

function renderOnce(previews: StackPreview[], context: NoteContext, maxItems: number, maxErrorLines: number): string {
    const decision = decide(previews);
    const pipelineId = pipelineIdFromUrl(context.pipelineUrl);
    const headline =
        previews.length === 0
            ? "no stack to preview"
            : decision.fail
              ? `❌ ${decision.blocked.length} of ${previews.length} stack${previews.length === 1 ? "" : "s"} blocked`
              : `✅ ${previews.length} stack${previews.length === 1 ? "" : "s"}, nothing blocking`;
    const origin = [
        context.pipelineUrl ? `pipeline [${pipelineId !== undefined ? `#${pipelineId}` : "link"}](${linkTarget(context.pipelineUrl)})` : undefined,
        context.commitSha ? `commit ${codeCell(context.commitSha.slice(0, 12))}` : undefined,
    ].filter((s): s is string => s !== undefined);
    const lines = [
        NOTE_MARKER,
        ...(pipelineId !== undefined ? [`<!-- platform-preview:pipeline=${pipelineId} -->`] : []),
        `### Pulumi preview: ${headline}`,
        "",
        `${origin.length > 0 ? `From ${origin.join(", ")}. ` : ""}This note shows the newest pipeline's previews and is updated by each pipeline of the merge request.`,
        "",
    ];
    const notPreviewed = (context.notPreviewed ?? []).map((n) => `- ${codeCell(n.stack)} is affected but not previewed here: ${escapeCell(n.reason)}.`);
    if (previews.length === 0) {
        lines.push(notPreviewed.length > 0 ? "No stack is previewed in this pipeline." : "No stack is affected by this change.");
        if (notPreviewed.length > 0) {
            lines.push("", ...notPreviewed);
        }
        return lines.join("\n");
    }
    const count = (p: StackPreview, op: StepOp) => (p.status === "failed" ? "–" : String(p.counts[op] ?? 0));
    lines.push(
        ...table(
            ["stack", "result", ...COLUMNS, "policy violations"],
            previews.map((p) => [codeCell(p.stack), resultCell(p), ...COLUMNS.map((op) => count(p, op)), policySummary(p)]),
            previews.length,
            previews.length,
            COLUMNS.map((_, i) => i + 2),
        ),
        "",
    );
    if (notPreviewed.length > 0) {
        lines.push(...notPreviewed, "");
    }
    if (decision.fail) {
        lines.push(`Blocking: ${decision.reasons.map(escapeCell).join("; ")}.`, "");
    }
    for (const p of previews) {
        lines.push(...stackSection(p, maxItems, maxErrorLines));
    }
    return lines.join("\n").replace(/\n+$/, "\n");
}

/**
 * The note for a pipeline's previews. Long lists are cut to `maxItems` rows
 * ("… and N more"), fewer again while the note is over GitLab's limit; as a
 * last resort the text itself is cut.
 */
export function renderNote(previews: StackPreview[], context: NoteContext = {}, options: RenderOptions = {}): string {
    const maxLength = options.maxLength ?? GITLAB_NOTE_LIMIT;
    let maxItems = Math.max(1, options.maxItems ?? 50);
    let maxErrorLines = Math.max(1, options.maxErrorLines ?? 20);
    let note = renderOnce(previews, context, maxItems, maxErrorLines);
    while (note.length > maxLength && (maxItems > 1 || maxErrorLines > 1)) {
        maxItems = Math.max(1, Math.floor(maxItems / 2));
        maxErrorLines = Math.max(1, Math.floor(maxErrorLines / 2));
        note = renderOnce(previews, context, maxItems, maxErrorLines);
    }
    if (note.length > maxLength) {
        const trailer = "\n\n… the note was cut here to fit GitLab's size limit: see the job log.\n";
        note = note.slice(0, Math.max(0, maxLength - trailer.length)) + trailer;
    }
    return note;
}
