/**
 * Throwaway copies of the local stack in an engine project (`local-2`,
 * `local-3`…): same template, environment name and committed salt, render
 * mode, the chart mirror given (the real charts of ../shared/charts in the tests and benchmarks),
 * and local's policy configuration. For tests and benchmarks that need several stacks without a cloud.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseDocument } from "yaml";

import { EngineProject } from "./engine";

/**
 * Writes the stack files (and policy configs) for `stacks` in the project; the
 * stacks themselves are not created. `config` adds or overrides keys.
 */
export function writeLocalStacks(project: EngineProject, stacks: string[], chartMirror: string, config: Record<string, Record<string, string>> = {}): void {
    const source = fs.readFileSync(path.join(project.dir, "stacks", "Pulumi.local.yaml"), "utf8");
    for (const stack of stacks) {
        const doc = parseDocument(source);
        const settings = {
            // Copies keep the environment name `local`, as the committed stack (Vault's
            // dev mode follows their template, local, not the name).
            ...(stack === "local" ? {} : { "platform:name": "local" }),
            "platform:kubernetesTarget": "render",
            // Manifests go to <renderDirectory>/<environment name>: one folder per copy.
            "platform:renderDirectory": path.join(project.renderDir, stack),
            "platform:chartMirror": chartMirror,
            ...config[stack],
        };
        for (const [key, value] of Object.entries(settings)) {
            doc.setIn(["config", key], value);
        }
        fs.writeFileSync(path.join(project.dir, "stacks", `Pulumi.${stack}.yaml`), doc.toString());
        const policies = path.join(project.dir, "policies", "config");
        if (stack !== "local" && fs.existsSync(policies)) {
            fs.copyFileSync(path.join(policies, "local.json"), path.join(policies, `${stack}.json`));
        }
    }
}
