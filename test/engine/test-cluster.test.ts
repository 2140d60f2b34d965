/**
 * The local stack against a real Kubernetes API server (test/helpers/test-cluster.ts):
 * recovery from a first `up` killed with SIGKILL (which is also the deploy the
 * other tests use), refresh, the backend's lock (held by the idempotence
 * check's up, so that no extra run of the whole platform is needed), drift,
 * protection and destroy.
 * Each figure the README's reliability section quotes is printed here with a
 * `[figure]` prefix.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { GENERATED_KEYS_ANNOTATION } from "../../components/shared/generated-secret";
import { AutomationExecutor } from "../../manager/src/executor/automation";
import { CLUSTER_DEPLOY_SLOT_WAIT_MS, clusterDeploySlot } from "../helpers/cluster-deploy-slot";
import { liveObjects, parseStackExport, reconcile, StackState, stateKinds, stateObjects } from "../helpers/cluster-objects";
import { createEngineProject, EngineProject, PulumiResult, readTree, REPO_ROOT, runAsync } from "../helpers/engine";
import { defaultTestChartMirror } from "../helpers/real-charts";
import { startTestCluster, TestCluster } from "../helpers/test-cluster";

const STACK = "local";
const POLICIES = ["--policy-pack", "policies", "--policy-pack-config", "policies/config/local.json"];

let cluster: TestCluster;
let project: EngineProject;
let releaseSlot: (() => void) | undefined;
/** Everything every pulumi run printed: scanned for secrets at the end. */
const logs: string[] = [];

function figure(text: string): void {
    console.log(`[figure] ${text}`);
}

async function pulumi(args: string[]): Promise<PulumiResult> {
    const result = await project.pulumiAsync([...args, "--stack", STACK]);
    logs.push(result.stdout, result.stderr);
    return result;
}

async function up(...extra: string[]): Promise<PulumiResult> {
    return pulumi(["up", "--yes", "--skip-preview", ...POLICIES, ...extra]);
}

/** `./platform destroy` or scripts/drift-report.ts for the stack, against this project copy. */
async function script(name: "destroy" | "drift-report", extra: string[] = []): Promise<PulumiResult> {
    // destroy is a command of ./platform's command line; drift-report a CI script of its own.
    const result = await runAsync("node", scriptArgs(name, extra), { cwd: project.dir, env: scriptEnv() });
    logs.push(result.stdout, result.stderr);
    return result;
}

function scriptArgs(name: "destroy" | "drift-report", extra: string[]): string[] {
    const entry = name === "destroy" ? [path.join(REPO_ROOT, "scripts", "cli", "main.ts"), "destroy"] : [path.join(REPO_ROOT, "scripts", `${name}.ts`)];
    return ["--import", "tsx", ...entry, STACK, "--project-dir", project.dir, ...extra];
}

function scriptEnv(): NodeJS.ProcessEnv {
    return { ...project.env, PLATFORM_LOCAL_BACKEND_URL: project.env.PULUMI_BACKEND_URL };
}

/**
 * Runs a command in its own process group and kills the whole group with SIGKILL once its output has
 * `count` steps that ended `done` ("created", "deleted"): a runner lost mid-run. Returns what it printed.
 */
