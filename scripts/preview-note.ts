/**
 * Pure functions behind the merge request's preview note: parse the JSON
 * `pulumi preview --json` prints, render one Markdown note for all the
 * previewed stacks, and decide whether the job fails. No I/O here:
 * scripts/post-preview-note.ts reads the files and talks to GitLab.
 *
 * Two shapes of `pulumi preview --json` output (pulumi 3.248.0) are read:
 *
 * - the event stream, one engine event per line, printed when
 *   PULUMI_ENABLE_STREAMING_JSON_PREVIEW=true (apitype.EngineEvent,
 *   sdk/go/common/apitype/events.go; written by ShowJSONEvents in
 *   pkg/backend/display/json.go). It is the only form with policy results
 *   (`policyEvent`), so the merge request job uses it;
 * - the default digest, one JSON object (display.PreviewDigest,
 *   pkg/display/json.go; built by ShowPreviewDigest in
 *   pkg/backend/display/json.go). It has `steps`, `diagnostics` and
 *   `changeSummary` but no policy results: ShowPreviewDigest skips every
 *   policy event, and a mandatory violation shows only as the generic
 *   "preview failed" error. Notes made from it say so.
 */

/** A step's operation: the Op* constants of pkg/resource/deploy/step.go. */
export type StepOp =
    | "same"
    | "create"
    | "update"
    | "delete"
    | "replace"
    | "create-replacement"
    | "delete-replaced"
    | "read"
    | "read-replacement"
    | "refresh"
    | "discard"
    | "discard-replaced"
    | "remove-pending-replace"
    | "import"
    | "import-replacement"
    | "diff";

/** Diagnostic severities (sdk/go/common/diag/sink.go). */
export type Severity = "debug" | "info" | "info#err" | "warning" | "error";

/** Policy enforcement levels (apitype.EnforcementLevel, sdk/go/common/apitype/policy.go). */
export type EnforcementLevel = "advisory" | "mandatory" | "remediate" | "disabled";

/** Changes per operation: the digest's `changeSummary`, the summary event's `resourceChanges`. */
export type ResourceChanges = Partial<Record<StepOp, number>>;

// ---- the digest (pkg/display/json.go) ----

/** The part of apitype.ResourceV3 (sdk/go/common/apitype/core.go) the note uses: a step's `oldState`/`newState`. */
export interface DigestResourceState {
    urn: string;
    type: string;
    custom?: boolean;
    parent?: string;
    inputs?: Record<string, unknown>;
    outputs?: Record<string, unknown>;
}

/** display.PropertyDiff: `kind` is add, add-replace, delete, delete-replace, update or update-replace. */
export interface DigestPropertyDiff {
    kind: string;
    inputDiff: boolean;
}

/** display.PreviewStep. */
export interface DigestStep {
    op: StepOp;
    urn: string;
    provider?: string;
    oldState?: DigestResourceState;
    newState?: DigestResourceState;
    diffReasons?: string[];
    replaceReasons?: string[];
    detailedDiff: Record<string, DigestPropertyDiff> | null;
}

/** display.PreviewDiagnostic: `message` already starts with the prefix ("error: "). */
export interface DigestDiagnostic {
    urn?: string;
    prefix?: string;
    message?: string;
    severity?: Severity;
}

/** display.PreviewDigest. `duration` is in nanoseconds (a Go time.Duration). */
export interface PreviewDigest {
    config?: Record<string, string>;
    steps?: DigestStep[];
    diagnostics?: DigestDiagnostic[];
    duration?: number;
    changeSummary?: ResourceChanges;
    maybeCorrupt?: boolean;
}

// ---- the event stream (sdk/go/common/apitype/events.go) ----

/** apitype.StepEventStateMetadata (the subset used). */
export interface StepEventState {
    type: string;
    urn: string;
    id: string;
    parent: string;
    custom?: boolean;
    inputs: Record<string, unknown>;
    outputs: Record<string, unknown>;
    provider: string;
}

