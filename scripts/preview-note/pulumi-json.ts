/**
 * The JSON `pulumi preview --json` prints (pulumi 3.248.0), as far as the
 * note reads it. Two shapes:
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
 *
 * The event types come from the automation API (`@pulumi/pulumi/automation`,
 * types only). Where its declaration differs from what the CLI prints, the
 * field is overridden here and the comment says how.
 */
import type {
    DiagnosticEvent as SdkDiagnosticEvent,
    DiffKind,
    EngineEvent as SdkEngineEvent,
    OpType,
    PolicyEvent as SdkPolicyEvent,
    PropertyDiff,
    ResOpFailedEvent,
    ResOutputsEvent,
    ResourcePreEvent,
    StepEventMetadata as SdkStepEventMetadata,
    StepEventStateMetadata,
    SummaryEvent as SdkSummaryEvent,
} from "@pulumi/pulumi/automation";
import type { EnforcementLevel } from "@pulumi/policy";

/** Policy enforcement levels (apitype.EnforcementLevel): the policy SDK's union, the same four strings. */
export type { EnforcementLevel };

/** A step's operation (pkg/resource/deploy/step.go): the SDK's OpType lacks the engine's "diff". */
export type StepOp = OpType | "diff";

/** Diagnostic severities (sdk/go/common/diag/sink.go): the SDK's union lacks "debug", which the stream carries. */
export type Severity = SdkDiagnosticEvent["severity"] | "debug";

/** Changes per operation: the digest's `changeSummary`, the summary event's `resourceChanges` (the SDK's OpMap, plus "diff"). */
export type ResourceChanges = Partial<Record<StepOp, number>>;

// ---- the digest (pkg/display/json.go): the SDK has no type for it (its PreviewResult is stdout, stderr and a change summary) ----

/** The part of apitype.ResourceV3 (sdk/go/common/apitype/core.go) the note uses: a step's `oldState`/`newState`. Not in the SDK. */
export interface DigestResourceState {
    urn: string;
    type: string;
    custom?: boolean;
    parent?: string;
    inputs?: Record<string, unknown>;
    outputs?: Record<string, unknown>;
}

/** display.PropertyDiff: the SDK's PropertyDiff, but the digest calls `diffKind` `kind`. */
export interface DigestPropertyDiff extends Omit<PropertyDiff, "diffKind"> {
    kind: `${DiffKind}`;
}

/** display.PreviewStep. Not in the SDK. */
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

/** display.PreviewDiagnostic: part of the stream's diagnostic, every field optional; `message` already starts with the prefix ("error: "). */
export interface DigestDiagnostic extends Partial<Pick<SdkDiagnosticEvent, "urn" | "prefix" | "message">> {
    severity?: Severity;
}

/** display.PreviewDigest. `duration` is in nanoseconds (a Go time.Duration). Not in the SDK. */
export interface PreviewDigest {
    config?: Record<string, string>;
    steps?: DigestStep[];
    diagnostics?: DigestDiagnostic[];
    duration?: number;
    changeSummary?: ResourceChanges;
    maybeCorrupt?: boolean;
}

// ---- the event stream (sdk/go/common/apitype/events.go) ----

/**
 * apitype.StepEventMetadata: `keys` are the replace reasons, `diffs` the
 * changed keys. The SDK's, but `op` may be "diff", and `old`, `new` and
 * `detailedDiff` are printed as null when unset, not left out. `logical` is
 * true on logical steps and absent (`omitempty` false) on the physical halves
 * of a replacement (create-replacement, delete-replaced).
 */
export interface StepEventMetadata extends Omit<SdkStepEventMetadata, "op" | "old" | "new" | "detailedDiff"> {
    op: StepOp;
    old: StepEventStateMetadata | null;
    new: StepEventStateMetadata | null;
    detailedDiff: Record<string, PropertyDiff> | null;
}

/** apitype.DiagnosticEvent (`message` without the prefix): the SDK's, with "debug" among the severities. */
export interface DiagnosticEvent extends Omit<SdkDiagnosticEvent, "severity"> {
    severity: Severity;
}

/**
 * apitype.PolicyEvent: `message` is the policy's description, a newline, then
 * the violation's own message. The SDK's, but its `enforcementLevel` says
 * "warning" where the CLI prints "advisory", and it lacks `severity`.
 */
export interface PolicyEvent extends Omit<SdkPolicyEvent, "enforcementLevel"> {
    enforcementLevel: EnforcementLevel;
    severity?: string;
}

/** apitype.PolicyAnalyzeSummaryEvent and PolicyAnalyzeStackSummaryEvent (no resourceUrn): not in the SDK. */
export interface PolicyAnalyzeSummaryEvent {
    resourceUrn?: string;
    policyPackName: string;
    policyPackVersion: string;
    policyPackVersionTag: string;
    passed?: string[];
    failed?: string[];
}

/**
 * apitype.SummaryEvent. The SDK declares `policyPacks`, but the JSON field is
 * `PolicyPacks` (capitalised: no JSON tag in Go), mapping
 * `<name>|local|<path>` (LocalPolicyPack.NameForEvents, pkg/engine/update.go)
 * to the pack's version; the SDK also lacks `isPreview` and `result`.
 */
export interface SummaryEvent extends Omit<SdkSummaryEvent, "policyPacks"> {
    PolicyPacks: Record<string, string>;
    isPreview: boolean;
    result?: "succeeded" | "failed" | "canceled";
}

/** An SDK resource event with the metadata as printed. */
type WithMetadata<T extends { metadata: SdkStepEventMetadata }> = Omit<T, "metadata"> & { metadata: StepEventMetadata };

/**
 * apitype.EngineEvent: exactly one payload field is set. The SDK's, with the
 * payloads above, plus the fields it lacks: the policy summaries and `errorEvent`.
 */
export interface EngineEvent
    extends Omit<SdkEngineEvent, "diagnosticEvent" | "summaryEvent" | "resourcePreEvent" | "resOutputsEvent" | "resOpFailedEvent" | "policyEvent"> {
    diagnosticEvent?: DiagnosticEvent;
    summaryEvent?: SummaryEvent;
    resourcePreEvent?: WithMetadata<ResourcePreEvent>;
    resOutputsEvent?: WithMetadata<ResOutputsEvent>;
    resOpFailedEvent?: WithMetadata<ResOpFailedEvent>;
    policyEvent?: PolicyEvent;
    policyAnalyzeSummaryEvent?: PolicyAnalyzeSummaryEvent;
    policyAnalyzeStackSummaryEvent?: PolicyAnalyzeSummaryEvent;
    errorEvent?: { error: string };
}
