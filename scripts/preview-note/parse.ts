/**
 * Reads what one stack's `pulumi preview --json` left (stdout, exit code,
 * stderr) into the model the note shows, and decides whether the job fails.
 * Pure: no I/O. The JSON shapes are in ./pulumi-json.ts.
 */
import type {
    DigestStep,
    EngineEvent,
    EnforcementLevel,
    PolicyAnalyzeSummaryEvent,
    PolicyEvent,
    PreviewDigest,
    ResourceChanges,
    StepEventMetadata,
    StepOp,
    SummaryEvent,
} from "./pulumi-json";

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