/** apitype.PropertyDiff: note `diffKind`, where the digest says `kind`. */
export interface EventPropertyDiff {
    diffKind: string;
    inputDiff: boolean;
}

/** apitype.StepEventMetadata: `keys` are the replace reasons, `diffs` the changed keys. */
export interface StepEventMetadata {
    op: StepOp;
    urn: string;
    type: string;
    old: StepEventState | null;
    new: StepEventState | null;
    keys?: string[];
    diffs?: string[];
    detailedDiff: Record<string, EventPropertyDiff> | null;
    /** True on logical steps; absent (`omitempty` false) on the physical halves of a replacement (create-replacement, delete-replaced). */
    logical?: boolean;
    provider: string;
}

/** apitype.DiagnosticEvent: `message` without the prefix. */
export interface DiagnosticEvent {
    urn?: string;
    prefix?: string;
    message: string;
    color: string;
    severity: Severity;
    streamID?: number;
    ephemeral?: boolean;
}

/** apitype.PolicyEvent: `message` is the policy's description, a newline, then the violation's own message. */
export interface PolicyEvent {
    resourceUrn?: string;
    message: string;
    color: string;
    policyName: string;
    policyPackName: string;
    policyPackVersion: string;
    policyPackVersionTag: string;
    enforcementLevel: EnforcementLevel;
    severity?: string;
}

/** apitype.PolicyAnalyzeSummaryEvent and PolicyAnalyzeStackSummaryEvent (no resourceUrn). */
export interface PolicyAnalyzeSummaryEvent {
    resourceUrn?: string;
    policyPackName: string;
    policyPackVersion: string;
    policyPackVersionTag: string;
    passed?: string[];
    failed?: string[];
}

/**
 * apitype.SummaryEvent. `PolicyPacks` (capitalised in the JSON) maps
 * `<name>|local|<path>` (LocalPolicyPack.NameForEvents, pkg/engine/update.go)
 * to the pack's version.
 */
export interface SummaryEvent {
    maybeCorrupt: boolean;
    durationSeconds: number;
    resourceChanges: ResourceChanges;
    PolicyPacks: Record<string, string>;
    isPreview: boolean;
    result?: "succeeded" | "failed" | "canceled";
}

/** apitype.EngineEvent: exactly one payload field is set. */
export interface EngineEvent {
    sequence: number;
    timestamp: number;
    cancelEvent?: Record<string, never>;
    stdoutEvent?: { message: string; color: string };
    diagnosticEvent?: DiagnosticEvent;
    preludeEvent?: { config: Record<string, string> };
    summaryEvent?: SummaryEvent;
    resourcePreEvent?: { metadata: StepEventMetadata; planning?: boolean };
    resOutputsEvent?: { metadata: StepEventMetadata; planning?: boolean };
    resOpFailedEvent?: { metadata: StepEventMetadata; status: number; steps: number };
    policyEvent?: PolicyEvent;
    policyAnalyzeSummaryEvent?: PolicyAnalyzeSummaryEvent;
    policyAnalyzeStackSummaryEvent?: PolicyAnalyzeSummaryEvent;
    errorEvent?: { error: string };
}

// ---- what the note shows ----

export interface ResourceRef {
    urn: string;
    /** The resource's name (the URN's last part). */
    name: string;
    /** The resource's type token, e.g. kubernetes:apps/v1:Deployment. */
    type: string;
}

export interface ReplacedResource extends ResourceRef {
    /** The properties that force the replacement. */
    reasons: string[];
}

export interface PolicyViolation {
    policy: string;
    pack: string;
    level: EnforcementLevel;
    /** Absent for stack policies. */
    resource?: ResourceRef;
    /** The violation's own message (the policy's description and a leading "<urn> (<type>): " removed). */
    message: string;
}

export type PreviewStatus =
    /** The preview succeeded. */
    | "ok"
    /** The preview ran to the end and only mandatory policy violations failed it. */
    | "policy-failed"
    /** The preview did not complete: its counts mean nothing. */
    | "failed";

