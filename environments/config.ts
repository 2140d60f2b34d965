import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";

import { Cidr, cidrsOverlap, hasLeadingZeros, parseCidr } from "../components/shared/cidr";
import { ENTRA_OBJECT_ID, IAM_ROLE_ARN } from "../components/shared/identifiers";
import { ENVIRONMENT_TEMPLATES, EnvironmentTemplate, namePattern, nameText, TEMPLATES } from "./template-registry";

// How long a review environment may live: the template registry's, importable from here too.
export { REVIEW_MAX_DAYS } from "./template-registry";

/** Clouds the long-lived environments run on, and the regions the platform supports in each. */
export const CLOUDS = ["azure", "aws"] as const;
export const CLOUD_REGIONS: Record<(typeof CLOUDS)[number], readonly string[]> = {
    azure: ["westeurope", "northeurope", "swedencentral", "germanywestcentral", "eastus2", "westus3"],
    aws: ["eu-west-1", "eu-central-1", "eu-north-1", "us-east-1", "us-east-2", "us-west-2"],
};

/** Comma-separated list in one config string (e.g. Entra ID group object ids). */
const commaList = z
    .string()
    .transform((v) => v.split(",").map((s) => s.trim()).filter((s) => s !== ""));

/** How the environment's Kubernetes objects are delivered. `auto`: apply when the kubeconfig's cluster answers, else render. */
export const KUBERNETES_TARGETS = ["auto", "apply", "render"] as const;

const KEY_PREFIX = "platform";

/** Node counts: digits only (no "0x10", "1e1", " 3 "), 1 to 100. */
const NODE_COUNT = "must be a whole number from 1 to 100";
const nodeCount = z
    .string({ error: NODE_COUNT })
    .refine((v) => /^[0-9]+$/.test(v) && Number(v) >= 1 && Number(v) <= 100, NODE_COUNT)
    .transform(Number);

/** Free text that must say something: whitespace alone is not a value. */
const requiredText = z.string().trim().min(1, "it is required");

/** What one cluster administrator is on each cloud. */
const CLUSTER_ADMIN: Record<(typeof CLOUDS)[number], { pattern: RegExp; allowed: string }> = {
    azure: { pattern: ENTRA_OBJECT_ID, allowed: "Entra ID object ids (GUIDs) such as 7f3c2a10-5b1e-4d8a-9c3f-2e6b8a1d4f90" },
    aws: { pattern: IAM_ROLE_ARN, allowed: "IAM role ARNs, arn:aws:iam::<12-digit account>:role/<name>" },
};

/** The reserved "this network" block (RFC 1122): no cloud network can use it. */
const THIS_NETWORK: Cidr = { base: 0, prefix: 8 };

/**
 * A network of the stack config (platform:networkCidr, platform:serviceCidr), or
 * why it is not one. On top of parseCidr: no leading zeros (`010.40.0.0/16`
 * reads as 10.40.0.0/16 to some tools and 8.40.0.0/16 to others) and nothing in
 * 0.0.0.0/8. The one place for these rules; `example` is the shape to show.
 */
export function parseConfigCidr(text: string, prefixes: { min: number; max: number }, example: string): { cidr: Cidr } | { problem: string } {
    const shape =
        prefixes.min === prefixes.max
            ? `must be an IPv4 /${prefixes.min} network such as ${example}`
            : `must be an IPv4 network from /${prefixes.min} to /${prefixes.max} such as ${example}`;
    if (hasLeadingZeros(text)) {
        return { problem: `${shape}, written without leading zeros` };
    }
    const cidr = parseCidr(text);
    if (cidr === undefined || cidr.prefix < prefixes.min || cidr.prefix > prefixes.max) {
        return { problem: shape };
    }
    if (cidrsOverlap(cidr, THIS_NETWORK)) {
        return { problem: `${shape}, outside 0.0.0.0/8 (reserved, not routable)` };
    }
    return { cidr };
}

const NETWORK_PREFIXES = { min: 16, max: 16 };
const SERVICE_PREFIXES = { min: 12, max: 24 };

function cidrSetting(prefixes: { min: number; max: number }, example: string) {
    return z.string().superRefine((v, ctx) => {
        const parsed = parseConfigCidr(v, prefixes, example);
        if ("problem" in parsed) {
            ctx.addIssue({ code: "custom", message: parsed.problem });
        }
    });
}

