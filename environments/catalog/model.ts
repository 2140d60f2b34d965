/**
 * The catalog's view of environments: pure functions over what the backend
 * holds (stack summaries, last operation, record output), so the decisions
 * (status, search, reaping) are testable without a backend.
 */
import { ExportedResource, protectedTemplateNamed } from "../destroy-guard";
import { EnvironmentStatus } from "../record";
import { isEnvironmentTemplate, TEMPLATES } from "../template-registry";

/** The environment record as the catalog reads it (see record.schema.json). */
export interface RecordView {
    name: string;
    description: string;
    tags: Record<string, string>;
    createdAt: string;
    plannedDestructionAt: string | null;
    status: EnvironmentStatus;
    templates: { name: string; version: string; commit: string }[];
    entrypoints: string[];
    statusEndpoints: string[];
    resources: {
        id: string;
        template: string;
        count: number;
        status: string;
        links: { entrypoints: string[]; statusEndpoints: string[] };
        dependsOn: string[];
    }[];
}

/** One stack of the backend, as the catalog knows it. */
export interface EnvironmentEntry {
    stack: string;
    /** The record output, if the stack has one (a destroyed or never-deployed stack has none). */
    record?: RecordView;
    resourceCount: number;
    updateInProgress: boolean;
    /** The last operation: `update`/`destroy`/…, and whether it succeeded. */
    lastOperation?: { kind: string; result: string; endTime?: string };
    /** Whether the deployed state is protected (see `isProtected`). */
    protect: boolean;
    /** Why the stack could not be read, if it could not. */
    error?: string;
}

/**
 * The status the catalog reports: what the backend knows wins over what the
 * record said when it was written (an update running now, a failed update, a
 * completed destroy).
 */
export function effectiveStatus(e: EnvironmentEntry): EnvironmentStatus | "unknown" {
    if (e.updateInProgress) {
        return e.lastOperation?.kind === "destroy" ? "destroying" : "deploying";
    }
    if (e.lastOperation?.kind === "destroy" && e.lastOperation.result === "succeeded" && e.resourceCount === 0) {
        return "destroyed";
    }
    if (e.lastOperation && e.lastOperation.result === "failed") {
        return "deployed-fail";
    }
    return e.record?.status ?? "unknown";
}

/** Age in whole days, from the record's creation date. */
export function ageInDays(record: RecordView | undefined, now: Date): number | undefined {
    const created = record ? Date.parse(record.createdAt) : NaN;
    return Number.isNaN(created) ? undefined : Math.floor((now.getTime() - created) / 86_400_000);
}

/** Where a text occurs in an environment: name, description, tags, resources. Case-insensitive. */
export function matchesOf(e: EnvironmentEntry, text: string): string[] {
    const needle = text.toLowerCase();
    const has = (value: string) => value.toLowerCase().includes(needle);
    const found: string[] = [];
    if (has(e.stack)) {
        found.push(`name: ${e.stack}`);
    }
    const r = e.record;
    if (!r) {
        return found;
    }
    if (has(r.description)) {
        found.push(`description: ${r.description}`);
    }
    for (const [k, v] of Object.entries(r.tags)) {
        if (has(k) || has(v)) {
            found.push(`tag ${k}=${v}`);
        }
    }
    for (const res of r.resources) {
        const fields = [res.id, res.template, ...res.links.entrypoints, ...res.links.statusEndpoints];
        const hit = fields.find(has);
        if (hit) {
            found.push(`resource ${res.id}: ${hit}`);
        }
    }
    return found;
}

export interface ReapDecision {
    stack: string;
    reap: boolean;
    reason: string;
}

/**
 * Which environments the reaper destroys: those of a reapable template
 * (template-registry.ts: review) past their planned destruction date. Never a
 * protected stack, never a long-lived (cloud) template or one the record does
 * not name, never a stack it cannot read.
 */
