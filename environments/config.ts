import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";

import { cidrsOverlap, parseCidr } from "../components/shared/cidr";

/** Environment templates this repository can build. */
export const ENVIRONMENT_TEMPLATES = ["local", "review", "dev", "staging", "prod"] as const;

/** How long a review environment may live. */
export const REVIEW_MAX_DAYS = 30;

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
export type EnvironmentTemplate = (typeof ENVIRONMENT_TEMPLATES)[number];

/** How the environment's Kubernetes objects are delivered. `auto`: apply when the kubeconfig's cluster answers, else render. */
export const KUBERNETES_TARGETS = ["auto", "apply", "render"] as const;

const KEY_PREFIX = "platform";

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
        description: z.string().min(1).max(500),
        owner: z.email("must be an email address"),
        costCenter: z.string().regex(/^[A-Z]{2,5}-[0-9]{3,6}$/, "must look like ABC-1234 (2-5 capitals, '-', 3-6 digits)"),
        repository: z.string().min(1),
        kubernetesTarget: z.enum(KUBERNETES_TARGETS).default("auto"),
        kubeContext: z.string().min(1).optional(),
        renderDirectory: z.string().min(1).default("rendered"),
        plannedDestruction: z.iso.date("must be a date as YYYY-MM-DD").optional(),
        chartMirror: z.string().min(1).optional(),
        cloud: z.enum(CLOUDS).optional(),
        region: z.string().min(1).optional(),
        /** Azure: Entra ID groups that administer the cluster. AWS: IAM role ARNs with cluster-admin access. */
        clusterAdmins: commaList.optional(),
        /** DNS domain the ingress gateway serves, e.g. dev.example.com. */
        ingressDomain: z
            .string()
            .regex(/^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,63}$/, "must be a DNS domain such as dev.example.com")
            .optional(),
        /** Account email for ACME (Let's Encrypt) certificates. */
        acmeEmail: z.email("must be an email address").optional(),
        /** The cloud network (VNet / VPC); a /16 the subnets are carved from. */
        networkCidr: z
            .string()
            .refine((v) => parseCidr(v)?.prefix === 16, "must be an IPv4 /16 network such as 10.40.0.0/16")
            .optional(),
        /** Kubernetes service addresses (AKS); must not overlap the network. */
        serviceCidr: z
            .string()
            .refine((v) => {
                const c = parseCidr(v);
                return c !== undefined && c.prefix >= 12 && c.prefix <= 24;
            }, "must be an IPv4 network from /12 to /24 such as 10.0.0.0/16")
            .optional(),
        /** Worker nodes, overriding the template's profile. */
        nodeMin: z.coerce.number().int("must be a whole number").min(1, "must be from 1 to 100").max(100, "must be from 1 to 100").optional(),
        nodeMax: z.coerce.number().int("must be a whole number").min(1, "must be from 1 to 100").max(100, "must be from 1 to 100").optional(),
        /** Protect stateful resources from deletion (always on in prod). */
        protect: z.enum(["true", "false"]).transform((v) => v === "true").optional(),
        vaultAddress: z.url({ protocol: /^https?$/, error: "must be an http(s) URL such as http://127.0.0.1:8200" }).optional(),
        consulAddress: z.url({ protocol: /^https$/, error: "must be an https URL such as https://127.0.0.1:8501" }).optional(),
    })
    .strict()
    .superRefine((c, ctx) => {
        // The name says which template made it: local[-x], review-<id>, dev[-x], staging[-x], prod[-x].
        const namePattern = c.template === "review" ? /^review-[a-z0-9-]+$/ : new RegExp(`^${c.template}(-[a-z0-9-]+)?$`);
        if (!namePattern.test(c.name)) {
            const allowed = c.template === "review" ? "review-<id>" : `${c.template} or ${c.template}-<suffix>`;
            ctx.addIssue({ code: "custom", path: ["name"], message: `unknown environment name for the ${c.template} template; allowed: ${allowed}` });
        }
        checkPlannedDestruction(c, ctx);
        if (c.nodeMin !== undefined && c.nodeMax !== undefined && c.nodeMin > c.nodeMax) {
            ctx.addIssue({ code: "custom", path: ["nodeMin"], message: `must not exceed platform:nodeMax (${c.nodeMax})` });
        }
        if (c.template === "prod" && c.protect === false) {
            ctx.addIssue({ code: "custom", path: ["protect"], message: "prod must protect its stateful resources; allowed: true (or unset)" });
        }
        const network = c.networkCidr ? parseCidr(c.networkCidr) : undefined;
        const services = c.serviceCidr ? parseCidr(c.serviceCidr) : undefined;
        if (network && services && cidrsOverlap(network, services)) {
            ctx.addIssue({ code: "custom", path: ["serviceCidr"], message: `overlaps platform:networkCidr (${c.networkCidr}); the ranges must be disjoint` });
        }
        if (c.template === "local" || c.template === "review") {
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
        if (c.kubernetesTarget === "render") {
            ctx.addIssue({ code: "custom", path: ["kubernetesTarget"], message: `allowed for the ${c.template} template: auto, apply (a cloud cluster is always applied to)` });
        }
    });

type ConfigShape = {
    template: string;
    plannedDestruction?: string;
};

/** Planned destruction: a real date, not in the past; review environments need one within REVIEW_MAX_DAYS. */
function checkPlannedDestruction(c: ConfigShape, ctx: z.RefinementCtx, now = new Date()): void {
    const today = now.toISOString().slice(0, 10);
    if (c.plannedDestruction === undefined) {
        if (c.template === "review") {
            ctx.addIssue({ code: "custom", path: ["plannedDestruction"], message: `it is required for the review template (a date within ${REVIEW_MAX_DAYS} days)` });
        }
        return;
    }
    if (c.plannedDestruction < today) {
        ctx.addIssue({ code: "custom", path: ["plannedDestruction"], message: `is in the past (today is ${today})` });
        return;
    }
    const latest = new Date(now.getTime() + REVIEW_MAX_DAYS * 86_400_000).toISOString().slice(0, 10);
    if (c.template === "review" && c.plannedDestruction > latest) {
        ctx.addIssue({ code: "custom", path: ["plannedDestruction"], message: `is more than ${REVIEW_MAX_DAYS} days away; allowed: ${today} to ${latest}` });
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

function describeIssue(issue: z.core.$ZodIssue, raw: Record<string, unknown>): string {
    const key = issue.path.length > 0 ? `${KEY_PREFIX}:${issue.path.join(".")}` : KEY_PREFIX;
    const value = issue.path.length > 0 ? raw[String(issue.path[0])] : undefined;
    const got = value === undefined ? "it is not set" : `got ${JSON.stringify(value)}`;
    let allowed = issue.message;
    if (issue.code === "invalid_value" && "values" in issue) {
        allowed = `allowed: ${issue.values.map((v) => String(v)).join(", ")}`;
    } else if (issue.code === "unrecognized_keys") {
        return `${KEY_PREFIX}: unknown keys ${issue.keys.map((k) => `${KEY_PREFIX}:${k}`).join(", ")} ` +
            `(allowed: ${Object.keys(environmentConfigSchema.shape).map((k) => `${KEY_PREFIX}:${k}`).join(", ")})`;
    } else if (issue.code === "invalid_type" && value === undefined) {
        allowed = "it is required";
    }
    return `${key}: ${allowed} (${got})`;
}

/** Validates raw config values; throws a ConfigError listing every problem. */
export function parseEnvironmentConfig(raw: Record<string, unknown>): EnvironmentConfig {
    const result = environmentConfigSchema.safeParse(raw);
    if (!result.success) {
        const lines = result.error.issues.map((issue) => `  - ${describeIssue(issue, raw)}`);
        throw new ConfigError(`invalid stack configuration:\n${lines.join("\n")}`);
    }
    return result.data;
}

/** Reads the `platform:*` keys of the current stack and validates them. */
export function loadEnvironmentConfig(config = new pulumi.Config(KEY_PREFIX)): EnvironmentConfig {
    const raw: Record<string, unknown> = {};
    for (const key of Object.keys(environmentConfigSchema.shape)) {
        const value = config.get(key);
        // Pulumi.yaml declares optional keys with "" as their default.
        if (value !== undefined && value !== "") {
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