/**
 * The stack configuration every environment is built from. Keys are the
 * project config keys declared in Pulumi.yaml (namespace `platform`).
 */
export const environmentConfigSchema = z
    .object({
        template: z.enum(ENVIRONMENT_TEMPLATES),
        name: z
            .string()
            .regex(/^[a-z][a-z0-9-]{1,30}[a-z0-9]$/, "must be 3-32 lower-case letters, digits or '-', starting with a letter"),
        description: requiredText.max(500),
        owner: z.email("must be an email address"),
        costCenter: z.string().regex(/^[A-Z]{2,5}-[0-9]{3,6}$/, "must look like ABC-1234 (2-5 capitals, '-', 3-6 digits)"),
        repository: requiredText,
        kubernetesTarget: z.enum(KUBERNETES_TARGETS).default("auto"),
        kubeContext: requiredText.optional(),
        renderDirectory: requiredText.default("rendered"),
        plannedDestruction: z.iso.date("must be a date as YYYY-MM-DD").optional(),
        chartMirror: requiredText.optional(),
        cloud: z.enum(CLOUDS).optional(),
        region: requiredText.optional(),
        /** Azure: Entra ID groups that administer the cluster. AWS: IAM role ARNs with cluster-admin access (checked per cloud below). */
        clusterAdmins: commaList.optional(),
        /** DNS domain the ingress gateway serves, e.g. dev.example.com. */
        ingressDomain: z
            .string()
            .regex(/^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,63}$/, "must be a DNS domain such as dev.example.com")
            .optional(),
        /** Account email for ACME (Let's Encrypt) certificates. */
        acmeEmail: z.email("must be an email address").optional(),
        /** The cloud network (VNet / VPC); a /16 the subnets are carved from. */
        networkCidr: cidrSetting(NETWORK_PREFIXES, "10.40.0.0/16").optional(),
        /** Kubernetes service addresses (AKS); must not overlap the network. */
        serviceCidr: cidrSetting(SERVICE_PREFIXES, "10.0.0.0/16").optional(),
        /** Worker nodes, overriding the template's profile. */
        nodeMin: nodeCount.optional(),
        nodeMax: nodeCount.optional(),
        /** Protect stateful resources from deletion (always on in prod). */
        protect: z.enum(["true", "false"]).transform((v) => v === "true").optional(),
        vaultAddress: z.url({ protocol: /^https?$/, error: "must be an http(s) URL such as http://127.0.0.1:8200" }).optional(),
        consulAddress: z.url({ protocol: /^https$/, error: "must be an https URL such as https://127.0.0.1:8501" }).optional(),
    })
    .strict()
    .superRefine((c, ctx) => {
        // Each template makes its own names (local[-x], review-<id>, dev[-x], …): the template registry says which.
        if (!namePattern(c.template).test(c.name)) {
            ctx.addIssue({ code: "custom", path: ["name"], message: `unknown environment name for the ${c.template} template; allowed: ${nameText(c.template)}` });
        }
        checkPlannedDestruction(c, ctx);
        if (c.nodeMin !== undefined && c.nodeMax !== undefined && c.nodeMin > c.nodeMax) {
            ctx.addIssue({ code: "custom", path: ["nodeMin"], message: `must not exceed platform:nodeMax (${c.nodeMax})` });
        }
        checkNodeCountsAgainstProfile(c, ctx);
        if (TEMPLATES[c.template].forceProtection && c.protect === false) {
            ctx.addIssue({ code: "custom", path: ["protect"], message: `${c.template} must protect its stateful resources; allowed: true (or unset)` });
        }
        const network = c.networkCidr ? parseCidr(c.networkCidr) : undefined;
        const services = c.serviceCidr ? parseCidr(c.serviceCidr) : undefined;
        if (network && services && cidrsOverlap(network, services)) {
            ctx.addIssue({ code: "custom", path: ["serviceCidr"], message: `overlaps platform:networkCidr (${c.networkCidr}); the ranges must be disjoint` });
        }
        if (TEMPLATES[c.template].kind !== "cloud") {
            return;
        }
        // Cloud environments need to know where they run and who administers them.
        for (const key of ["cloud", "region", "clusterAdmins", "ingressDomain", "acmeEmail"] as const) {
            if (c[key] === undefined) {
                ctx.addIssue({ code: "custom", path: [key], message: `it is required for the ${c.template} template` });
            }
        }
        if (c.cloud && c.region && !CLOUD_REGIONS[c.cloud].includes(c.region)) {
            ctx.addIssue({ code: "custom", path: ["region"], message: `allowed for ${c.cloud}: ${CLOUD_REGIONS[c.cloud].join(", ")}` });
        }
        if (c.clusterAdmins !== undefined && c.clusterAdmins.length === 0) {
            ctx.addIssue({ code: "custom", path: ["clusterAdmins"], message: "must name at least one administrator (comma-separated)" });
        }
        if (c.cloud && c.clusterAdmins) {
            const { pattern, allowed } = CLUSTER_ADMIN[c.cloud];
            for (const admin of c.clusterAdmins.filter((a) => !pattern.test(a))) {
                ctx.addIssue({ code: "custom", path: ["clusterAdmins"], message: `"${admin}" is not an administrator on ${c.cloud}; allowed for ${c.cloud}: ${allowed}` });
            }
        }
        if (c.kubernetesTarget === "render") {
            ctx.addIssue({ code: "custom", path: ["kubernetesTarget"], message: `allowed for the ${c.template} template: auto, apply (a cloud cluster is always applied to)` });
        }
    });

