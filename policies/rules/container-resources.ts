import { ResourceValidationPolicy } from "@pulumi/policy";

import { workloadContainers } from "./kubernetes";

const RESOURCES = ["cpu", "memory"] as const;

/** Containers declare CPU and memory requests and limits. */
export const containerResources: ResourceValidationPolicy = {
    name: "container-resources",
    description: "Containers declare CPU and memory requests and limits.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        for (const c of workloadContainers(args.type, args.props)) {
            const missing: string[] = [];
            for (const kind of ["requests", "limits"] as const) {
                for (const r of RESOURCES) {
                    if (!c.resources?.[kind]?.[r]) {
                        missing.push(`${kind}.${r}`);
                    }
                }
            }
            if (missing.length > 0) {
                reportViolation(`${args.urn} (${args.type}): container "${c.name ?? "?"}" has no ${missing.join(", ")}`);
            }
        }
    },
};
