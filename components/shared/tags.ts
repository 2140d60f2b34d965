/**
 * The tagging strategy: every taggable cloud resource carries these tags and
 * every Kubernetes object carries the matching labels. The policy pack
 * (policies/) enforces the same keys.
 */

/** The tags every environment must provide. */
export interface StandardTags {
    /** Team or person accountable for the resources (an email address). */
    owner: string;
    /** Environment name, e.g. `local`, `dev`, `prod`, `review-123`. */
    environment: string;
    /** Cost centre the spend is booked to. */
    costCenter: string;
    /** Where the code that deploys the resources lives (repository URL or path). */
    repository: string;
}

/** Tag keys as they appear on cloud resources. */
export const TAG_KEYS = {
    owner: "owner",
    environment: "environment",
    costCenter: "cost-center",
    managedBy: "managed-by",
    repository: "repository",
} as const;

export const MANAGED_BY = "pulumi";

/**
 * Tags for a taggable cloud resource: `extra` first, then the required tags,
 * so a component or caller can never drop or override a required tag.
 */
export function cloudTags(tags: StandardTags, extra: Record<string, string> = {}): Record<string, string> {
    return {
        ...extra,
        [TAG_KEYS.owner]: tags.owner,
        [TAG_KEYS.environment]: tags.environment,
        [TAG_KEYS.costCenter]: tags.costCenter,
        [TAG_KEYS.managedBy]: MANAGED_BY,
        [TAG_KEYS.repository]: tags.repository,
    };
}

/** Label keys on Kubernetes objects (label values allow no `@` or `/`). */
export const LABEL_KEYS = {
    name: "app.kubernetes.io/name",
    instance: "app.kubernetes.io/instance",
    component: "app.kubernetes.io/component",
    partOf: "app.kubernetes.io/part-of",
    managedBy: "app.kubernetes.io/managed-by",
    environment: "platform.example.com/environment",
    owner: "platform.example.com/owner",
    costCenter: "platform.example.com/cost-center",
} as const;

/** Kubernetes label values: at most 63 characters of [A-Za-z0-9._-], alphanumeric at both ends. */
export function toLabelValue(value: string): string {
    const cleaned = value
        .replace(/@/g, "_at_")
        .replace(/[^A-Za-z0-9._-]/g, "_")
        .replace(/^[^A-Za-z0-9]+/, "")
        .slice(0, 63)
        .replace(/[^A-Za-z0-9]+$/, "");
    return cleaned;
}

/**
 * Standard labels for a Kubernetes object made by a component. Required keys
 * are merged last, like cloud tags.
 */
export function standardLabels(
    tags: StandardTags,
    app: { name: string; instance: string; component?: string },
    extra: Record<string, string> = {},
): Record<string, string> {
    const labels: Record<string, string> = {
        ...extra,
        [LABEL_KEYS.name]: toLabelValue(app.name),
        [LABEL_KEYS.instance]: toLabelValue(app.instance),
        [LABEL_KEYS.partOf]: "platform",
        [LABEL_KEYS.managedBy]: MANAGED_BY,
        [LABEL_KEYS.environment]: toLabelValue(tags.environment),
        [LABEL_KEYS.owner]: toLabelValue(tags.owner),
        [LABEL_KEYS.costCenter]: toLabelValue(tags.costCenter),
    };
    if (app.component) {
        labels[LABEL_KEYS.component] = toLabelValue(app.component);
    }
    return labels;
}