export interface StackPreview {
    stack: string;
    /** Which output was parsed; `none` when there was no usable JSON. */
    format: "events" | "digest" | "none";
    status: PreviewStatus;
    counts: ResourceChanges;
    replaced: ReplacedResource[];
    deleted: ResourceRef[];
    violations: PolicyViolation[];
    /** `name@version` of each policy pack that ran. */
    policyPacks: string[];
    /** False when the output cannot show policy results (the digest). */
    policiesReported: boolean;
    /** Error messages, in order, without the "error: " prefix. */
    errors: string[];
    exitCode?: number;
}

/** One stack's preview as the CI job saved it. */
export interface PreviewInput {
    stack: string;
    /** Everything `pulumi preview --json` printed on stdout. */
    stdout: string;
    /** pulumi's exit code, when known. */
    exitCode?: number;
    /** pulumi's stderr, when saved: the only clue when it failed before printing JSON. */
    stderr?: string;
}

/** The URN's type and name: `urn:pulumi:<stack>::<project>::<parent$…$type>::<name>` (the name may itself contain "::"). */
export function parseUrn(urn: string): ResourceRef {
    const parts = urn.split("::");
    if (parts.length < 4) {
        return { urn, name: urn, type: "" };
    }
    const qualified = parts[2];
    return { urn, name: parts.slice(3).join("::"), type: qualified.slice(qualified.lastIndexOf("$") + 1) };
}

const GENERIC_FAILURE = "preview failed";

function errorText(message: string, prefix?: string): string {
    const text = message.replace(/\s+$/, "");
    return prefix && text.startsWith(prefix) ? text.slice(prefix.length) : text.replace(/^error: /, "");
}

/** The violation's own message: the policy description (first line) and a "<urn> (<type>): " prefix dropped. */
export function violationMessage(event: PolicyEvent): string {
    const lines = event.message.replace(/\s+$/, "").split("\n");
    let text = (lines.length > 1 ? lines.slice(1) : lines).join("\n").trim();
    if (event.resourceUrn) {
        const prefix = `${event.resourceUrn} (${parseUrn(event.resourceUrn).type}): `;
        if (text.startsWith(prefix)) {
            text = text.slice(prefix.length);
        }
    }
    return text;
}

/** Counts per logical operation, for output that has no summary (a preview cut short). */
function countSteps(ops: StepOp[]): ResourceChanges {
    const counts: ResourceChanges = {};
    for (const op of ops) {
        counts[op] = (counts[op] ?? 0) + 1;
    }
    return counts;
}

function uniqueBy<T>(items: T[], key: (t: T) => string): T[] {
    const seen = new Set<string>();
    return items.filter((t) => {
        const k = key(t);
        if (seen.has(k)) {
            return false;
        }
        seen.add(k);
        return true;
    });
}

interface Parsed {
    format: "events" | "digest";
    counts: ResourceChanges;
    replaced: ReplacedResource[];
    deleted: ResourceRef[];
    violations: PolicyViolation[];
    policyPacks: string[];
    errors: string[];
    /** The engine's own verdict, when the output has one (the stream's summary). */
    result?: SummaryEvent["result"] | "missing";
}