type ConfigShape = {
    template: EnvironmentTemplate;
    plannedDestruction?: string;
    nodeMin?: number;
    nodeMax?: number;
};

/**
 * Node counts as the cloud templates will use them (environments/profiles.ts
 * fills what the stack leaves unset from the template's profile): a nodeMax
 * below the template's minimum, or a production pool of one node, would
 * otherwise only fail in the cluster component, after resources are registered.
 */
function checkNodeCountsAgainstProfile(c: ConfigShape, ctx: z.RefinementCtx): void {
    const { profile } = TEMPLATES[c.template];
    if (profile === undefined) {
        return;
    }
    if (c.nodeMin === undefined && c.nodeMax !== undefined && c.nodeMax < profile.nodes.min) {
        ctx.addIssue({
            code: "custom",
            path: ["nodeMax"],
            message: `is below the ${c.template} template's minimum of ${profile.nodes.min} nodes; set platform:nodeMin too, or allowed: ${profile.nodes.min} to 100`,
        });
    }
    if (profile.production && c.nodeMin !== undefined && c.nodeMin < 2) {
        ctx.addIssue({ code: "custom", path: ["nodeMin"], message: `${c.template} runs at least 2 nodes; allowed: 2 to 100` });
    }
}

/** Planned destruction: a real date, not in the past; a template with a lifetime (review) needs one within it. */
function checkPlannedDestruction(c: ConfigShape, ctx: z.RefinementCtx, now = new Date()): void {
    const today = now.toISOString().slice(0, 10);
    const maxDays = TEMPLATES[c.template].maxLifetimeDays;
    if (c.plannedDestruction === undefined) {
        if (maxDays !== undefined) {
            ctx.addIssue({ code: "custom", path: ["plannedDestruction"], message: `it is required for the ${c.template} template (a date within ${maxDays} days)` });
        }
        return;
    }
    if (c.plannedDestruction < today) {
        ctx.addIssue({ code: "custom", path: ["plannedDestruction"], message: `is in the past (today is ${today})` });
        return;
    }
    if (maxDays === undefined) {
        return;
    }
    const latest = new Date(now.getTime() + maxDays * 86_400_000).toISOString().slice(0, 10);
    if (c.plannedDestruction > latest) {
        ctx.addIssue({ code: "custom", path: ["plannedDestruction"], message: `is more than ${maxDays} days away; allowed: ${today} to ${latest}` });
    }
}

export type EnvironmentConfig = z.infer<typeof environmentConfigSchema>;

/**
 * Raised for bad stack configuration; the message names every bad key.
 * A RunError is reported by the Pulumi runtime as its message alone, without
 * a stack trace.
 */
export class ConfigError extends pulumi.RunError {
    constructor(message: string) {
        super(message);
        this.name = "ConfigError";
    }
}

/** Every key the schema knows, without the `platform:` prefix, in declaration order. */
export const CONFIG_KEYS: readonly string[] = Object.keys(environmentConfigSchema.shape);

