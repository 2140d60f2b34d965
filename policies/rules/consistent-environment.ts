import { StackValidationPolicy } from "@pulumi/policy";

interface Tagged {
    tags?: Record<string, string>;
    metadata?: { labels?: Record<string, string> };
}

/**
 * A tag value as a Kubernetes label carries it (labels allow no `@` or `/`):
 * the same encoding as toLabelValue in components/shared/tags.ts, so a tag
 * and a label of the same owner compare equal.
 */
export function asLabelValue(value: string): string {
    return value
        .replace(/@/g, "_at_")
        .replace(/[^A-Za-z0-9._-]/g, "_")
        .replace(/^[^A-Za-z0-9]+/, "")
        .slice(0, 63)
        .replace(/[^A-Za-z0-9]+$/, "");
}

/** The environment and owner a resource names, by tag (cloud) or label (Kubernetes), in label form. */
function identityOf(props: unknown): { environment?: string; owner?: string } {
    const p = props as Tagged;
    const environment = p.tags?.environment ?? p.metadata?.labels?.["platform.example.com/environment"];
    const owner = p.tags?.owner ?? p.metadata?.labels?.["platform.example.com/owner"];
    return {
        environment: environment === undefined ? undefined : asLabelValue(environment),
        owner: owner === undefined ? undefined : asLabelValue(owner),
    };
}

/**
 * One stack is one environment with one owner: every resource that names an
 * environment or an owner names the same ones, so records and costs add up.
 */
export const consistentEnvironment: StackValidationPolicy = {
    name: "consistent-environment",
    description: "Every tagged or labelled resource of a stack names the same environment and owner.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        for (const key of ["environment", "owner"] as const) {
            const seen = new Map<string, string[]>();
            for (const r of args.resources) {
                const value = identityOf(r.props)[key];
                if (value !== undefined) {
                    seen.set(value, [...(seen.get(value) ?? []), r.urn]);
                }
            }
            if (seen.size > 1) {
                const summary = [...seen.entries()].map(([v, urns]) => `"${v}" (${urns.length}, e.g. ${urns[0]})`).join(", ");
                reportViolation(`resources name ${seen.size} different ${key}s: ${summary}`);
            }
        }
    },
};