function parseEvents(events: EngineEvent[]): Parsed {
    const steps: StepEventMetadata[] = [];
    const violations: PolicyViolation[] = [];
    const packs = new Set<string>();
    const errors: string[] = [];
    let summary: SummaryEvent | undefined;
    for (const e of events) {
        if (e.resourcePreEvent) {
            steps.push(e.resourcePreEvent.metadata);
        } else if (e.diagnosticEvent) {
            const d = e.diagnosticEvent;
            // As the digest does: ephemeral and debug messages are for the progress display only.
            if (d.severity === "error" && !d.ephemeral) {
                errors.push(errorText(d.message, d.prefix));
            }
        } else if (e.errorEvent) {
            errors.push(errorText(e.errorEvent.error));
        } else if (e.policyEvent) {
            const p = e.policyEvent;
            packs.add(`${p.policyPackName}@${p.policyPackVersion}`);
            violations.push({
                policy: p.policyName,
                pack: p.policyPackName,
                level: p.enforcementLevel,
                resource: p.resourceUrn ? parseUrn(p.resourceUrn) : undefined,
                message: violationMessage(p),
            });
        } else if (e.policyAnalyzeSummaryEvent || e.policyAnalyzeStackSummaryEvent) {
            const p = (e.policyAnalyzeSummaryEvent ?? e.policyAnalyzeStackSummaryEvent) as PolicyAnalyzeSummaryEvent;
            packs.add(`${p.policyPackName}@${p.policyPackVersion}`);
        } else if (e.summaryEvent) {
            summary = e.summaryEvent;
        }
    }
    for (const [key, version] of Object.entries(summary?.PolicyPacks ?? {})) {
        packs.add(`${key.split("|")[0]}@${version}`);
    }
    // The physical halves of a replacement (create-replacement, delete-replaced) are not logical steps.
    const logical = steps.filter((s) => s.logical === true);
    return {
        format: "events",
        counts: summary?.resourceChanges ?? countSteps(logical.map((s) => s.op)),
        replaced: uniqueBy(
            logical.filter((s) => s.op === "replace").map((s) => ({ ...parseUrn(s.urn), type: s.type || parseUrn(s.urn).type, reasons: s.keys ?? [] })),
            (r) => r.urn,
        ),
        deleted: uniqueBy(
            logical.filter((s) => s.op === "delete").map((s) => ({ ...parseUrn(s.urn), type: s.type || parseUrn(s.urn).type })),
            (r) => r.urn,
        ),
        violations: uniqueBy(violations, (v) => `${v.pack}\0${v.policy}\0${v.resource?.urn ?? ""}\0${v.message}`),
        policyPacks: [...packs].sort(),
        errors,
        result: summary?.result ?? "missing",
    };
}

function parseDigest(digest: PreviewDigest): Parsed {
    const steps = digest.steps ?? [];
    const typeOf = (s: DigestStep) => s.newState?.type ?? s.oldState?.type ?? parseUrn(s.urn).type;
    return {
        format: "digest",
        counts: digest.changeSummary ?? countSteps(steps.map((s) => s.op)),
        replaced: uniqueBy(
            steps.filter((s) => s.op === "replace").map((s) => ({ ...parseUrn(s.urn), type: typeOf(s), reasons: s.replaceReasons ?? [] })),
            (r) => r.urn,
        ),
        deleted: uniqueBy(
            steps.filter((s) => s.op === "delete").map((s) => ({ ...parseUrn(s.urn), type: typeOf(s) })),
            (r) => r.urn,
        ),
        violations: [],
        policyPacks: [],
        errors: (digest.diagnostics ?? []).filter((d) => d.severity === "error").map((d) => errorText(d.message ?? "", d.prefix)),
    };
}

function isEngineEvent(value: unknown): value is EngineEvent {
    return typeof value === "object" && value !== null && typeof (value as EngineEvent).sequence === "number";
}

/** Parses pulumi's stdout: the digest (one object) or the event stream (one object a line). */
export function parsePreviewJson(stdout: string): Parsed {
    const text = stdout.trim();
    let whole: unknown;
    try {
        whole = JSON.parse(text);
    } catch {
        whole = undefined;
    }
    if (whole !== undefined && !isEngineEvent(whole)) {
        if (typeof whole !== "object" || whole === null || Array.isArray(whole)) {
            throw new Error("the output is JSON but neither a preview digest nor engine events");
        }
        return parseDigest(whole as PreviewDigest);
    }
    const events = text.split("\n").flatMap((line, i) => {
        if (line.trim() === "") {
            return [];
        }
        let event: unknown;
        try {
            event = JSON.parse(line);
        } catch (e) {
            throw new Error(`line ${i + 1} is not JSON (${(e as Error).message})`);
        }
        if (!isEngineEvent(event)) {
            throw new Error(`line ${i + 1} is not an engine event`);
        }
        return [event];
    });
    return parseEvents(events);
}

