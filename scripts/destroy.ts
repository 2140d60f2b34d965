/**
 * `./platform destroy <stack> [--unprotect] [-- pulumi flags]` (scripts/cli/main.ts): destroys a
 * stack only when nothing in it is protected, or when told to unprotect.
 *
 * Why not plain `pulumi destroy`: it stops at the first protected resource,
 * but only after deleting every unprotected resource it reached first,
 * operators' CustomResourceDefinitions among them, and deleting a CRD deletes
 * every object of its kind (databases, message brokers) whatever their own
 * protection. So the state is checked before anything is deleted:
 *
 * - protected resources and no `--unprotect`: refused, listing them (exit 3);
 * - `--unprotect`: `pulumi state unprotect --all`, then `pulumi destroy`;
 * - a stack of a template that forces protection (prod, whatever the stack
 *   is called) also needs PLATFORM_CONFIRM_DESTROY=<stack>, typed by a
 *   person, with `--unprotect` (environments/destroy-guard.ts).
 *
 * Exit codes: 0 destroyed, 1 pulumi failed, 2 usage, 3 refused.
 */
import { spawnSync } from "node:child_process";

import { decideDestroy, destroySkipsCheckpoints, ExportedResource } from "../environments/destroy-guard";
import { EnvironmentTemplate, templateOfStack } from "../environments/template-registry";
import { stackEnv, stackSettings } from "./stack-settings";

export interface DestroyArgs {
    stack: string;
    unprotect: boolean;
    projectDir: string;
    pulumiArgs: readonly string[];
}

/** Destroys the stack under the destroy guard; returns the exit code (0 destroyed, 1 pulumi failed, 2 settings, 3 refused). */
export function destroyStack(args: DestroyArgs): number {
    let env: NodeJS.ProcessEnv;
    let template: EnvironmentTemplate | undefined;
    try {
        env = stackEnv(stackSettings(args.stack, args.projectDir));
        // The registry's lookup (stack file, or review-<id> without one); a file naming no known template is refused here.
        template = templateOfStack(args.projectDir, args.stack);
    } catch (e) {
        console.error(`[platform] ${(e as Error).message}`);
        return 2;
    }
    const pulumi = (cmd: string[], capture = false) =>
        spawnSync("pulumi", [...cmd, "--stack", args.stack, "--non-interactive"], {
            cwd: args.projectDir,
            env,
            encoding: "utf8",
            maxBuffer: 1024 * 1024 * 1024,
            stdio: capture ? ["ignore", "pipe", "inherit"] : "inherit",
        });

    const exported = pulumi(["stack", "export"], true);
    if (exported.status !== 0) {
        console.error(`[platform] could not read the state of ${args.stack}`);
        return 1;
    }
    const resources = (JSON.parse(exported.stdout) as { deployment: { resources?: ExportedResource[] } }).deployment.resources ?? [];
    const decision = decideDestroy(
        {
            stack: args.stack,
            template,
            unprotect: args.unprotect,
            confirmation: process.env.PLATFORM_CONFIRM_DESTROY,
        },
        resources,
    );
    if (decision.action === "refuse") {
        console.error(`[platform] destroy refused: ${decision.reason}`);
        return 3;
    }
    if (decision.unprotectFirst) {
        console.error(`[platform] unprotecting every resource of ${args.stack} (--unprotect)`);
        if (pulumi(["state", "unprotect", "--all", "--yes"]).status !== 0) {
            return 1;
        }
    }
    if (destroySkipsCheckpoints(template)) {
        // A Kubernetes-only stack's destroy is finished by running it again (environments/destroy-guard.ts).
        env.PULUMI_SKIP_CHECKPOINTS = "true";
    }
    return pulumi(["destroy", "--yes", ...args.pulumiArgs]).status === 0 ? 0 : 1;
}
