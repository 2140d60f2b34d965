import { CloudEnvironmentConfig } from "./config";
import { CloudTemplate, EnvironmentProfile, PROFILES, TEMPLATES } from "./template-registry";

// The profiles live in the template registry (config.ts reads them there, so
// this file and config.ts no longer import each other); kept importable from here.
export type { CloudTemplate, EnvironmentProfile };
export { PROFILES };

/** A template's profile with the stack's overrides (node counts, protection) applied. */
export function profileFor(config: CloudEnvironmentConfig): EnvironmentProfile {
    const template = config.template;
    const base = PROFILES[template];
    return {
        ...base,
        nodes: { min: config.nodeMin ?? base.nodes.min, max: config.nodeMax ?? Math.max(base.nodes.max, config.nodeMin ?? 0) },
        // A template that forces protection (prod) always protects (the loader refuses protect=false there).
        protect: TEMPLATES[template].forceProtection ? true : (config.protect ?? base.protect),
    };
}
