/**
 * Whether a local-template stack will render or apply, decided as its program
 * decides (environments/kubernetes-target.ts): `./platform up` turns the
 * engine's per-step state checkpoints off for a render, where they cost most
 * of the run (every step rewrote the whole state, ~8 MB with the charts'
 * CRDs) and protect nothing (the rendered files are written again by the
 * next run). An apply keeps them: they are what a run killed half-way is
 * recovered from.
 *
 * Usage: delivery-mode.ts <stack> [project dir]  prints `render` or `apply`
 * (`apply` for the cloud templates, which always apply).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";

import { resolveKubernetesTarget } from "../environments/kubernetes-target";

type Target = "auto" | "apply" | "render";

export async function deliveryModeOf(stack: string, projectDir: string, env: NodeJS.ProcessEnv = process.env): Promise<"render" | "apply"> {
    const file = path.join(projectDir, "stacks", `Pulumi.${stack}.yaml`);
    const config = fs.existsSync(file) ? ((parseYaml(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null)?.config ?? {}) : {};
    const template = String(config["platform:template"] ?? (stack.startsWith("review-") ? "review" : stack));
    if (template !== "local" && template !== "review") {
        return "apply";
    }
    const target = String(config["platform:kubernetesTarget"] ?? "auto") as Target;
    if (!["auto", "apply", "render"].includes(target)) {
        return "apply"; // the program refuses it, naming the setting; nothing to speed up
    }
    const context = config["platform:kubeContext"] === undefined ? undefined : String(config["platform:kubeContext"]);
    try {
        return (await resolveKubernetesTarget(target, context, env)).deliveryMode;
    } catch {
        return "apply";
    }
}

if (require.main === module) {
    const [stack, projectDir] = process.argv.slice(2);
    if (!stack) {
        console.error("usage: delivery-mode.ts <stack> [project dir]");
        process.exit(2);
    }
    void deliveryModeOf(stack, projectDir ?? path.resolve(__dirname, "..")).then((mode) => console.log(mode));
}
