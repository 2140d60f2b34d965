/**
 * A throwaway Kubernetes control plane on loopback, with no Docker: etcd,
 * kube-apiserver, kube-controller-manager, kube-scheduler and kwok (which
 * plays the kubelet for one fake node, so pods get scheduled, run and become
 * Ready, and Deployments and Services converge as on a real cluster). The
 * binaries come from toolchain/ensure-test-cluster.sh; certificates, keys and
 * the kubeconfig are made per run with openssl, in a temporary folder that
 * `stop()` removes.
 *
 *   const cluster = await startTestCluster();
 *   ... KUBECONFIG=cluster.kubeconfigPath ...
 *   await cluster.stop();
 *
 * Also a command, for trying the platform against a real API server by hand:
 *   ./platform test-cluster      (prints the KUBECONFIG to use; Ctrl-C stops it)
 */
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

import { runAsync, PulumiResult } from "./engine";

export interface TestCluster {
    /** The API server's URL (https://127.0.0.1:<port>). */
    server: string;
    /** A cluster-admin kubeconfig file for this cluster. */
    kubeconfigPath: string;
    /** The folder holding certificates, data and the components' logs. */
    dir: string;
    /** Runs kubectl against this cluster (async: never blocks the test worker). */
    kubectl(args: string[], input?: string): Promise<PulumiResult>;
    /** Stops every process and removes the folder. Safe to call twice. */
    stop(): Promise<void>;
}

const BINARIES = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "kwok"] as const;
const FAKE_NODE = "kwok-node-0";

/** The folder of the built binaries, from the environment ./platform test sets. */
export function testClusterBinDir(env: NodeJS.ProcessEnv = process.env): string {
    const dir = env.PLATFORM_TEST_CLUSTER_BIN;
    if (!dir || !BINARIES.every((b) => fs.existsSync(path.join(dir, b)))) {
        throw new Error(
            "PLATFORM_TEST_CLUSTER_BIN does not name a folder with etcd, kube-apiserver, kube-controller-manager, " +
                'kube-scheduler, kubectl and kwok: run the tests with ./platform test, or eval "$(toolchain/ensure-test-cluster.sh)"',
        );
    }
    return dir;
}

async function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const address = server.address() as net.AddressInfo;
            server.close(() => resolve(address.port));
        });
    });
}

function openssl(args: string[], cwd: string): void {
    execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

/** A CA, the API server's serving certificate, an admin client certificate and the service-account key pair. */
function makePki(dir: string): void {
    openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=platform-test-ca"], dir);
    const signed = (name: string, subject: string, ext: string) => {
        fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
        openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject], dir);
        openssl(["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.crt`, "-days", "2", "-extfile", `${name}.ext`], dir);
    };
    signed(
        "apiserver",
        "/CN=kube-apiserver",
        "subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\n" +
            "extendedKeyUsage=serverAuth\n",
    );
    // system:masters: the admin the tests, the controllers and kwok act as.
    signed("admin", "/O=system:masters/CN=platform-test-admin", "extendedKeyUsage=clientAuth\n");
    openssl(["genrsa", "-out", "sa.key", "2048"], dir);
    openssl(["rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub"], dir);
}

function kubeconfig(dir: string, server: string): string {
    const b64 = (file: string) => fs.readFileSync(path.join(dir, file)).toString("base64");
    return [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "  - name: platform-test",
        "    cluster:",
        `      server: ${server}`,
        `      certificate-authority-data: ${b64("ca.crt")}`,
        "users:",
        "  - name: platform-test-admin",
        "    user:",
        `      client-certificate-data: ${b64("admin.crt")}`,
        `      client-key-data: ${b64("admin.key")}`,
        "contexts:",
        "  - name: platform-test",
        "    context: { cluster: platform-test, user: platform-test-admin }",
        "current-context: platform-test",
        "",
    ].join("\n");
}

/** Resolves when `check` returns true, polling every 200 ms; rejects after `timeoutMs` naming what it waited for. */
async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, died: () => string | undefined): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        const exited = died();
        if (exited) {
            throw new Error(`${what}: ${exited}`);
        }
        if (await check()) {
            return;
        }
        await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`${what}: not ready after ${timeoutMs / 1000}s`);
}

function httpGet(url: string, options: https.RequestOptions = {}): Promise<number> {
    return new Promise((resolve) => {
        const get = url.startsWith("https:") ? https.get : http.get;
        const req = get(url, { ...options, timeout: 2000 }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
        });
        req.on("timeout", () => req.destroy());
        req.on("error", () => resolve(0));
    });
}

