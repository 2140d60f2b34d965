import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as net from "node:net";
import * as https from "node:https";
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";

import { kubeconfigPath, resolveKubernetesTarget, serverOf } from "./kubernetes-target";
import { tempDir } from "../test/helpers/temp-dir";

function kubeconfig(server: string): string {
    return [
        "apiVersion: v1",
        "kind: Config",
        "current-context: dev",
        "contexts:",
        "  - name: dev",
        "    context: { cluster: dev-cluster, user: dev }",
        "clusters:",
        "  - name: dev-cluster",
        `    cluster: { server: "${server}" }`,
        "users:",
        "  - name: dev",
        "    user: { token: abc }",
    ].join("\n");
}

function writeKubeconfig(contents: string): string {
    const dir = tempDir("kubeconfig-");
    const file = path.join(dir, "config");
    fs.writeFileSync(file, contents);
    return file;
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((r) => server.close(() => r()));
    return port;
}

describe("kubeconfig lookup", () => {
    it("uses the first KUBECONFIG entry, else ~/.kube/config", () => {
        expect(kubeconfigPath({ KUBECONFIG: `/a/config${path.delimiter}/b/config` })).toBe("/a/config");
        expect(kubeconfigPath({})).toBe(path.join(os.homedir(), ".kube", "config"));
    });

    it("finds the server of the current context", () => {
        expect(serverOf(kubeconfig("https://10.0.0.1:6443"))).toBe("https://10.0.0.1:6443");
        expect(serverOf(kubeconfig("https://10.0.0.1:6443"), "other")).toBeUndefined();
    });
});

describe("resolveKubernetesTarget", () => {
    it("renders when asked to, without reading any kubeconfig", async () => {
        const target = await resolveKubernetesTarget("render", undefined, { KUBECONFIG: "/nonexistent" });
        expect(target.deliveryMode).toBe("render");
    });

    it("renders in auto mode when there is no kubeconfig", async () => {
        const target = await resolveKubernetesTarget("auto", undefined, { KUBECONFIG: "/nonexistent/config" });
        expect(target).toMatchObject({ deliveryMode: "render", reason: "no cluster in /nonexistent/config" });
    });

    it("renders in auto mode when the cluster does not answer", async () => {
        const server = `https://127.0.0.1:${await closedPort()}`;
        const file = writeKubeconfig(kubeconfig(server));
        const target = await resolveKubernetesTarget("auto", undefined, { KUBECONFIG: file });
        expect(target).toMatchObject({ deliveryMode: "render", reason: `the cluster at ${server} does not answer` });
    });

    it("applies in auto mode when the cluster answers", async () => {
        // A stand-in API server: any HTTPS answer at /version means reachable.
        const dir = tempDir("apiserver-");
        execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
            "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem")], { stdio: "ignore" });
        const server = https.createServer(
            { key: fs.readFileSync(path.join(dir, "key.pem")), cert: fs.readFileSync(path.join(dir, "cert.pem")) },
            (_req, res) => res.end('{"major":"1"}'),
        );
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        try {
            const url = `https://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
            const file = writeKubeconfig(kubeconfig(url));
            const target = await resolveKubernetesTarget("auto", undefined, { KUBECONFIG: file });
            expect(target).toMatchObject({ deliveryMode: "apply", reason: `the cluster at ${url} answers` });
        } finally {
            server.close();
        }
    });

    it("refuses apply mode without a usable kubeconfig, naming the setting", async () => {
        await expect(resolveKubernetesTarget("apply", undefined, { KUBECONFIG: "/nonexistent/config" })).rejects.toThrow(
            /platform:kubernetesTarget is apply, but \/nonexistent\/config has no current context/,
        );
    });

    it("applies when asked to and a context is there", async () => {
        const file = writeKubeconfig(kubeconfig("https://127.0.0.1:1"));
        const target = await resolveKubernetesTarget("apply", "dev", { KUBECONFIG: file });
        expect(target.deliveryMode).toBe("apply");
        expect(target.kubeconfig).toContain("dev-cluster");
    });
});
