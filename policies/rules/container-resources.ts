import { ResourceValidationPolicy } from "@pulumi/policy";

import { workloadContainers } from "./kubernetes";

/**
 * What every container declares. A CPU limit is not required: CPU is
 * compressible, and a limit throttles bursty control planes without
 * protecting neighbours (the request does that). Memory is not compressible,
 * so its limit is required.
 */
const REQUIRED = [
    ["requests", "cpu"],
    ["requests", "memory"],
    ["limits", "memory"],
] as const;

/** Containers declare CPU and memory requests and a memory limit. */
export const containerResources: ResourceValidationPolicy = {
    name: "container-resources",
    description: "Containers declare CPU and memory requests and a memory limit.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        for (const c of workloadContainers(args.type, args.props)) {
            const missing: string[] = [];
            for (const [kind, r] of REQUIRED) {
                if (!c.resources?.[kind]?.[r]) {
                    missing.push(`${kind}.${r}`);
                }
            }
            if (missing.length > 0) {
                reportViolation(`${args.urn} (${args.type}): container "${c.name ?? "?"}" has no ${missing.join(", ")}`);
            }
        }
    },
};
