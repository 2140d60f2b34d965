import { ResourceValidationPolicy } from "@pulumi/policy";

/** Labels every Kubernetes object made by the platform carries (see components/shared/tags.ts). */
export const REQUIRED_KUBERNETES_LABELS = [
    "app.kubernetes.io/managed-by",
    "app.kubernetes.io/part-of",
    "platform.example.com/environment",
    "platform.example.com/owner",
    "platform.example.com/cost-center",
] as const;

interface KubernetesObject {
    metadata?: { labels?: Record<string, string> };
}

/** Kubernetes objects carry the platform's standard labels. */
export const kubernetesStandardLabels: ResourceValidationPolicy = {
    name: "kubernetes-standard-labels",
    description: "Kubernetes objects carry the platform's standard labels (managed-by, part-of, environment, owner, cost-center).",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        // Charts and manifest files are components, not objects; their objects are checked one by one.
        if (!args.type.startsWith("kubernetes:") || args.type.startsWith("kubernetes:helm.sh/") || args.type.startsWith("kubernetes:yaml/")) {
            return;
        }
        if (args.type === "pulumi:providers:kubernetes") {
            return;
        }
        const labels = (args.props as KubernetesObject).metadata?.labels ?? {};
        const missing = REQUIRED_KUBERNETES_LABELS.filter((key) => !labels[key]);
        if (missing.length > 0) {
            reportViolation(`${args.urn} (${args.type}) is missing the labels: ${missing.join(", ")}`);
        }
    },
};
