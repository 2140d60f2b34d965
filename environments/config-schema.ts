/**
 * The stack configuration's schema, one per kind of template (the template
 * registry's `kind`): the local and review templates take the settings of an
 * existing (or no) cluster, the cloud templates those of the cloud foundation
 * they build. A setting of the other kind is refused, not ignored, and the
 * parsed type says which settings a template has: cloud code reads
 * `config.region` as a string, with no `!`.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { z } from "zod";

import { AKS_LOCATIONS } from "../components/cluster/aks-locations";
import { EKS_REGIONS } from "../components/cluster/eks-args";
import { IMAGE_ALLOWED, isImagePinnedByDigest, MANAGER_REPLICAS } from "../components/manager/args";
import { Cidr, cidrsOverlap, hasLeadingZeros, parseCidr } from "../components/shared/cidr";
import { ENTRA_OBJECT_ID, IAM_ROLE_ARN } from "../components/shared/identifiers";
import { ChartValues, chartValuesKeyIssues, chartValuesSetting } from "./chart-values-schema";
import { CLOUD_TEMPLATES, ENVIRONMENT_TEMPLATES, EnvironmentTemplate, isCloudTemplate, LOCAL_TEMPLATES, namePattern, nameText, PROFILES, TEMPLATES } from "./template-registry";

/** Clouds the long-lived environments run on. */
export const CLOUDS = ["azure", "aws"] as const;
export type Cloud = (typeof CLOUDS)[number];

/** The regions of each cloud: the cluster components' own lists, so that the loader and the component never disagree. */
export const CLOUD_REGIONS: Record<Cloud, readonly string[]> = { azure: AKS_LOCATIONS, aws: EKS_REGIONS };

/** How the environment's Kubernetes objects are delivered. `auto`: apply when the kubeconfig's cluster answers, else render. */
export const KUBERNETES_TARGETS = ["auto", "apply", "render"] as const;

/** The repository (the project directory, Pulumi.yaml's): a relative render directory is taken from here. */
export const PROJECT_ROOT = path.resolve(__dirname, "..");

/** Comma-separated list in one config string (e.g. Entra ID group object ids). */
const commaList = z
    .string()
    .transform((v) => v.split(",").map((s) => s.trim()).filter((s) => s !== ""));

/** Node counts: digits only (no "0x10", "1e1", " 3 "), 1 to 100. */
const NODE_COUNT = "must be a whole number from 1 to 100";
const nodeCount = z
    .string({ error: NODE_COUNT })
    .refine((v) => /^[0-9]+$/.test(v) && Number(v) >= 1 && Number(v) <= 100, NODE_COUNT)
    .transform(Number);

/** Free text that must say something: whitespace alone is not a value. */
const requiredText = z.string().trim().min(1, "it is required");