async function killedAfter(count: number, done: string, command: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
    const child = spawn(command, args, { cwd: project.dir, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    const exited = new Promise<void>((r) => child.on("exit", () => r()));
    const steps = () => (out.match(new RegExp(` ${done} \\(`, "g")) ?? []).length;
    // A safety net: on a loaded machine the program takes minutes to register its first objects.
    const deadline = Date.now() + 600_000;
    while (steps() < count) {
        expect(Date.now(), out.slice(-2000)).toBeLessThan(deadline);
        await new Promise((r) => setTimeout(r, 100));
    }
    process.kill(-child.pid!, "SIGKILL");
    await exited;
    logs.push(out);
    return out;
}

/** The environment manager's executor on this project copy and backend (its drift check). */
function managerExecutor(): AutomationExecutor {
    return new AutomationExecutor({
        projectDir: project.dir,
        env: { ...project.env, PLATFORM_LOCAL_BACKEND_URL: project.env.PULUMI_BACKEND_URL },
        stackDefaults: {},
        repository: "test",
    });
}

async function exported(): Promise<StackState> {
    const result = await pulumi(["stack", "export"]);
    expect(result.status, result.stderr).toBe(0);
    return parseStackExport(result.stdout);
}

/** State vs API server, by the kinds the state holds (or `kinds`, once the state is empty). */
async function reconciled(kinds?: string[]) {
    const state = await exported();
    return reconcile(stateObjects(state), await liveObjects(cluster.kubectl, kinds?.length ? kinds : stateKinds(state)));
}

/** For `expect(...ok(result)).toBe(0)`: the exit code, with the steps that changed something and the run's diagnostics as the message. */
const ok = (r: PulumiResult) => {
    const diagnostics = r.stdout.indexOf("Diagnostics:");
    const changed = r.stdout.split("\n").filter((l) => /^\s*[~+-]{1,2}\s+\S+.* (updated|replaced|created|deleted) /.test(l)).slice(0, 20).join("\n");
    return [r.status, changed + "\n" + (diagnostics >= 0 ? r.stdout.slice(diagnostics, diagnostics + 4000) : r.stdout.slice(-3000)) + r.stderr.slice(-3000)] as const;
};

beforeAll(async () => {
    releaseSlot = await clusterDeploySlot("test-cluster.test.ts");
    cluster = await startTestCluster();
    project = createEngineProject({ env: { KUBECONFIG: cluster.kubeconfigPath } });
    const init = project.pulumi(["stack", "init", STACK]);
    expect(init.status, init.stderr).toBe(0);
    project.setConfig(STACK, "platform:kubernetesTarget", "apply");
    // Shaped like prod where it matters here: every stateful resource protected.
    project.setConfig(STACK, "platform:protect", "true");
    project.setConfig(STACK, "platform:chartMirror", defaultTestChartMirror());
}, CLUSTER_DEPLOY_SLOT_WAIT_MS + 600_000);

afterAll(async () => {
    await cluster?.stop();
    project?.cleanup();
    releaseSlot?.();
});

describe("the local stack on a real API server", () => {
    let kinds: string[] = [];

    it("recovers from its first up killed with SIGKILL: cancel, refresh, up converge with 0 orphans", async () => {
        // The first deploy, killed with its whole process tree once some objects exist:
        // the case a runner lost mid-deploy leaves, and a deploy of its own besides.
        const out = await killedAfter(40, "created", "pulumi", ["up", "--yes", "--skip-preview", "--stack", STACK, "--non-interactive", "--color", "never", ...POLICIES], project.env);
        const createdBeforeKill = (out.match(/ created \(/g) ?? []).length;

        // The state is readable after the kill: the file backend writes no
        // sidecar that a kill could leave half-written (fileBackendUrl).
        const sidecars = fs.readdirSync(project.backendDir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".attrs"));
        expect(sidecars).toEqual([]);
        const locked = await up();
        expect(locked.status).not.toBe(0);
        expect(locked.stderr + locked.stdout).toContain("currently locked");

        // The documented recovery (README "Reliability and recovery").
        const cancel = await pulumi(["cancel", "--yes"]);
        expect(...ok(cancel)).toBe(0);
        const pending = (await exported()).pendingOperations;
        const refresh = await pulumi(["refresh", "--yes", "--skip-preview", "--clear-pending-creates"]);
        expect(...ok(refresh)).toBe(0);
        const converged = await up();
        expect(...ok(converged)).toBe(0);
        expect(converged.stdout).toContain("environment local: apply (platform:kubernetesTarget is apply");

        const state = await exported();
        kinds = stateKinds(state);
        const r = reconcile(stateObjects(state), await liveObjects(cluster.kubectl, kinds));
        figure(`SIGKILL: killed after ${createdBeforeKill} creates with ${pending} pending operations; after cancel + refresh + up: ${r.inState} objects, ${r.orphaned.length} orphaned, ${r.lost.length} lost`);
        expect(r).toMatchObject({ orphaned: [], lost: [] });
        expect(r.inState).toBeGreaterThan(100);
    }, 1_800_000);

    it("has deployed every object, and every workload is ready", async () => {
        const state = await exported();
        const r = reconcile(stateObjects(state), await liveObjects(cluster.kubectl, kinds));
        figure(`up: ${state.resources.length} resources in state, ${r.inState} Kubernetes objects, ${r.live} in the API server`);
        expect(r).toMatchObject({ orphaned: [], lost: [] });
        expect(r.inState).toBeGreaterThan(100);

        // kwok ran the pods: every workload the stack made (the charts' and the
        // platform's) is ready, as the provider's await logic already required.
        const workloads = JSON.parse(
            (await cluster.kubectl(["get", "deployments,statefulsets,daemonsets", "-A", "-l", "app.kubernetes.io/managed-by=pulumi", "-o", "json"])).stdout,
        ) as {
            items: {
                kind: string;
                metadata: { name: string; namespace: string };
                spec: { replicas?: number };
                status: { availableReplicas?: number; readyReplicas?: number; numberReady?: number; desiredNumberScheduled?: number };
            }[];
        };
        const byKind = (kind: string) => workloads.items.filter((w) => w.kind === kind);
        figure(`workloads ready under kwok: ${byKind("Deployment").length} Deployments, ${byKind("StatefulSet").length} StatefulSets, ${byKind("DaemonSet").length} DaemonSets`);
        expect(byKind("Deployment").length).toBeGreaterThanOrEqual(10);
        expect(byKind("StatefulSet").length).toBeGreaterThanOrEqual(1);
        for (const w of workloads.items) {
            const where = `${w.kind} ${w.metadata.namespace}/${w.metadata.name}`;
            if (w.kind === "DaemonSet") {
                expect(w.status.desiredNumberScheduled ?? 0, where).toBeGreaterThan(0);
                expect(w.status.numberReady ?? 0, where).toBe(w.status.desiredNumberScheduled);
            } else {
                const ready = w.kind === "Deployment" ? w.status.availableReplicas : w.status.readyReplicas;
                expect(ready ?? 0, where).toBe(w.spec.replicas ?? 1);
            }
        }
        // Declared values win over kubectl: every object asks the provider to force them back.
        const force = await cluster.kubectl(["get", "deployments,services,configmaps,networkpolicies", "-A", "-l", "app.kubernetes.io/managed-by=pulumi", "-o", "jsonpath={range .items[*]}{.metadata.annotations.pulumi\\.com/patchForce}{\"\\n\"}{end}"]);
        expect(new Set(force.stdout.trim().split("\n"))).toEqual(new Set(["true"]));
    });

    it("changes nothing on a second up, refuses a concurrent one with the backend's lock, loses nothing, and finds no drift after", async () => {
        const before = await exported();
        const again = up("--expect-no-changes");
        // Wait until the second up holds the lock, then start a third beside it.
        const lockDir = path.join(project.backendDir, ".pulumi", "locks");
        const deadline = Date.now() + 60_000;
        while (!(fs.existsSync(lockDir) && fs.readdirSync(lockDir, { recursive: true }).some((f) => String(f).endsWith(".json")))) {
            expect(Date.now()).toBeLessThan(deadline);
            await new Promise((r) => setTimeout(r, 100));
        }
        const concurrent = await up();
        expect(concurrent.status).not.toBe(0);
        expect(concurrent.stderr + concurrent.stdout).toContain("the stack is currently locked by 1 lock(s)");
        expect(...ok(await again)).toBe(0);

        const after = await exported();
        const r = await reconciled(kinds);
        figure(`concurrent up: the second refused by the lock while an up ran; resources ${before.resources.length} before, ${after.resources.length} after; ${r.lost.length} lost, ${r.orphaned.length} orphaned`);
        expect(after.resources.map((x) => x.urn).sort()).toEqual(before.resources.map((x) => x.urn).sort());
        expect(r).toMatchObject({ orphaned: [], lost: [] });
        const drift = await script("drift-report");
        expect(drift.status, drift.stdout + drift.stderr).toBe(0);
    });

    it("keeps the generated credentials out of the state, the outputs and the logs in plain text", async () => {
        // The generated Secrets name their generated keys themselves.
        const list = await cluster.kubectl(["get", "secrets", "-A", "-o", "json"]);
        const secrets = JSON.parse(list.stdout) as { items: { metadata: { name: string; annotations?: Record<string, string> }; data: Record<string, string> }[] };
        const known = secrets.items.flatMap((s) => {
            const keys = s.metadata.annotations?.[GENERATED_KEYS_ANNOTATION]?.split(",") ?? [];
            return keys.map((key) => ({ where: `${s.metadata.name}.${key}`, value: Buffer.from(s.data[key] ?? "", "base64").toString("utf8") }));
        });
        expect(known.map((k) => k.where).sort()).toEqual([
            "consul-gossip-key.key",
            "consul-gossip-key.seed",
            "grafana-admin.admin-password",
            "kiali-signing-key.key",
            "platform-postgres-superuser.password",
            "rabbitmq-default-user.default_user.conf",
            "rabbitmq-default-user.password",
            "vault-dev-root-token.token",
        ]);
        for (const k of known) {
            expect(k.value.length, k.where).toBeGreaterThanOrEqual(32);
        }

        const outputs = await pulumi(["stack", "output", "--json"]);
        const places: Record<string, string> = {
            state: [...readTree(project.backendDir).values(), ...fs.readdirSync(project.backendDir, { recursive: true, encoding: "utf8" })]
                .join("\n"),
            "stack export": (await pulumi(["stack", "export"])).stdout,
            outputs: outputs.stdout,
            logs: logs.join("\n"),
        };
        let hits = 0;
        for (const [place, text] of Object.entries(places)) {
            for (const k of known) {
                // Plain text, and base64 (which is no protection either).
                for (const form of [k.value, Buffer.from(k.value).toString("base64")]) {
                    if (text.includes(form)) {
                        hits++;
                        console.error(`secret ${k.where} found in ${place}`);
                    }
                }
            }
        }
        figure(`secrets scan: ${known.length} generated values x ${Object.keys(places).length} places (state ${places.state.length} chars, logs ${places.logs.length} chars): ${hits} hits`);
        expect(hits).toBe(0);
    });

    it("reports drift made with kubectl and repairs it on the next up", async () => {
        const scaled = await cluster.kubectl(["scale", "deployment/rabbitmq-cluster-operator", "-n", "rabbitmq-system", "--replicas=3"]);
        expect(...ok(scaled)).toBe(0);
        // A label, not data: the provider replaces a ConfigMap whose data changed, and this one is protected.
        const patched = await cluster.kubectl(["label", "configmap/platform-environment", "-n", "platform-system", "--overwrite", "platform.example.com/cost-center=tampered"]);
        expect(...ok(patched)).toBe(0);
        const deleted = await cluster.kubectl(["delete", "networkpolicy/default-deny", "-n", "platform-system"]);
        expect(...ok(deleted)).toBe(0);

        // The scheduled drift job's report: each object, and what changed.
        const drift = await script("drift-report");
        console.log(drift.stdout);
        expect(drift.status, drift.stdout + drift.stderr).toBe(1);
        for (const expected of [
            "3 resource(s) changed outside code",
            "rabbitmq-cluster-operator (kubernetes:apps/v1:Deployment): changed: spec.replicas",
            "environment-record (kubernetes:core/v1:ConfigMap): changed: metadata.labels",
            "platform-system-default-deny (kubernetes:networking.k8s.io/v1:NetworkPolicy): deleted outside code",
        ]) {
            expect(drift.stdout, expected).toContain(expected);
        }
        // The environment manager's periodic drift check (Automation API, engine events) finds the same three.
        const managerCheck = await managerExecutor().checkDrift(STACK);
        expect(managerCheck.state).toBe("drifted");
        expect(managerCheck.resources.map((r) => `${r.name} ${r.change} ${r.paths.join(",")}`).sort()).toEqual([
            'environment-record changed metadata.labels["platform.example.com/cost-center"]',
            "platform-system-default-deny deleted ",
            "rabbitmq-operator:rabbitmq-system/rabbitmq-cluster-operator changed spec.replicas",
        ]);

        const repaired = await up("--refresh");
        expect(...ok(repaired)).toBe(0);
        const replicas = await cluster.kubectl(["get", "deployment/rabbitmq-cluster-operator", "-n", "rabbitmq-system", "-o", "jsonpath={.spec.replicas}"]);
        expect(replicas.stdout).toBe("1");
        const costCenter = await cluster.kubectl(["get", "configmap/platform-environment", "-n", "platform-system", "-o", "jsonpath={.metadata.labels.platform\\.example\\.com/cost-center}"]);
        expect(costCenter.stdout).toBe("PLT-0001");
        const policy = await cluster.kubectl(["get", "networkpolicy/default-deny", "-n", "platform-system", "-o", "name"]);
        expect(...ok(policy)).toBe(0);
        const clean = await managerExecutor().checkDrift(STACK);
        expect(clean).toEqual({ state: "clean", resources: [] });
        figure("drift: 3 objects changed with kubectl (scale, label, delete) reported by the drift report and the manager's drift check, repaired by up --refresh, then no drift");
    });

    it("refuses to destroy protected stateful resources without an explicit override", async () => {
        const state = await exported();
        const protectedTypes = state.resources.filter((r) => r.protect).map((r) => r.type.split(":").slice(1).join(":"));
        // Every stateful resource of the environment (the data services and the
        // record) and the operators' CRDs, whose deletion would take the data with them.
        expect(protectedTypes).toEqual(
            expect.arrayContaining([
                "postgresql.cnpg.io/v1:Cluster",
                "rabbitmq.com/v1beta1:RabbitmqCluster",
                "core/v1:ConfigMap",
                "apiextensions.k8s.io/v1:CustomResourceDefinition",
            ]),
        );
        const refused = await script("destroy");
        expect(refused.status).toBe(3);
        expect(refused.stderr).toContain(`destroy refused: stack local has ${protectedTypes.length} protected resources; nothing was deleted`);
        const r = await reconciled(kinds);
        figure(`prod safety: ${protectedTypes.length} protected resources; ./platform destroy refused; ${r.lost.length} objects lost`);
        expect(r.lost).toEqual([]);
    });

    it("destroys everything with --unprotect, a destroy killed half-way finished by the next, leaving nothing in the API server", async () => {
        // ./platform destroy keeps no per-step checkpoints for a Kubernetes-only stack
        // (environments/destroy-guard.ts): killed half-way, the state still lists what is gone.
        const before = (await exported()).resources.length;
        const out = await killedAfter(60, "deleted", "node", scriptArgs("destroy", ["--unprotect"]), scriptEnv());
        const deletedBeforeKill = (out.match(/ deleted \(/g) ?? []).length;
        const cancel = await pulumi(["cancel", "--yes"]);
        expect(...ok(cancel)).toBe(0);
        const afterKill = await reconciled(kinds);
        figure(`destroy killed with SIGKILL after ${deletedBeforeKill} deletes: ${afterKill.inState} objects still in the state, ${afterKill.lost.length} of them already gone`);
        expect((await exported()).resources.length).toBe(before);
        expect(afterKill.lost.length).toBeGreaterThan(0);

        // The next destroy deletes the rest; the provider takes what is gone as deleted.
        const destroyed = await script("destroy", ["--unprotect"]);
        expect(...ok(destroyed)).toBe(0);
        const live = await liveObjects(cluster.kubectl, kinds);
        // What may stay: CustomResourceDefinitions the charts mark `helm.sh/resource-policy: keep`,
        // which Pulumi retains on delete (deleting a CRD deletes every resource of its kind).
        const crds = JSON.parse((await cluster.kubectl(["get", "crd", "-l", "app.kubernetes.io/managed-by=pulumi", "-o", "json"])).stdout) as {
            items: { metadata: { name: string; annotations?: Record<string, string> } }[];
        };
        const kept = new Set(crds.items.filter((c) => c.metadata.annotations?.["helm.sh/resource-policy"] === "keep").map((c) => `CustomResourceDefinition//${c.metadata.name}`));
        figure(`destroy: ${live.size} platform objects left in the API server, ${kept.size} of them CRDs the charts keep (helm.sh/resource-policy: keep)`);
        expect([...live].filter((key) => !kept.has(key))).toEqual([]);
        // Deletes wait for each object to go, namespaces last: the longest step on a loaded machine.
    }, 1_800_000);

});
