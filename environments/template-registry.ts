/**
 * The environment templates and what each one means, in one place: the
 * config loader, the program (Vault's dev mode too), the profiles, the
 * catalog's reaper, the destroy guard and the scripts (state backend, policy
 * config, affected stacks, merge request previews, the preview note, the
 * delivery mode) all read this file instead of keeping their own copy.
 *
 * The rule behind it: a stack name is a name, not a kind. What a stack is
 * comes from its stack file (`stacks/Pulumi.<stack>.yaml`,
 * `platform:template`), looked up here (templateOfStack), never guessed from
 * the name. The only names the registry reads are those of stacks without a
 * stack file (templateWithoutStackFile) and, for sorting lists only, the
 * promotion rank (namePromotionRank).
 *
 * Loaded by the Pulumi program (through config.ts) and by the scripts, so it
 * imports no Pulumi code: the egress policy's type is a type-only import.
 */
import * as fs from "node:fs";
import * as path from "node:path";

import type { OUTBOUND_TRAFFIC_POLICIES } from "../components/mesh/mesh";
import { parseStackFile, stackFilePath } from "./stack-file";

// Stack files are read in stack-file.ts; the path is importable from here too.
export { stackFilePath };

/** The templates this repository can build, in promotion order: local → review → dev → staging → prod. */
export const ENVIRONMENT_TEMPLATES = ["local", "review", "dev", "staging", "prod"] as const;
export type EnvironmentTemplate = (typeof ENVIRONMENT_TEMPLATES)[number];

/**
 * What a template builds: `local` and `review` run on an existing (or no)
 * cluster through environments/templates/local.ts, `cloud` builds its own
 * cloud foundation through environments/templates/cloud.ts.
 */
export type TemplateKind = "local" | "review" | "cloud";

/**
 * The platform services' sizes, retention, replicas, egress policy and
 * protection: what every profile decides. Declared here, and taken by the
 * platform services' options (templates/platform-services.ts), so that the
 * registry imports nothing that builds resources (no import cycle through
 * the components that read it).
 */
export interface ServiceSizes {
    /** Minimum replicas of control planes and gateways. */
    replicas: number;
    metricsRetention: string;
    metricsStorage: string;
    logsRetention: string;
    logsStorage: string;
    rabbitmqReplicas: number;
    consulReplicas: number;
    outboundTrafficPolicy: (typeof OUTBOUND_TRAFFIC_POLICIES)[number];
    /** Protect stateful resources from deletion (prod). */
    protect: boolean;
}

/**
 * What differs between dev, staging and prod, in one place: sizes,
 * retention, replicas, egress policy and protection. Everything else is the
 * same code for every environment.
 */
export interface EnvironmentProfile extends ServiceSizes {
    /** Vault's Raft voters. */
    vaultReplicas: number;
    /** Production settings of the managed services (multi-AZ/zone-redundant, long backups, guard rails). */
    production: boolean;
    /** Worker nodes: minimum and maximum. */
    nodes: { min: number; max: number };
}

interface TemplateRules {
    /**
     * The environment names it makes (the stack name unless platform:name
     * says otherwise): `stem` or `stem-<suffix>` when the suffix is optional,
     * `stem-<id>` when it is required.
     */
    name: { stem: string; suffix: "optional" | "required" };
    /** The policy pack config (repository-relative) every preview and up of its stacks passes. */
    policyConfig: string;
    /**
     * `repository`: the repository's file backend and the committed
     * passphrase (development secrets only); `team`: the team backend and a
     * cloud secrets provider (scripts/stack-settings.ts).
     */
    stateBackend: "repository" | "team";
    /** A preview may create a missing stack: its state is in the repository, or it is made per merge request. */
    previewCreatesStack: boolean;
    /** The reaper may destroy it once its planned destruction date has passed. */
    reapable: boolean;
    /** When set, platform:plannedDestruction is required and at most this many days away. */
    maxLifetimeDays?: number;
    /** Stateful resources are always protected: platform:protect=false is refused. */
    forceProtection: boolean;
    /** Previewed in merge request pipelines (.ci/preview-merge-request.sh); prod only on its release tag, with its own identity. */
    previewInMergeRequests: boolean;
    /** Vault may run in dev mode (in memory, a root token; components/vault/server.ts): only where data is disposable. */
    vaultDevMode: boolean;
}

/**
 * What local and review environments run: every platform service at its
 * smallest on an existing (or no) cluster, with the in-cluster Postgres.
 * `protect` is the default when platform:protect is unset.
 */
export interface LocalProfile extends ServiceSizes {
    /** Instances of the in-cluster Postgres. */
    postgresInstances: number;
}

export type TemplateSpec = TemplateRules & ({ kind: "local" | "review"; profile: LocalProfile } | { kind: "cloud"; profile: EnvironmentProfile });

