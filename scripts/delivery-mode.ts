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
 * (`apply` for the cloud templates, which always apply, and for a stack whose
 * template cannot be told).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";

import { resolveKubernetesTarget } from "../environments/kubernetes-target";
import { EnvironmentTemplate, stackFilePath, templateOfStack, TEMPLATES } from "../environments/template-registry";

type Target = "auto" | "apply" | "render";

/** The stack's template from its stack file (the registry's rule without one); undefined when it cannot be told. */
function templateOrNone(stack: string, projectDir: string): EnvironmentTemplate | undefined {
    try {
        return templateOfStack(projectDir, stack);
    } catch {
        return undefined; // the program refuses the stack file, naming it; nothing to speed up
    }
}

export async function deliveryModeOf(stack: string, projectDir: string, env: NodeJS.ProcessEnv = process.env): Promise<"render" | "apply"> {
    // Looked up, never guessed from the name: only the local and review kinds can render.
    const template = templateOrNone(stack, projectDir);
    if (template === undefined || TEMPLATES[template].kind === "cloud") {
        return "apply";
    }
    const file = path.join(projectDir, stackFilePath(stack));
    const config = fs.existsSync(file) ? ((parseYaml(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null)?.config ?? {}) : {};
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