/** What one cluster administrator is on each cloud. */
const CLUSTER_ADMIN: Record<Cloud, { pattern: RegExp; allowed: string }> = {
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

function cidrSetting(prefixes: { min: number; max: number }, example: string) {
    return z.string().superRefine((v, ctx) => {
        const parsed = parseConfigCidr(v, prefixes, example);
        if ("problem" in parsed) {
            ctx.addIssue({ code: "custom", message: parsed.problem });
        }
    });
}

/**
 * Why render mode may not write to `dir`, or undefined. Render mode writes
 * (and rewrites) a folder per environment there: inside the repository, or
 * in the OS temporary directory, where the engine tests' throwaway project
 * copies (test/helpers/engine.ts) and the benchmarks render. Checked on the
 * path as written (`..` resolved), not through symlinks.
 */
export function renderDirectoryProblem(dir: string, root = PROJECT_ROOT): string | undefined {
    const full = path.resolve(root, dir);
    const tmp = os.tmpdir();
    const allowed = [root, tmp, realPath(tmp)];
    const inside = (parent: string) => {
        const rel = path.relative(parent, full);
        return rel === "" || (rel !== ".." && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
    };
    return allowed.some(inside) ? undefined : `must be inside the repository (a relative path such as rendered) or the temporary directory ${tmp}`;
}

function realPath(dir: string): string {
    try {
        return fs.realpathSync(dir);
    } catch {
        return dir;
    }
}

/** Settings of every template. */
const commonFields = {
    name: z
        .string()
        .regex(/^[a-z][a-z0-9-]{1,30}[a-z0-9]$/, "must be 3-32 lower-case letters, digits or '-', starting with a letter"),
    description: requiredText.max(500),
    owner: z.email("must be an email address"),
    costCenter: z.string().regex(/^[A-Z]{2,5}-[0-9]{3,6}$/, "must look like ABC-1234 (2-5 capitals, '-', 3-6 digits)"),
    repository: requiredText,
    kubernetesTarget: z.enum(KUBERNETES_TARGETS).default("auto"),
    plannedDestruction: z.iso.date("must be a date as YYYY-MM-DD").optional(),
    chartMirror: requiredText.optional(),
    /** Protect stateful resources from deletion (always on in prod). */
    protect: z.enum(["true", "false"]).transform((v) => v === "true").optional(),
    /** Helm values merged last over the components' own, by `<component>/<release>` (chart-values-schema.ts). */
    chartValues: chartValuesSetting.optional(),
};

/** `platform:manager`: the environment manager deployed beside the bus and the database. */
export interface ManagerSetting {
    image: string;
    replicas?: number;
}

const MANAGER_KEYS = ["image", "replicas"];
const MANAGER_SHAPE = `must be a map {"image": "<${IMAGE_ALLOWED}>", "replicas": <${MANAGER_REPLICAS.min} to ${MANAGER_REPLICAS.max}, optional>}`;

/** The setting's value: a map (JSON text as Pulumi passes it, or the map itself); each problem names its key. */
export const managerSetting = z.unknown().transform((value, ctx): ManagerSetting => {
    let parsed: unknown = value;
    if (typeof value === "string") {
        try {
            parsed = JSON.parse(value);
        } catch {
            ctx.addIssue({ code: "custom", message: `${MANAGER_SHAPE} (not JSON)` });
            return z.NEVER;
        }
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
        ctx.addIssue({ code: "custom", message: MANAGER_SHAPE });
        return z.NEVER;
    }
    const map = parsed as Record<string, unknown>;
    for (const key of Object.keys(map).filter((k) => !MANAGER_KEYS.includes(k))) {
        ctx.addIssue({ code: "custom", path: [key], message: `is not a key of the setting; allowed: ${MANAGER_KEYS.join(", ")}` });
    }
    if (!isImagePinnedByDigest(map.image)) {
        const got = map.image === undefined ? "it is required" : `got ${JSON.stringify(map.image)}`;
        ctx.addIssue({ code: "custom", path: ["image"], message: `allowed: ${IMAGE_ALLOWED} (${got})` });
    }
    const replicas = map.replicas;
    if (replicas !== undefined && (typeof replicas !== "number" || !Number.isInteger(replicas) || replicas < MANAGER_REPLICAS.min || replicas > MANAGER_REPLICAS.max)) {
        ctx.addIssue({ code: "custom", path: ["replicas"], message: `allowed: a whole number from ${MANAGER_REPLICAS.min} to ${MANAGER_REPLICAS.max} (got ${JSON.stringify(replicas)})` });
    }
    return { image: map.image as string, ...(replicas === undefined ? {} : { replicas: replicas as number }) };
});

/** Settings only the local and review templates read (environments/templates/local.ts). */
const localFields = {
    kubeContext: requiredText.optional(),
    /** Where render mode writes (a folder per environment); Pulumi.yaml leaves it unset, so that a cloud stack has none. */
    renderDirectory: requiredText
        .superRefine((v, ctx) => {
            const problem = renderDirectoryProblem(v);
            if (problem !== undefined) {
                ctx.addIssue({ code: "custom", message: problem });
            }
        })
        .default("rendered"),
    /** Vault's and Consul's APIs, configured after an apply to an existing cluster. */
    vaultAddress: z.url({ protocol: /^https?$/, error: "must be an http(s) URL such as http://127.0.0.1:8200" }).optional(),
    consulAddress: z.url({ protocol: /^https$/, error: "must be an https URL such as https://127.0.0.1:8501" }).optional(),
    /** The environment manager (components/manager), off unless set. */
    manager: managerSetting.optional(),
};

/** Settings only the cloud templates read (environments/templates/cloud.ts, environments/clouds/*). */
const cloudFields = {
    cloud: z.enum(CLOUDS),
    region: requiredText,
    /** Azure: Entra ID groups that administer the cluster. AWS: IAM role ARNs with cluster-admin access (checked per cloud below). */
    clusterAdmins: commaList,
    /** DNS domain the ingress gateway serves, e.g. dev.example.com. */
    ingressDomain: z.string().regex(/^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,63}$/, "must be a DNS domain such as dev.example.com"),
    /** Account email for ACME (Let's Encrypt) certificates. */
    acmeEmail: z.email("must be an email address"),
    /** The cloud network (VNet / VPC); a /16 the subnets are carved from. */
    networkCidr: cidrSetting({ min: 16, max: 16 }, "10.40.0.0/16").optional(),
    /** Kubernetes service addresses (AKS only); must not overlap the network. */
    serviceCidr: cidrSetting({ min: 12, max: 24 }, "10.0.0.0/16").optional(),
    /** Worker nodes, overriding the template's profile. */
    nodeMin: nodeCount.optional(),
    nodeMax: nodeCount.optional(),
};

interface CommonShape {
    template: EnvironmentTemplate;
    name: string;
    plannedDestruction?: string;
    protect?: boolean;
    chartValues?: ChartValues;
}

/** Rules of every template: its names, its planned destruction, its protection, the releases its chart values name. */
function checkCommon(c: CommonShape, ctx: z.RefinementCtx): void {
    // Each template makes its own names (local[-x], review-<id>, dev[-x], …): the template registry says which.
    if (!namePattern(c.template).test(c.name)) {
        ctx.addIssue({ code: "custom", path: ["name"], message: `unknown environment name for the ${c.template} template; allowed: ${nameText(c.template)}` });
    }
    checkPlannedDestruction(c, ctx);
    if (TEMPLATES[c.template].forceProtection && c.protect === false) {
        ctx.addIssue({ code: "custom", path: ["protect"], message: `${c.template} must protect its stateful resources; allowed: true (or unset)` });
    }
    for (const { key, message } of chartValuesKeyIssues(c.chartValues, c.template)) {
        ctx.addIssue({ code: "custom", path: ["chartValues", key], message });
    }
}

/** Planned destruction: a real date, not in the past; a template with a lifetime (review) needs one within it. */
function checkPlannedDestruction(c: CommonShape, ctx: z.RefinementCtx, now = new Date()): void {
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

/** local and review: every platform service on an existing cluster, or rendered to manifests. */
export const localConfigSchema = z
    .object({ template: z.enum(LOCAL_TEMPLATES), ...commonFields, ...localFields })
    .strict()
    .superRefine(checkCommon);

const cloudObject = z.object({ template: z.enum(CLOUD_TEMPLATES), ...commonFields, ...cloudFields }).strict();
type CloudShape = z.output<typeof cloudObject>;

/** dev, staging and prod: a cloud foundation (cluster, database, KMS) of their own. */
export const cloudConfigSchema = cloudObject.superRefine((c, ctx) => {
    checkCommon(c, ctx);
    checkCloud(c, ctx);
});

/** Rules across the cloud settings: regions and administrators per cloud, networks, node counts. */
function checkCloud(c: CloudShape, ctx: z.RefinementCtx): void {
    if (!CLOUD_REGIONS[c.cloud].includes(c.region)) {
        ctx.addIssue({ code: "custom", path: ["region"], message: `allowed for ${c.cloud}: ${CLOUD_REGIONS[c.cloud].join(", ")}` });
    }
    if (c.clusterAdmins.length === 0) {
        ctx.addIssue({ code: "custom", path: ["clusterAdmins"], message: "must name at least one administrator (comma-separated)" });
    }
    const { pattern, allowed } = CLUSTER_ADMIN[c.cloud];
    for (const admin of c.clusterAdmins.filter((a) => !pattern.test(a))) {
        ctx.addIssue({ code: "custom", path: ["clusterAdmins"], message: `"${admin}" is not an administrator on ${c.cloud}; allowed for ${c.cloud}: ${allowed}` });
    }
    // EKS takes no service range from the stack: on aws the setting would be ignored.
    if (c.cloud === "aws" && c.serviceCidr !== undefined) {
        ctx.addIssue({ code: "custom", path: ["serviceCidr"], message: "does not apply on aws (EKS chooses its own service range); it is an azure (AKS) setting" });
    }
    const network = c.networkCidr ? parseCidr(c.networkCidr) : undefined;
    const services = c.serviceCidr ? parseCidr(c.serviceCidr) : undefined;
    if (network && services && cidrsOverlap(network, services)) {
        ctx.addIssue({ code: "custom", path: ["serviceCidr"], message: `overlaps platform:networkCidr (${c.networkCidr}); the ranges must be disjoint` });
    }
    if (c.nodeMin !== undefined && c.nodeMax !== undefined && c.nodeMin > c.nodeMax) {
        ctx.addIssue({ code: "custom", path: ["nodeMin"], message: `must not exceed platform:nodeMax (${c.nodeMax})` });
    }
    checkNodeCountsAgainstProfile(c, ctx);
    if (c.kubernetesTarget === "render") {
        ctx.addIssue({ code: "custom", path: ["kubernetesTarget"], message: `allowed for the ${c.template} template: auto, apply (a cloud cluster is always applied to)` });
    }
}

/**
 * Node counts as the cloud templates will use them (environments/profiles.ts
 * fills what the stack leaves unset from the template's profile): a nodeMax
 * below the template's minimum, or a production pool of one node, would
 * otherwise only fail in the cluster component, after resources are registered.
 */
function checkNodeCountsAgainstProfile(c: CloudShape, ctx: z.RefinementCtx): void {
    const profile = PROFILES[c.template];
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

/** The stack configuration, chosen by `platform:template`. Keys are Pulumi.yaml's (namespace `platform`). */
export const environmentConfigSchema = z.discriminatedUnion("template", [localConfigSchema, cloudConfigSchema]);

/**
 * Every setting, each checked on its own (no template-specific rules, the
 * cloud ones optional): what a config whose template is missing or unknown is
 * checked against, so that its other problems are still named.
 */
export const anyTemplateSchema = z
    .object({ template: z.enum(ENVIRONMENT_TEMPLATES), ...commonFields, ...localFields, ...z.object(cloudFields).partial().shape })
    .strict();

export type LocalEnvironmentConfig = z.output<typeof localConfigSchema>;
export type CloudEnvironmentConfig = z.output<typeof cloudConfigSchema>;
export type EnvironmentConfig = LocalEnvironmentConfig | CloudEnvironmentConfig;

/** Narrows a config to the cloud templates' (its cloud settings are then all there). */
export function isCloudConfig(config: EnvironmentConfig): config is CloudEnvironmentConfig {
    return isCloudTemplate(config.template);
}

/** Every key a template may set, without the `platform:` prefix, in declaration order. */
export const CONFIG_KEYS: readonly string[] = Object.keys(anyTemplateSchema.shape);

/** The settings of `template`'s kind, in declaration order. */
export function settingsOf(template: EnvironmentTemplate): readonly string[] {
    return Object.keys((isCloudTemplate(template) ? cloudConfigSchema : localConfigSchema).shape);
}

/** The settings only one kind of template has (the other kind refuses them). */
export const KIND_ONLY_KEYS: readonly string[] = [...Object.keys(localFields), ...Object.keys(cloudFields)];