const LOCAL_PROFILE: LocalProfile = {
    replicas: 1,
    metricsRetention: "2d",
    metricsStorage: "5Gi",
    logsRetention: "48h",
    logsStorage: "5Gi",
    rabbitmqReplicas: 1,
    consulReplicas: 1,
    // Throwaway environments: any egress, nothing protected unless the stack says so.
    outboundTrafficPolicy: "ALLOW_ANY",
    protect: false,
    postgresInstances: 1,
};

const DEV_PROFILE: EnvironmentProfile = {
    replicas: 1,
    metricsRetention: "7d",
    metricsStorage: "20Gi",
    logsRetention: "168h",
    logsStorage: "20Gi",
    rabbitmqReplicas: 1,
    consulReplicas: 1,
    vaultReplicas: 3,
    outboundTrafficPolicy: "ALLOW_ANY",
    production: false,
    protect: false,
    nodes: { min: 2, max: 4 },
};

const STAGING_PROFILE: EnvironmentProfile = {
    replicas: 2,
    metricsRetention: "15d",
    metricsStorage: "50Gi",
    logsRetention: "336h",
    logsStorage: "50Gi",
    rabbitmqReplicas: 3,
    consulReplicas: 3,
    vaultReplicas: 3,
    outboundTrafficPolicy: "REGISTRY_ONLY",
    production: false,
    protect: false,
    nodes: { min: 3, max: 6 },
};

const PROD_PROFILE: EnvironmentProfile = {
    replicas: 3,
    metricsRetention: "30d",
    metricsStorage: "200Gi",
    logsRetention: "720h",
    logsStorage: "200Gi",
    rabbitmqReplicas: 3,
    consulReplicas: 3,
    vaultReplicas: 5,
    outboundTrafficPolicy: "REGISTRY_ONLY",
    production: true,
    protect: true,
    nodes: { min: 3, max: 12 },
};

/** How long a review environment may live. */
export const REVIEW_MAX_DAYS = 30;

/** Shared by the long-lived cloud templates; each entry below says only what differs. */
const CLOUD_RULES = {
    kind: "cloud",
    stateBackend: "team",
    previewCreatesStack: false,
    reapable: false,
    vaultDevMode: false,
} as const;

// `as const satisfies`: checked against TemplateSpec, with each entry's literal
// kind kept so that CloudTemplate can be derived from it.
const SPECS = {
    local: {
        kind: "local",
        name: { stem: "local", suffix: "optional" },
        policyConfig: "policies/config/local.json",
        stateBackend: "repository",
        previewCreatesStack: true,
        reapable: false,
        forceProtection: false,
        previewInMergeRequests: true,
        vaultDevMode: true,
        profile: LOCAL_PROFILE,
    },
    review: {
        kind: "review",
        name: { stem: "review", suffix: "required" },
        policyConfig: "policies/config/review.json",
        stateBackend: "team",
        previewCreatesStack: true,
        reapable: true,
        maxLifetimeDays: REVIEW_MAX_DAYS,
        forceProtection: false,
        previewInMergeRequests: true,
        vaultDevMode: true,
        profile: LOCAL_PROFILE,
    },
    dev: {
        ...CLOUD_RULES,
        name: { stem: "dev", suffix: "optional" },
        policyConfig: "policies/config/dev.json",
        forceProtection: false,
        previewInMergeRequests: true,
        profile: DEV_PROFILE,
    },
    staging: {
        ...CLOUD_RULES,
        name: { stem: "staging", suffix: "optional" },
        policyConfig: "policies/config/staging.json",
        forceProtection: false,
        previewInMergeRequests: true,
        profile: STAGING_PROFILE,
    },
    prod: {
        ...CLOUD_RULES,
        name: { stem: "prod", suffix: "optional" },
        policyConfig: "policies/config/prod.json",
        forceProtection: true,
        previewInMergeRequests: false,
        profile: PROD_PROFILE,
    },
} as const satisfies Record<EnvironmentTemplate, TemplateSpec>;

/** Every template's rules, by name. */
export const TEMPLATES: Readonly<Record<EnvironmentTemplate, TemplateSpec>> = SPECS;

/** The long-lived cloud environments: the templates of kind `cloud`. */
export type CloudTemplate = { [T in EnvironmentTemplate]: (typeof SPECS)[T]["kind"] extends "cloud" ? T : never }[EnvironmentTemplate];

/** The templates of kind local or review: they run on an existing (or no) cluster. */
export type LocalTemplate = Exclude<EnvironmentTemplate, CloudTemplate>;

/** The cloud templates' profiles (the same objects as TEMPLATES[t].profile). */
export const PROFILES: Readonly<Record<CloudTemplate, EnvironmentProfile>> = {
    dev: SPECS.dev.profile,
    staging: SPECS.staging.profile,
    prod: SPECS.prod.profile,
};

/** The local and review templates' profiles (the same objects as TEMPLATES[t].profile). */
export const LOCAL_PROFILES: Readonly<Record<LocalTemplate, LocalProfile>> = {
    local: SPECS.local.profile,
    review: SPECS.review.profile,
};