export function reapDecision(e: EnvironmentEntry, now: Date): ReapDecision {
    const today = now.toISOString().slice(0, 10);
    const template = e.record?.templates[0]?.name;
    const planned = e.record?.plannedDestructionAt;
    const decide = (reap: boolean, reason: string) => ({ stack: e.stack, reap, reason });
    if (e.error || !e.record) {
        return decide(false, e.error ? `unreadable (${e.error})` : "no environment record");
    }
    if (e.protect) {
        return decide(false, "protected (platform:protect)");
    }
    const spec = isEnvironmentTemplate(template) ? TEMPLATES[template] : undefined;
    // Named like a protected template's stack (prod-eu): kept whatever its record says (destroy-guard.ts says why).
    if (template === undefined || spec?.kind === "cloud" || protectedTemplateNamed(e.stack) !== undefined) {
        return decide(false, `long-lived template ${template ?? "unknown"}`);
    }
    if (!spec?.reapable) {
        return decide(false, `template ${template} is not reaped`);
    }
    if (e.updateInProgress) {
        return decide(false, "an operation is running");
    }
    if (e.resourceCount === 0) {
        return decide(false, "already destroyed");
    }
    if (!planned) {
        return decide(false, "no planned destruction date");
    }
    if (planned >= today) {
        return decide(false, `planned for ${planned}`);
    }
    return decide(true, `planned for ${planned}, expired`);
}

/** Pulumi's marker for a secret in exported state; `--show-secrets` adds its `plaintext`. */
const PULUMI_SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** What the catalog reads from a stack's deployed state: `pulumi stack export` and the last operation's config. */
export interface DeployedState {
    /** The record output (the root stack resource's `environment` output), if it has a usable one. */
    record?: RecordView;
    resourceCount: number;
    /** The resources the state marks `protect: true`. */
    protectedResources: ExportedResource[];
    /** `platform:protect` was "true" in the config of the stack's last operation. */
    protectConfigured: boolean;
}

/** A config value as `pulumi stack history --json` reports it. */
export type HistoryConfig = Record<string, { value?: string; secret?: boolean } | undefined>;

function isObject(value: unknown): value is Record<string, unknown> {
    return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The record, unwrapped from a secret if it was one; undefined when it is not shaped like a record. */
function recordOf(value: unknown): RecordView | undefined {
    if (isObject(value) && value[PULUMI_SECRET_SIG] !== undefined) {
        try {
            return recordOf(typeof value.plaintext === "string" ? JSON.parse(value.plaintext) : undefined);
        } catch {
            return undefined;
        }
    }
    // Only what the reaper decides on is checked: a malformed record is "no record", which keeps the stack.
    if (!isObject(value) || !Array.isArray(value.templates) || !(value.plannedDestructionAt === null || typeof value.plannedDestructionAt === "string")) {
        return undefined;
    }
    return value as unknown as RecordView;
}

/**
 * Reads a stack's deployed state. `exported` is `pulumi stack export`
 * (`{ version, deployment: { resources } }`); `lastConfig` the config of the
 * last operation (`pulumi stack history`), if there was one.
 */
export function deployedState(exported: unknown, lastConfig?: HistoryConfig): DeployedState {
    const deployment = isObject(exported) ? exported.deployment : undefined;
    const resources = (isObject(deployment) && Array.isArray(deployment.resources) ? deployment.resources : []).filter(isObject);
    const root = resources.find((r) => r.type === "pulumi:pulumi:Stack");
    return {
        record: recordOf(isObject(root?.outputs) ? root.outputs.environment : undefined),
        resourceCount: resources.length,
        protectedResources: resources.filter((r) => r.protect === true).map((r) => ({ urn: String(r.urn), type: String(r.type), protect: true })),
        protectConfigured: lastConfig?.["platform:protect"]?.value === "true",
    };
}

/**
 * Whether the reaper must keep a stack. Read from the deployed state, never a
 * stack file: review stacks have none in CI, their config lives only in the
 * backend. A protected resource in the state is the ground truth (it is what
 * the destroy guard refuses on, and `platform:protect` sets it); the last
 * operation's `platform:protect` also counts, for a protected deploy that
 * failed before creating its protected resources.
 */
export function isProtected(state: DeployedState): boolean {
    return state.protectedResources.length > 0 || state.protectConfigured;
}

/**
 * The reaper's decision again, on the state read just before destroying: a
 * redeploy since the listing may have protected the stack, moved its date or
 * removed its record. The listing's backend facts (operation running) stay.
 */
export function recheckReap(listed: EnvironmentEntry, state: DeployedState, now: Date): ReapDecision {
    const fresh: EnvironmentEntry = { ...listed, record: state.record, resourceCount: state.resourceCount, protect: isProtected(state) };
    const decision = reapDecision(fresh, now);
    return decision.reap ? decision : { ...decision, reason: `rechecked before destroying: ${decision.reason}` };
}
