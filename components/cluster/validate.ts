import { ExistingClusterArgs } from "./existing";

const DELIVERY_MODES = ["apply", "render"] as const;

/** Throws a message naming the setting and what is allowed; no resource is touched. */
export function validateExistingClusterArgs(name: string, args: ExistingClusterArgs): void {
    if (!DELIVERY_MODES.includes(args.deliveryMode)) {
        throw new Error(
            `cluster "${name}": deliveryMode is "${String(args.deliveryMode)}"; allowed: ${DELIVERY_MODES.join(", ")}`,
        );
    }
    if (args.deliveryMode === "render") {
        if (!args.renderDirectory || args.renderDirectory.trim() === "") {
            throw new Error(`cluster "${name}": renderDirectory is required when deliveryMode is "render"`);
        }
        if (args.kubeconfig !== undefined || args.context !== undefined) {
            throw new Error(
                `cluster "${name}": kubeconfig and context cannot be set when deliveryMode is "render" ` +
                    `(the provider writes manifests and never contacts a cluster)`,
            );
        }
    }
    if (args.deliveryMode === "apply" && args.kubeconfig === undefined) {
        throw new Error(`cluster "${name}": kubeconfig is required when deliveryMode is "apply"`);
    }
}