/** The cloud templates, in promotion order. */
export const CLOUD_TEMPLATES: readonly CloudTemplate[] = ENVIRONMENT_TEMPLATES.filter(isCloudTemplate);

/** The local and review templates, in promotion order. */
export const LOCAL_TEMPLATES: readonly LocalTemplate[] = ENVIRONMENT_TEMPLATES.filter((t): t is LocalTemplate => !isCloudTemplate(t));

export function isEnvironmentTemplate(value: unknown): value is EnvironmentTemplate {
    return typeof value === "string" && (ENVIRONMENT_TEMPLATES as readonly string[]).includes(value);
}

export function isCloudTemplate(value: unknown): value is CloudTemplate {
    return isEnvironmentTemplate(value) && TEMPLATES[value].kind === "cloud";
}

/** The environment names `template` makes: `^review-[a-z0-9-]+$`, `^prod(-[a-z0-9-]+)?$`. */
export function namePattern(template: EnvironmentTemplate): RegExp {
    const { stem, suffix } = TEMPLATES[template].name;
    return suffix === "required" ? new RegExp(`^${stem}-[a-z0-9-]+$`) : new RegExp(`^${stem}(-[a-z0-9-]+)?$`);
}

/** The same, for people: "review-<id>", "prod or prod-<suffix>". */
export function nameText(template: EnvironmentTemplate): string {
    const { stem, suffix } = TEMPLATES[template].name;
    return suffix === "required" ? `${stem}-<id>` : `${stem} or ${stem}-<suffix>`;
}

/**
 * Where a stack's name puts it in promotion order (an index into
 * ENVIRONMENT_TEMPLATES), or -1: for sorting lists of stack names only, never
 * for deciding what a stack is. `exact`: the name is a template's bare name
 * (local, dev, staging, prod; the order of `./platform stacks affected`).
 * `prefix`: the name starts like the template's names (local…, review-…,
 * dev…; the order of the merge request's preview note).
 */
export function namePromotionRank(stack: string, match: "exact" | "prefix"): number {
    return ENVIRONMENT_TEMPLATES.findIndex((t) => {
        const { stem, suffix } = TEMPLATES[t].name;
        if (match === "exact") {
            return suffix === "optional" && stack === stem;
        }
        return stack.startsWith(suffix === "required" ? `${stem}-` : stem);
    });
}

/** A stack file that does not say which template its stack is. */
export class StackTemplateError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "StackTemplateError";
    }
}

const TEMPLATE_KEY = "platform:template";

/**
 * The template a parsed stack file names (`config["platform:template"]`).
 * `file` is only for the message. Throws a StackTemplateError naming the
 * file, the key and the allowed values when the template is missing (an
 * empty file included) or unknown.
 */
export function templateInStackFile(doc: unknown, file: string): EnvironmentTemplate {
    const allowed = `allowed: ${ENVIRONMENT_TEMPLATES.join(", ")}`;
    const config = isRecord(doc) ? doc.config : undefined;
    const value = isRecord(config) ? config[TEMPLATE_KEY] : undefined;
    if (value === undefined || value === null || value === "") {
        const empty = doc === undefined || doc === null || (isRecord(doc) && Object.keys(doc).length === 0) ? " (the file is empty)" : "";
        throw new StackTemplateError(`${file}: ${TEMPLATE_KEY} is missing${empty}: set the stack's template; ${allowed}`);
    }
    if (!isEnvironmentTemplate(value)) {
        throw new StackTemplateError(`${file}: ${TEMPLATE_KEY}: ${JSON.stringify(value)} is not a template; ${allowed}`);
    }
    return value;
}

/**
 * The template of a stack that has no stack file: `local` before its file is
 * written, and a merge request's `review-<id>` (its config lives only in the
 * backend). Any other stack without a file has no template that can be told.
 */
export function templateWithoutStackFile(stack: string): EnvironmentTemplate | undefined {
    if (stack === "local") {
        return "local";
    }
    return namePattern("review").test(stack) ? "review" : undefined;
}

/**
 * The template of `stack` in the project at `projectDir`: its stack file's
 * platform:template, or templateWithoutStackFile when it has no stack file.
 * Throws a StackTemplateError when the file exists but names no known
 * template, a StackFileError (stack-file.ts) when it is not valid YAML.
 */
export function templateOfStack(projectDir: string, stack: string): EnvironmentTemplate | undefined {
    const file = stackFilePath(stack);
    const full = path.join(projectDir, file);
    if (!fs.existsSync(full)) {
        return templateWithoutStackFile(stack);
    }
    return templateInStackFile(parseStackFile(fs.readFileSync(full, "utf8"), file), file);
}

function isRecord(value: unknown): value is Record<string, unknown> {
    return value !== null && typeof value === "object" && !Array.isArray(value);
}
