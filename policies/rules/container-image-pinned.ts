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

/** Containers run images pinned to a tag (not `latest`) or a digest. */
export const containerImagePinned: ResourceValidationPolicy = {
    name: "container-image-pinned",
    description: "Containers run images pinned to a tag other than latest, or to a digest.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        for (const c of workloadContainers(args.type, args.props)) {
            if (!c.image || !isPinnedImage(c.image)) {
                reportViolation(
                    `${args.urn} (${args.type}): container "${c.name ?? "?"}" image "${c.image ?? ""}" ` +
                        `is not pinned to a tag or digest`,
                );
            }
        }
    },
};
