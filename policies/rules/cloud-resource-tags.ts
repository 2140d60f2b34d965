import * as fs from "node:fs";
import * as path from "node:path";
import { ResourceValidationPolicy } from "@pulumi/policy";

/** The tagging strategy, as policy config (`configSchema`); the defaults are the platform's. */
export interface TaggingConfig {
    /** Tags every taggable AWS and Azure resource carries. */
    requiredTags: string[];
    /** Regular expression each tag's value must match, by tag. */
    tagPatterns: Record<string, string>;
}

export const DEFAULT_TAGGING: TaggingConfig = {
    requiredTags: ["owner", "environment", "cost-center", "managed-by", "repository"],
    tagPatterns: {
        owner: "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$",
        // The names the templates make (environments/template-registry.ts): local, dev, staging
        // and prod with an optional -<suffix> (prod-eu), review-<id>; a test checks they agree.
        environment: "^((local|dev|staging|prod)(-[a-z0-9-]+)?|review-[a-z0-9-]+)$",
        "cost-center": "^[A-Z]{2,5}-[0-9]{3,6}$",
        "managed-by": "^pulumi$",
        repository: "^\\S+$",
    },
};

interface TaggableIndex {
    types: string[];
}

let taggable: Set<string> | undefined;

/**
 * Whether a type takes tags, from the index generated from the provider
 * SDKs (policies/scripts/taggable-types.ts), never from a hand-kept list.
 */
export function isTaggable(type: string): boolean {
    if (!taggable) {
        const file = path.join(__dirname, "..", "generated", "taggable-types.json");
        taggable = new Set((JSON.parse(fs.readFileSync(file, "utf8")) as TaggableIndex).types);
    }
    return taggable.has(type);
}

/** The problems with one resource's tags under a tagging config (empty when compliant). */
export function tagProblems(tags: Record<string, unknown> | undefined, config: TaggingConfig): string[] {
    const problems: string[] = [];
    for (const key of config.requiredTags) {
        const value = tags?.[key];
        if (value === undefined || value === "") {
            problems.push(`tag "${key}" is missing`);
            continue;
        }
        const pattern = config.tagPatterns[key];
        if (typeof value === "string" && pattern && !new RegExp(pattern).test(value)) {
            problems.push(`tag "${key}" is "${value}", which does not match ${pattern}`);
        }
    }
    return problems;
}

/** Every taggable AWS and Azure resource carries the required tags, with well-formed values. */
export const cloudResourceTags: ResourceValidationPolicy = {
    name: "cloud-resource-tags",
    description: "Taggable AWS and Azure resources carry owner, environment, cost-center, managed-by and repository tags with valid values.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            requiredTags: { type: "array", items: { type: "string" }, default: DEFAULT_TAGGING.requiredTags },
            tagPatterns: { type: "object", additionalProperties: { type: "string" }, default: DEFAULT_TAGGING.tagPatterns },
        },
    },
    validateResource: (args, reportViolation) => {
        if (!isTaggable(args.type)) {
            return;
        }
        const config = { ...DEFAULT_TAGGING, ...args.getConfig<Partial<TaggingConfig>>() };
        const problems = tagProblems(args.props.tags as Record<string, unknown> | undefined, config);
        if (problems.length > 0) {
            reportViolation(`${args.urn} (${args.type}): ${problems.join("; ")}`);
        }
    },
};