export async function startTestCluster(): Promise<TestCluster> {
    const bin = testClusterBinDir();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "platform-test-cluster-"));
    const logs = path.join(dir, "logs");
    fs.mkdirSync(logs);
    const processes: { name: string; child: ChildProcess; exit?: string }[] = [];
    let stopped = false;

    const start = (name: (typeof BINARIES)[number], args: string[]) => {
        const log = fs.openSync(path.join(logs, `${name}.log`), "a");
        const child = spawn(path.join(bin, name), args, { cwd: dir, stdio: ["ignore", log, log] });
        fs.closeSync(log);
        const entry: { name: string; child: ChildProcess; exit?: string } = { name, child };
        child.on("exit", (code, signal) => {
            entry.exit = `${name} exited (${signal ?? code}); see ${path.join(logs, `${name}.log`)}`;
        });
        processes.push(entry);
        return entry;
    };
    const died = () => processes.find((p) => p.exit !== undefined && !stopped)?.exit;

    const stop = async () => {
        if (stopped) {
            return;
        }
        stopped = true;
        // Reverse order: the API server's clients first, etcd last.
        for (const p of [...processes].reverse()) {
            if (p.child.exitCode === null && p.child.signalCode === null) {
                const exited = new Promise((r) => p.child.once("exit", r));
                p.child.kill("SIGTERM");
                const timer = setTimeout(() => p.child.kill("SIGKILL"), 10_000);
                await exited;
                clearTimeout(timer);
            }
        }
        fs.rmSync(dir, { recursive: true, force: true });
        process.off("exit", killAll);
    };
    // A process that exits before stop() finished (a test run that dies, a
    // signal handler that calls process.exit) must not leave servers or files behind.
    const killAll = () => {
        processes.forEach((p) => p.child.kill("SIGKILL"));
        fs.rmSync(dir, { recursive: true, force: true });
    };
    process.on("exit", killAll);

    try {
        makePki(dir);
        const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
        const etcd = start("etcd", [
            "--name=default",
            `--data-dir=${path.join(dir, "etcd")}`,
            `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
            `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
            `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
            `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
            `--initial-cluster=default=http://127.0.0.1:${etcdPeer}`,
            // Throwaway data: no fsync keeps a 2-core test machine fast.
            "--unsafe-no-fsync",
            "--log-level=warn",
        ]);
        await waitFor("etcd", async () => (await httpGet(`http://127.0.0.1:${etcdClient}/health`)) === 200, 30_000, died);
        void etcd;

        const server = `https://127.0.0.1:${apiPort}`;
        start("kube-apiserver", [
            `--etcd-servers=http://127.0.0.1:${etcdClient}`,
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            `--secure-port=${apiPort}`,
            `--cert-dir=${dir}`,
            `--tls-cert-file=${path.join(dir, "apiserver.crt")}`,
            `--tls-private-key-file=${path.join(dir, "apiserver.key")}`,
            `--client-ca-file=${path.join(dir, "ca.crt")}`,
            "--service-account-issuer=https://kubernetes.default.svc",
            `--service-account-key-file=${path.join(dir, "sa.pub")}`,
            `--service-account-signing-key-file=${path.join(dir, "sa.key")}`,
            "--service-cluster-ip-range=10.96.0.0/16",
            "--authorization-mode=RBAC",
            "--allow-privileged=true",
            // kwok runs no containers, so no webhook server ever answers: with the
            // webhook admission plugins on, every object under a chart's
            // failurePolicy: Fail webhook (cert-manager, Istio, the Prometheus
            // operator, CloudNativePG) would be refused. A real cluster calls them.
            "--disable-admission-plugins=MutatingAdmissionWebhook,ValidatingAdmissionWebhook",
            "--v=0",
        ]);
        const kubeconfigPath = path.join(dir, "kubeconfig");
        fs.writeFileSync(kubeconfigPath, kubeconfig(dir, server), { mode: 0o600 });
        const clientTls = {
            ca: fs.readFileSync(path.join(dir, "ca.crt")),
            cert: fs.readFileSync(path.join(dir, "admin.crt")),
            key: fs.readFileSync(path.join(dir, "admin.key")),
        };
        await waitFor("kube-apiserver", async () => (await httpGet(`${server}/readyz`, clientTls)) === 200, 90_000, died);

        const common = [`--kubeconfig=${kubeconfigPath}`, "--leader-elect=false", "--v=0"];
        start("kube-controller-manager", [
            ...common,
            "--secure-port=0",
            `--service-account-private-key-file=${path.join(dir, "sa.key")}`,
            `--root-ca-file=${path.join(dir, "ca.crt")}`,
            "--use-service-account-credentials=false",
            // nodelifecycle lifts the not-ready taint admission puts on a new node.
            "--controllers=*,-nodeipam",
        ]);
        start("kube-scheduler", [...common, "--secure-port=0"]);
        const stages = fs.readdirSync(path.join(bin, "kwok-stages")).filter((f) => f.endsWith(".yaml"));
        start("kwok", [
            `--kubeconfig=${kubeconfigPath}`,
            "--manage-all-nodes=false",
            "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
            "--cidr=10.244.0.0/16",
            "--node-ip=127.0.0.1",
            ...stages.map((f) => `--config=${path.join(bin, "kwok-stages", f)}`),
        ]);

        const kubectl = (args: string[], input?: string) =>
            runAsync(path.join(bin, "kubectl"), [`--kubeconfig=${kubeconfigPath}`, ...args], { cwd: dir, env: process.env, input });
        const node = await kubectl(["apply", "-f", "-"], fakeNodeManifest());
        if (node.status !== 0) {
            throw new Error(`creating the fake node failed: ${node.stderr}`);
        }
        // Ready when the node is Ready without taints (pods can land) and the
        // default service account exists (pods need it).
        await waitFor(
            "the fake node and the default service account",
            async () => {
                const node = await kubectl(["get", "node", FAKE_NODE, "-o", "jsonpath={.status.conditions[?(@.type=='Ready')].status} {.spec.taints}"]);
                const sa = await kubectl(["get", "serviceaccount", "default", "-n", "default", "-o", "name"]);
                return node.stdout.trim() === "True" && sa.status === 0;
            },
            60_000,
            died,
        );
        provisionVolumes(kubectl, path.join(dir, "volumes"), () => stopped);
        return { server, kubeconfigPath, dir, kubectl, stop };
    } catch (err) {
        const tails = processes
            .map((p) => `--- ${p.name}\n${tail(path.join(logs, `${p.name}.log`), 15)}`)
            .join("\n");
        await stop();
        throw new Error(`${(err as Error).message}\n${tails}`);
    }
}