/** Edit distance (Levenshtein; two neighbours swapped count as one edit). */
export function editDistance(a: string, b: string): number {
    const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
    for (let i = 1; i <= a.length; i++) {
        for (let j = 1; j <= b.length; j++) {
            const cost = a[i - 1] === b[j - 1] ? 0 : 1;
            d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
                d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
            }
        }
    }
    return d[a.length][b.length];
}

/**
 * The known key an unknown one was probably meant to be: at most 3 edits away
 * (case ignored) and fewer edits than half its length, so that a short,
 * unrelated word is not "corrected". Ties go to the first declared key.
 */
export function closestKey(key: string): string | undefined {
    let best: { key: string; distance: number } | undefined;
    for (const known of CONFIG_KEYS) {
        const distance = editDistance(key.toLowerCase(), known.toLowerCase());
        if (distance <= 3 && distance < known.length / 2 && (best === undefined || distance < best.distance)) {
            best = { key: known, distance };
        }
    }
    return best?.key;
}

function describeUnknownKey(key: string): string {
    const suggestion = closestKey(key);
    // The value is not shown: an unknown key may hold a secret.
    return `${KEY_PREFIX}:${key}: is not a setting; ${suggestion ? `did you mean ${KEY_PREFIX}:${suggestion}? ` : ""}` +
        `allowed: ${CONFIG_KEYS.map((k) => `${KEY_PREFIX}:${k}`).join(", ")}`;
}

function describeIssue(issue: z.core.$ZodIssue, raw: Record<string, unknown>): string[] {
    if (issue.code === "unrecognized_keys") {
        return issue.keys.map(describeUnknownKey);
    }
    const key = issue.path.length > 0 ? `${KEY_PREFIX}:${issue.path.join(".")}` : KEY_PREFIX;
    const value = issue.path.length > 0 ? raw[String(issue.path[0])] : undefined;
    const got = value === undefined ? "it is not set" : `got ${JSON.stringify(value)}`;
    let allowed = issue.message;
    if (issue.code === "invalid_value" && "values" in issue) {
        allowed = `allowed: ${issue.values.map((v) => String(v)).join(", ")}`;
    } else if (issue.code === "invalid_type" && value === undefined) {
        allowed = "it is required";
    }
    return [`${key}: ${allowed} (${got})`];
}

/** Validates raw config values; throws a ConfigError listing every problem. */
export function parseEnvironmentConfig(raw: Record<string, unknown>): EnvironmentConfig {
    const result = environmentConfigSchema.safeParse(raw);
    if (!result.success) {
        const lines = result.error.issues.flatMap((issue) => describeIssue(issue, raw)).map((line) => `  - ${line}`);
        throw new ConfigError(`invalid stack configuration:\n${lines.join("\n")}`);
    }
    return result.data;
}

/**
 * Reads every `platform:*` key of the current stack and validates them. All of
 * the stack's config is read (`pulumi.runtime.allConfig()`, `namespace:key` →
 * value, the same map `pulumi.Config` reads), not just the keys the schema
 * knows, so that a misspelt key is refused instead of silently ignored. Keys of
 * other namespaces (`kubernetes:`, `pulumi:`, …) are left alone.
 */
export function loadEnvironmentConfig(stackConfig: Record<string, string> = pulumi.runtime.allConfig()): EnvironmentConfig {
    const raw: Record<string, unknown> = {};
    for (const [fullKey, value] of Object.entries(stackConfig)) {
        if (!fullKey.startsWith(`${KEY_PREFIX}:`)) {
            continue;
        }
        const key = fullKey.slice(KEY_PREFIX.length + 1);
        // Pulumi.yaml declares optional keys with "" as their default: "" means "not set".
        // An unknown key is refused whatever its value.
        if (value !== "" || !CONFIG_KEYS.includes(key)) {
            raw[key] = value;
        }
    }
    // A mirror given in the environment (offline runs, CI) wins over the stack's.
    if (process.env.PLATFORM_CHART_MIRROR) {
        raw.chartMirror = process.env.PLATFORM_CHART_MIRROR;
    }
    // The environment is named after its stack unless the config says otherwise.
    raw.name ??= pulumi.getStack();
    return parseEnvironmentConfig(raw);
}
