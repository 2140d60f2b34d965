import type * as pulumi from "@pulumi/pulumi";

import { StandardTags } from "../shared/tags";
import { DeliveryMode } from "./types";

export interface ExistingClusterArgs {
    /** `apply` to a live cluster, or `render` manifests to `renderDirectory`. */
    deliveryMode: DeliveryMode;
    /** Kubeconfig contents (stored as a secret). Required for `apply`; not allowed for `render`. */
    kubeconfig?: pulumi.Input<string>;
    /** Context within the kubeconfig. Default: the kubeconfig's current context. */
    context?: string;
    /** Display name of the cluster for the environment record. Default: the context, or the component name. */
    clusterName?: string;
    /** Where rendered manifests go. Required for `render`. */
    renderDirectory?: string;
    /** The environment's standard tags (an existing cluster has no taggable cloud resources; kept for records). */
    tags: StandardTags;
}

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
