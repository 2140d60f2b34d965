import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as https from "node:https";
import { parse as parseYaml } from "yaml";

import { DeliveryMode } from "../components/cluster/types";

export interface ResolvedTarget {
    deliveryMode: DeliveryMode;
    /** Kubeconfig contents, for `apply`. */
    kubeconfig?: string;
    /** Context used, for `apply`. */
    context?: string;
    /** Why this mode was chosen, for the log. */
    reason: string;
}

interface KubeconfigFile {
    "current-context"?: string;
    contexts?: { name: string; context: { cluster: string } }[];
    clusters?: { name: string; cluster: { server: string; "insecure-skip-tls-verify"?: boolean } }[];
}

/** The kubeconfig kubectl would use: the first file of $KUBECONFIG, else ~/.kube/config. */
export function kubeconfigPath(env: NodeJS.ProcessEnv = process.env): string {
    const first = (env.KUBECONFIG ?? "").split(path.delimiter).find((p) => p.trim() !== "");
    return first ?? path.join(os.homedir(), ".kube", "config");
}

/** The API server URL of a context (the current one by default), or undefined. */
export function serverOf(kubeconfig: string, context?: string): string | undefined {
    const doc = parseYaml(kubeconfig) as KubeconfigFile | null;
    const ctxName = context ?? doc?.["current-context"];
    const ctx = doc?.contexts?.find((c) => c.name === ctxName);
    return doc?.clusters?.find((c) => c.name === ctx?.context.cluster)?.cluster.server;
}

/** True when something answers HTTPS at the server's /version within the timeout (any status counts). */
export function apiServerAnswers(server: string, timeoutMs = 2000): Promise<boolean> {
    return new Promise((resolve) => {
        let url: URL;
        try {
            url = new URL("/version", server);
        } catch {
            resolve(false);
            return;
        }
        // Reachability only: certificates are checked by the provider when it applies.
        const req = https.get(url, { timeout: timeoutMs, rejectUnauthorized: false }, (res) => {
            res.resume();
            resolve(true);
        });
        req.on("timeout", () => req.destroy());
        req.on("error", () => resolve(false));
    });
}

/**
 * Decides where the environment's objects go. `auto` applies to the current
 * kubeconfig's cluster when it answers and renders otherwise; `apply` insists
 * on a kubeconfig; `render` never contacts a cluster.
 */
export async function resolveKubernetesTarget(
    target: "auto" | "apply" | "render",
    context: string | undefined,
    env: NodeJS.ProcessEnv = process.env,
): Promise<ResolvedTarget> {
    if (target === "render") {
        return { deliveryMode: "render", reason: "platform:kubernetesTarget is render" };
    }
    const file = kubeconfigPath(env);
    const kubeconfig = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
    const server = kubeconfig ? serverOf(kubeconfig, context) : undefined;
    if (target === "apply") {
        if (!kubeconfig || !server) {
            throw new Error(
                `platform:kubernetesTarget is apply, but ${file} has no ${context ? `context "${context}"` : "current context"} ` +
                    `with a cluster server; set KUBECONFIG, platform:kubeContext, or use platform:kubernetesTarget render`,
            );
        }
        return { deliveryMode: "apply", kubeconfig, context, reason: `platform:kubernetesTarget is apply (${server})` };
    }
    if (kubeconfig && server && (await apiServerAnswers(server))) {
        return { deliveryMode: "apply", kubeconfig, context, reason: `the cluster at ${server} answers` };
    }
    return {
        deliveryMode: "render",
        reason: server ? `the cluster at ${server} does not answer` : `no cluster in ${file}`,
    };
}
