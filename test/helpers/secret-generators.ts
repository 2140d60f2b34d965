/**
 * Runs the secret-generator Jobs of a rendered tree against a real API server,
 * the way their pods would: the Job's own bash program and environment, real
 * kubectl and jq, and a token of the Job's ServiceAccount (so the Role it
 * renders is what allows or forbids each call). Only the container image is
 * not used: kwok runs no containers.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { DerivedValue, deriveValues } from "../../components/shared/secret-generator";
import { PulumiResult, runAsync } from "./engine";
import { testClusterBinDir, TestCluster } from "./test-cluster";

export interface RenderedJob {
    kind: string;
    metadata: { name: string; namespace?: string; labels?: Record<string, string> };
    spec?: { template?: { spec?: { serviceAccountName?: string; containers?: { command?: string[]; env?: { name: string; value?: string }[] }[] } } };
}

export interface GeneratorRun {
    job: string;
    namespace: string;
    secretName: string;
    result: PulumiResult;
}

/** True for the objects of a secret generator (ServiceAccount, Role, RoleBinding, Job). */
export function isSecretGeneratorObject(o: RenderedJob): boolean {
    return o.metadata.labels?.["app.kubernetes.io/name"] === "secret-generator";
}

/** Runs every secret-generator Job of `objects` once, each as its own ServiceAccount. */
export async function runSecretGenerators(cluster: TestCluster, objects: RenderedJob[]): Promise<GeneratorRun[]> {
    const jobs = objects.filter((o) => o.kind === "Job" && isSecretGeneratorObject(o));
    const runs: GeneratorRun[] = [];
    for (const job of jobs) {
        const namespace = job.metadata.namespace ?? "default";
        const pod = job.spec?.template?.spec;
        const container = pod?.containers?.[0];
        if (!pod?.serviceAccountName || !container?.command || container.command.slice(0, 2).join(" ") !== "bash -c") {
            throw new Error(`Job ${namespace}/${job.metadata.name} is not a bash -c program run as a ServiceAccount`);
        }
        runs.push({ job: job.metadata.name, namespace, secretName: envOf(container.env).SECRET_NAME, result: await runAs(cluster, namespace, pod.serviceAccountName, container.command[2], envOf(container.env)) });
    }
    return runs;
}

/** Runs `script` with `env` and a kubeconfig holding a token of the ServiceAccount. */
export async function runAs(cluster: TestCluster, namespace: string, serviceAccount: string, script: string, env: Record<string, string>): Promise<PulumiResult> {
    const token = await cluster.kubectl(["create", "token", serviceAccount, "-n", namespace, "--duration=10m"]);
    if (token.status !== 0) {
        throw new Error(`token for ${namespace}/${serviceAccount}: ${token.stderr}`);
    }
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "secret-generator-"));
    try {
        const kubeconfig = path.join(home, "kubeconfig");
        fs.writeFileSync(
            kubeconfig,
            JSON.stringify({
                apiVersion: "v1",
                kind: "Config",
                clusters: [{ name: "test", cluster: { server: cluster.server, "certificate-authority": path.join(cluster.dir, "ca.crt") } }],
                users: [{ name: serviceAccount, user: { token: token.stdout.trim() } }],
                contexts: [{ name: "test", context: { cluster: "test", user: serviceAccount, namespace } }],
                "current-context": "test",
            }),
            { mode: 0o600 },
        );
        return await runAsync("bash", ["-c", script], {
            cwd: home,
            env: { PATH: `${testClusterBinDir()}:${process.env.PATH ?? ""}`, ...env, HOME: home, TMPDIR: home, KUBECONFIG: kubeconfig },
        });
    } finally {
        fs.rmSync(home, { recursive: true, force: true });
    }
}

function envOf(env: { name: string; value?: string }[] | undefined): Record<string, string> {
    return Object.fromEntries((env ?? []).map((e) => [e.name, e.value ?? ""]));
}

/** A Secret as the API server returns it, decoded. */
export async function secretValues(cluster: TestCluster, namespace: string, name: string): Promise<Record<string, string>> {
    const got = await cluster.kubectl(["get", "secret", name, "-n", namespace, "-o", "json"]);
    if (got.status !== 0) {
        throw new Error(`secret ${namespace}/${name}: ${got.stderr}`);
    }
    const data = (JSON.parse(got.stdout) as { data?: Record<string, string> }).data ?? {};
    return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]));
}

/** What is wrong with a filled Secret, judged by its generator's own settings (empty when right). */
export function generatedSecretProblems(values: Record<string, string>, env: Record<string, string>): string[] {
    const problems: string[] = [];
    const length = Number(env.LENGTH);
    for (const key of env.GENERATED_KEYS.split(" ")) {
        if (!new RegExp(`^[A-Za-z0-9]{${length}}$`).test(values[key] ?? "")) {
            problems.push(`${key}: not ${length} characters of A-Za-z0-9`);
        }
    }
    const derived = JSON.parse(env.DERIVED) as Record<string, DerivedValue>;
    const expected = deriveValues(values, derived);
    for (const key of Object.keys(derived)) {
        if (values[key] !== expected[key]) {
            problems.push(`${key}: not what the program derives from the other keys`);
        }
    }
    return problems;
}

/** The environment of a rendered generator Job. */
export function generatorEnv(job: RenderedJob): Record<string, string> {
    return envOf(job.spec?.template?.spec?.containers?.[0]?.env);
}
