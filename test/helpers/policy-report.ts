/**
 * Runs the whole policy pack over the resources a mock session recorded, with
 * the pack config of the stack's template (policies/config/<template>.json),
 * as the engine would before an apply. Under mocks a chart's own objects are not registered;
 * the engine tests cover those.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";

import { templateOfStack, TEMPLATES } from "../../environments/template-registry";
import { POLICIES } from "../../policies/policies";
import { stackViolationsOf, violationsOf } from "../../policies/test/validate";
import { MockSession } from "./mocks";

export interface PolicyFinding {
    policy: string;
    level: EnforcementLevel;
    message: string;
}

type PackConfig = Record<string, string | { enforcementLevel?: EnforcementLevel; [key: string]: unknown }>;

/** The pack config of the stack's template, found as ./platform finds it (its stack file), not guessed from its name. */
function readPackConfig(stack: string): PackConfig {
    const root = path.resolve(__dirname, "../..");
    const template = templateOfStack(root, stack);
    const file = template === undefined ? undefined : path.join(root, TEMPLATES[template].policyConfig);
    return file !== undefined && fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as PackConfig) : {};
}

function settingsFor(config: PackConfig, name: string, fallback: EnforcementLevel) {
    const entry = config[name];
    const all = typeof config.all === "string" ? (config.all as EnforcementLevel) : undefined;
    if (typeof entry === "string") {
        return { level: entry as EnforcementLevel, config: {} };
    }
    const { enforcementLevel, ...rest } = entry ?? {};
    return { level: enforcementLevel ?? all ?? fallback, config: rest };
}

export async function policyReport(session: MockSession, stack: string): Promise<PolicyFinding[]> {
    const pack = readPackConfig(stack);
    const findings: PolicyFinding[] = [];
    const resources = session.resources.filter((r) => r.custom || r.type.startsWith("kubernetes:helm.sh/"));
    for (const policy of POLICIES) {
        const { level, config } = settingsFor(pack, policy.name, policy.enforcementLevel ?? "advisory");
        if (level === "disabled") {
            continue;
        }
        if ("validateResource" in policy) {
            for (const r of resources) {
                const messages = await violationsOf(policy as ResourceValidationPolicy, r.type, r.inputs, r.name, { stack, config, protect: r.protect });
                findings.push(...messages.map((message) => ({ policy: policy.name, level, message })));
            }
        } else {
            const stackResources = resources.map((r) => ({ type: r.type, name: r.name, props: r.inputs, protect: r.protect }));
            const messages = await stackViolationsOf(policy as StackValidationPolicy, stackResources, { stack, config });
            findings.push(...messages.map((message) => ({ policy: policy.name, level, message })));
        }
    }
    return findings;
}
