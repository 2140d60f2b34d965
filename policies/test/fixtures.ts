// Compliant fixtures; tests break one field at a time.
import { REQUIRED_KUBERNETES_LABELS } from "../rules/kubernetes-standard-labels";

export const compliantLabels = (): Record<string, string> =>
    Object.fromEntries(REQUIRED_KUBERNETES_LABELS.map((k) => [k, "x"]));

export function compliantDeployment() {
    return {
        metadata: { name: "api", labels: compliantLabels() },
        spec: {
            template: {
                spec: {
                    initContainers: [
                        {
                            name: "migrate",
                            image: "registry.example.com/api-migrate:1.4.2",
                            resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { cpu: "100m", memory: "64Mi" } },
                        },
                    ],
                    containers: [
                        {
                            name: "api",
                            image: "registry.example.com:5000/team/api@sha256:" + "a".repeat(64),
                            resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "1", memory: "256Mi" } },
                        },
                    ],
                },
            },
        },
    };
}