function firstLines(text: string, n: number): string[] {
    return text.split("\n").map((l) => l.replace(/\s+$/, "")).filter((l) => l !== "").slice(0, n);
}

/** One stack's preview: what changed, the policy results, and whether it failed. */
export function parsePreview(input: PreviewInput): StackPreview {
    const base = { stack: input.stack, exitCode: input.exitCode };
    const stderrLines = firstLines(input.stderr ?? "", 20);
    let parsed: Parsed;
    try {
        if (input.stdout.trim() === "") {
            throw new Error("pulumi printed no JSON");
        }
        parsed = parsePreviewJson(input.stdout);
    } catch (e) {
        return {
            ...base,
            format: "none",
            status: "failed",
            counts: {},
            replaced: [],
            deleted: [],
            violations: [],
            policyPacks: [],
            policiesReported: false,
            errors: [
                `cannot read the preview: ${(e as Error).message}`,
                ...(input.exitCode !== undefined && input.exitCode !== 0 ? [`pulumi exited with code ${input.exitCode}`] : []),
                ...stderrLines,
            ],
        };
    }
    const errors = uniqueBy(parsed.errors, (e) => e);
    const mandatory = parsed.violations.some((v) => v.level === "mandatory");
    const exitFailed = input.exitCode !== undefined && input.exitCode !== 0;
    const engineFailed = parsed.result !== undefined && parsed.result !== "succeeded";
    let status: PreviewStatus = "ok";
    if (errors.length > 0 || exitFailed || engineFailed) {
        // A preview that ran to the end and failed only on mandatory policies still has meaningful counts.
        const onlyPolicies = mandatory && errors.every((e) => e === GENERIC_FAILURE) && parsed.result !== "missing";
        status = onlyPolicies ? "policy-failed" : "failed";
    }
    const detail: string[] = [];
    if (status === "failed") {
        if (parsed.result === "missing") {
            detail.push("the preview did not finish (no summary event)");
        } else if (parsed.result === "canceled") {
            detail.push("the preview was cancelled");
        }
        if (exitFailed && errors.length === 0) {
            detail.push(`pulumi exited with code ${input.exitCode}`, ...stderrLines);
        }
    }
    return {
        ...base,
        format: parsed.format,
        status,
        counts: parsed.counts,
        replaced: parsed.replaced,
        deleted: parsed.deleted,
        violations: parsed.violations,
        policyPacks: parsed.policyPacks,
        policiesReported: parsed.format === "events",
        // The generic "preview failed" says nothing when a specific error is there.
        errors: [...(errors.length > 1 ? errors.filter((e) => e !== GENERIC_FAILURE) : errors), ...detail],
    };
}

// ---- the decision ----

export interface Decision {
    fail: boolean;
    /** One line per blocking problem, e.g. "dev: preview failed". */
    reasons: string[];
    /** The stacks with a blocking problem. */
    blocked: string[];
}

/** The job fails when any preview failed or any mandatory policy was violated. */
export function decide(previews: StackPreview[]): Decision {
    const reasons: string[] = [];
    const blocked = new Set<string>();
    for (const p of previews) {
        const mandatory = p.violations.filter((v) => v.level === "mandatory").length;
        if (p.status === "failed") {
            reasons.push(`${p.stack}: preview failed`);
            blocked.add(p.stack);
        }
        if (mandatory > 0) {
            reasons.push(`${p.stack}: ${mandatory} mandatory policy violation${mandatory === 1 ? "" : "s"}`);
            blocked.add(p.stack);
        }
    }
    return { fail: reasons.length > 0, reasons, blocked: [...blocked] };
}

// ---- the note ----

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