interface PendingClaim {
    metadata: { name: string; namespace: string; uid: string };
    spec: { storageClassName?: string; accessModes?: string[]; resources?: { requests?: { storage?: string } }; volumeName?: string };
    status?: { phase?: string };
}

/**
 * Plays a storage driver: every pending PersistentVolumeClaim gets a hostPath
 * PersistentVolume reserved for it, which the controller manager's binder
 * binds. Without it StatefulSets with volume claims (Consul, Loki, Grafana)
 * never schedule. Polls until the cluster stops.
 */
function provisionVolumes(kubectl: TestCluster["kubectl"], root: string, stopped: () => boolean): void {
    const made = new Set<string>();
    const tick = async () => {
        if (stopped()) {
            return;
        }
        const listed = await kubectl(["get", "persistentvolumeclaims", "-A", "-o", "json"]);
        if (listed.status === 0 && !stopped()) {
            const claims = (JSON.parse(listed.stdout) as { items: PendingClaim[] }).items;
            const volumes = claims
                .filter((c) => c.status?.phase === "Pending" && !c.spec.volumeName && !made.has(c.metadata.uid))
                .map((c) => {
                    made.add(c.metadata.uid);
                    return {
                        apiVersion: "v1",
                        kind: "PersistentVolume",
                        metadata: { name: `pv-${c.metadata.uid}` },
                        spec: {
                            capacity: { storage: c.spec.resources?.requests?.storage ?? "1Gi" },
                            accessModes: c.spec.accessModes ?? ["ReadWriteOnce"],
                            storageClassName: c.spec.storageClassName ?? "",
                            persistentVolumeReclaimPolicy: "Delete",
                            hostPath: { path: path.join(root, c.metadata.uid), type: "DirectoryOrCreate" },
                            claimRef: { namespace: c.metadata.namespace, name: c.metadata.name, uid: c.metadata.uid },
                        },
                    };
                });
            if (volumes.length > 0) {
                await kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: volumes }));
            }
        }
        if (!stopped()) {
            setTimeout(() => void tick(), 2000).unref();
        }
    };
    void tick();
}

function tail(file: string, lines: number): string {
    return fs.existsSync(file) ? fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n") : "(no log)";
}

/** One node kwok keeps alive: big enough for every pod the platform schedules. */
function fakeNodeManifest(): string {
    return JSON.stringify({
        apiVersion: "v1",
        kind: "Node",
        metadata: {
            name: FAKE_NODE,
            annotations: { "kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0" },
            labels: { "kubernetes.io/hostname": FAKE_NODE, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", type: "kwok" },
        },
        status: {
            allocatable: { cpu: "64", memory: "256Gi", pods: "500" },
            capacity: { cpu: "64", memory: "256Gi", pods: "500" },
        },
    });
}

/** `tsx test/helpers/test-cluster.ts`: starts a cluster and keeps it until Ctrl-C. */
async function main(): Promise<void> {
    const cluster = await startTestCluster();
    console.log(`test cluster up at ${cluster.server}\n  export KUBECONFIG=${cluster.kubeconfigPath}\nCtrl-C stops it and removes ${cluster.dir}`);
    const shutdown = () => void cluster.stop().then(() => process.exit(0));
    process.on("SIGINT", shutdown);
    process.on("SIGTERM", shutdown);
}

if (require.main === module) {
    main().catch((err: Error) => {
        console.error(err.message);
        process.exit(1);
    });
}
