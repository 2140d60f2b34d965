import { ResourceValidationPolicy } from "@pulumi/policy";

import { workloadContainers } from "./kubernetes";

/** True when an image reference names a digest, or a tag other than `latest`. */
export function isPinnedImage(image: string): boolean {
    if (/@sha256:[a-f0-9]{64}$/.test(image)) {
        return true;
    }
    // The tag follows the last ':' after the last '/' (a registry port is not a tag).
    const lastSegment = image.slice(image.lastIndexOf("/") + 1);
    const colon = lastSegment.lastIndexOf(":");
    if (colon === -1) {
        return false;
    }
    const tag = lastSegment.slice(colon + 1);
    return tag !== "" && tag !== "latest";
}

/**
 * Istio's gateway chart sets `image: auto`; the injection webhook replaces it
 * with the proxy image istiod pins. Allowed only on pods labelled for injection.
 */
export const ISTIO_INJECTED_IMAGE = "auto";

function injectedByIstio(props: unknown): boolean {
    const labels = (props as { spec?: { template?: { metadata?: { labels?: Record<string, string> } } } }).spec?.template?.metadata?.labels;
    return labels?.["sidecar.istio.io/inject"] === "true";
}

/** Containers run images pinned to a tag (not `latest`) or a digest. */
export const containerImagePinned: ResourceValidationPolicy = {
    name: "container-image-pinned",
    description: "Containers run images pinned to a tag other than latest, or to a digest.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        const injected = injectedByIstio(args.props);
        for (const c of workloadContainers(args.type, args.props)) {
            if (injected && c.image === ISTIO_INJECTED_IMAGE) {
                continue;
            }
            if (!c.image || !isPinnedImage(c.image)) {
                reportViolation(
                    `${args.urn} (${args.type}): container "${c.name ?? "?"}" image "${c.image ?? ""}" ` +
                        `is not pinned to a tag or digest`,
                );
            }
        }
    },
};
