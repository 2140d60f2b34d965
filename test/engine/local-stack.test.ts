import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";


import { recordProblems } from "../../environments/record-schema";
import { defaultTestChartMirror } from "../helpers/real-charts";
import { createEngineProject, EngineProject, readTree } from "../helpers/engine";
import { RenderedObject, selectorsSelectingNothing, workloadsNotSelectingTheirPods } from "../helpers/selectors";
import { generatedSecretProblems, generatorEnv, isSecretGeneratorObject, RenderedJob, runSecretGenerators, secretValues } from "../helpers/secret-generators";
import { startTestCluster } from "../helpers/test-cluster";

interface K8sObject {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace?: string; labels?: Record<string, string> };
}

let project: EngineProject;

/** Selectors whose targets are made by the cluster or by operators at run time, not rendered. */
const OUTSIDE_THE_RENDER: string[] = [
    // The cluster's own components, which kube-prometheus-stack scrapes.
    "ServiceMonitor/observability/kube-prometheus-stack-apiserver",
    "ServiceMonitor/observability/kube-prometheus-stack-kubelet",
    "Service/kube-system/kube-prometheus-stack-coredns",
    "Service/kube-system/kube-prometheus-stack-kube-controller-manager",
    "Service/kube-system/kube-prometheus-stack-kube-etcd",
    "Service/kube-system/kube-prometheus-stack-kube-proxy",
    "Service/kube-system/kube-prometheus-stack-kube-scheduler",
    // Pods the Prometheus operator makes from the Prometheus and Alertmanager resources.
    "Service/observability/kube-prometheus-stack-alertmanager",
    "Service/observability/kube-prometheus-stack-prometheus",
    // Pods and Services CloudNativePG and the RabbitMQ operator make for their clusters.
    "PodMonitor/postgres/platform-postgres",
    "ServiceMonitor/rabbitmq/platform-events",
];

beforeAll(() => {
    project = createEngineProject();
    const init = project.pulumi(["stack", "init", "local"]);
    expect(init.status, init.stderr).toBe(0);
    project.setConfig("local", "platform:renderDirectory", project.renderDir);
    // The real upstream charts, from the offline mirror (../shared/charts or PLATFORM_CHART_MIRROR).
    project.setConfig("local", "platform:chartMirror", defaultTestChartMirror());
});
afterAll(() => project?.cleanup());

/** Every object of the render directory. */
function renderedObjects(): RenderedObject[] {
    return [...readTree(project.renderDir).values()]
        .flatMap((text) => parseAllDocuments(text).map((d) => d.toJSON() as RenderedObject | null))
        .filter((o): o is RenderedObject => o !== null);
}

describe("the local stack through the real engine (render mode)", () => {
    it("previews with the policy pack", async () => {
        const result = await project.pulumiAsync(["preview", "--stack", "local", "--policy-pack", "policies", "--policy-pack-config", "policies/config/local.json"]);
        expect(result.status, result.stdout + result.stderr).toBe(0);
        expect(result.stdout).toContain("platform:cluster:ExistingCluster");
        // Every policy passes; local's config makes backups advisory (its in-cluster Postgres has none).
        expect(result.stdout).not.toContain("[mandatory]");
        expect(result.stdout).toMatch(/\[advisory\]\s+database-encrypted-backed-up\s+\(kubernetes:postgresql\.cnpg\.io\/v1:Cluster: postgres-cluster\)/);
    });

    it("deploys: manifests are rendered and the stack output is the environment record", async () => {
        const result = await project.pulumiAsync(["up", "--yes", "--skip-preview", "--stack", "local", "--policy-pack", "policies", "--policy-pack-config", "policies/config/local.json"]);
        expect(result.status, result.stdout + result.stderr).toBe(0);

        const files = readTree(project.renderDir);
        const objects = [...files.values()].flatMap((text) =>
            parseAllDocuments(text).map((d) => d.toJSON() as K8sObject | null),
        ).filter((o): o is K8sObject => o !== null);
        const kinds = new Set(objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`));
        for (const expected of [
            "ConfigMap/platform-system/platform-environment",
            "Namespace//platform-system",
            "NetworkPolicy/platform-system/default-deny",
            "PeerAuthentication/istio-system/default",
            "Gateway/istio-ingress/platform-gateway",
            "Certificate/istio-ingress/ingress-gateway",
            "ClusterIssuer//platform-ca",
            "RabbitmqCluster/rabbitmq/platform-events",
            "Cluster/postgres/platform-postgres",
            "StatefulSet/vault/vault",
            "Deployment/rabbitmq-system/rabbitmq-cluster-operator",
        ]) {
            expect(kinds, expected).toContain(expected);
        }
        for (const o of objects) {
            expect(o.metadata.labels?.["app.kubernetes.io/managed-by"], `${o.kind}/${o.metadata.name}`).toBe("pulumi");
        }

        const out = project.pulumi(["stack", "output", "--stack", "local", "--json"]);
        expect(out.status, out.stderr).toBe(0);
        const outputs = JSON.parse(out.stdout) as { environment: Record<string, unknown>; deliveryMode: string };
        expect(outputs.deliveryMode).toBe("render");
        expect(outputs.environment).toMatchObject({
            schemaVersion: "1.0.0",
            id: "platform/local",
            name: "local",
            status: "deployed-ok",
            tags: { owner: "platform-team@example.com", environment: "local", "managed-by": "pulumi" },
        });
        const resources = (outputs.environment.resources as { id: string; dependsOn: string[] }[]).map((r) => r.id);
        expect(resources).toEqual(expect.arrayContaining(["cluster", "namespace/platform-system", "mesh/istiod", "vault", "postgres", "rabbitmq", "consul"]));
        expect(Date.parse(outputs.environment.createdAt as string)).not.toBeNaN();
        expect(recordProblems(outputs.environment)).toEqual([]);

        // Rendered files are read, copied and committed: every generated Secret is
        // there (for the charts that reference it) without its generated values;
        // only fixed, non-secret keys (a username) are rendered.
        // (The charts' own Secrets, such as Alertmanager's configuration, hold no generated value.)
        const secrets = (objects as (K8sObject & { data?: Record<string, string>; stringData?: Record<string, string>; metadata: { annotations?: Record<string, string> } })[]).filter(
            (o) => o.kind === "Secret" && o.metadata.annotations?.["platform.example.com/generated-keys"] !== undefined,
        );
        expect(secrets.map((o) => o.metadata.name).sort()).toEqual(["consul-gossip-key", "grafana-admin", "kiali-signing-key", "platform-postgres-superuser", "rabbitmq-default-user", "vault-dev-root-token"]);
        for (const secret of secrets) {
            const note = secret.metadata.annotations?.["platform.example.com/values"] ?? "";
            expect(note, secret.metadata.name).toMatch(new RegExp(`^not rendered: generated in the cluster by the Job ${secret.metadata.name}-generator \\(keys: .+\\)$`));
            const generated = /keys: (.+)\)$/.exec(note)?.[1].split(", ") ?? [];
            const rendered = Object.keys({ ...secret.data, ...secret.stringData });
            expect(rendered.filter((k) => generated.includes(k)), secret.metadata.name).toEqual([]);
        }
    });

    it("keeps the charts' selectors working: labels are added, never overwritten", () => {
        const objects = renderedObjects();
        expect(workloadsNotSelectingTheirPods(objects)).toEqual([]);
        // What selects objects this tree does not hold: the cluster's own
        // components (kubelet, API server, CoreDNS…) and what operators create
        // when they run (RabbitMQ's and CloudNativePG's pods and Services).
        const outsideTheRender = new Set(OUTSIDE_THE_RENDER);
        const nothing = selectorsSelectingNothing(objects);
        expect(nothing.filter((p) => !outsideTheRender.has(p.slice(0, p.indexOf(":"))))).toEqual([]);
        console.log(`[figure] selectors checked over ${objects.length} rendered objects; ${nothing.length} select what only a running cluster holds`);
    });

    it("renders a tree the Kubernetes 1.35 API server accepts (server-side dry run, CRDs and namespaces first)", async () => {
        const objects = renderedObjects();
        const cluster = await startTestCluster();
        try {
            const first = objects.filter((o) => o.kind === "CustomResourceDefinition" || o.kind === "Namespace");
            const rest = objects.filter((o) => o.kind !== "CustomResourceDefinition" && o.kind !== "Namespace");
            const list = (items: RenderedObject[]) => JSON.stringify({ apiVersion: "v1", kind: "List", items });
            const created = await cluster.kubectl(["apply", "--server-side", "-f", "-"], list(first));
            expect(created.status, created.stderr).toBe(0);
            const established = await cluster.kubectl(["wait", "--for=condition=Established", "crd", "--all", "--timeout=120s"]);
            expect(established.status, established.stderr).toBe(0);
            const dryRun = await cluster.kubectl(["apply", "--server-side", "--dry-run=server", "-f", "-"], list(rest));
            const rejected = dryRun.stderr.split("\n").filter((l) => l.trim() !== "");
            expect(rejected, "objects the API server refused").toEqual([]);
            expect(dryRun.status).toBe(0);
            console.log(`[figure] server-side dry run: ${first.length} CRDs and namespaces applied, ${rest.length} objects accepted, ${rejected.length} rejected`);

            // The generated Secrets as GitOps delivers them: applied without values,
            // then filled in the cluster by their Jobs, each under its own ServiceAccount.
            const generated = (objects as (RenderedJob & { metadata: { annotations?: Record<string, string> } })[]).filter(
                (o) => (o.kind === "Secret" && o.metadata.annotations?.["platform.example.com/generated-keys"] !== undefined) || (isSecretGeneratorObject(o) && o.kind !== "Job"),
            );
            const applied = await cluster.kubectl(["apply", "--server-side", "-f", "-"], list(generated as RenderedObject[]));
            expect(applied.status, applied.stderr).toBe(0);
            const jobs = (objects as RenderedJob[]).filter((o) => o.kind === "Job" && isSecretGeneratorObject(o));
            expect(jobs.map((j) => j.metadata.name).sort()).toEqual(
                ["consul-gossip-key", "grafana-admin", "kiali-signing-key", "platform-postgres-superuser", "rabbitmq-default-user", "vault-dev-root-token"].map((n) => `${n}-generator`),
            );
            const firstRun = await runSecretGenerators(cluster, jobs);
            const filled: Record<string, Record<string, string>> = {};
            for (const run of firstRun) {
                expect(run.result.status, `${run.job}: ${run.result.stderr}`).toBe(0);
                expect(run.result.stdout).toContain(`secret ${run.namespace}/${run.secretName}: filled`);
                filled[run.job] = await secretValues(cluster, run.namespace, run.secretName);
                const job = jobs.find((j) => j.metadata.name === run.job)!;
                expect(generatedSecretProblems(filled[run.job], generatorEnv(job)), run.job).toEqual([]);
            }
            // A re-sync runs them again: nothing changes, no credential rotates.
            const secondRun = await runSecretGenerators(cluster, jobs);
            for (const run of secondRun) {
                expect(run.result.status, `${run.job}: ${run.result.stderr}`).toBe(0);
                expect(run.result.stdout).toContain("every key present, nothing to do");
                expect(await secretValues(cluster, run.namespace, run.secretName)).toEqual(filled[run.job]);
            }
            // Each generator may touch its own Secret only.
            const other = firstRun.find((r) => r.secretName !== firstRun[0].secretName && r.namespace === firstRun[0].namespace) ?? firstRun[1];
            const forbidden = await cluster.kubectl(["get", "secret", other.secretName, "-n", other.namespace, `--as=system:serviceaccount:${firstRun[0].namespace}:${firstRun[0].secretName}-generator`]);
            expect(forbidden.status).not.toBe(0);
            expect(forbidden.stderr).toContain("forbidden");
            console.log(`[figure] secret generators: ${firstRun.length} Secrets applied without values and filled in the cluster; a second run changed 0`);
        } finally {
            await cluster.stop();
        }
    });

    it("is idempotent: a second up changes nothing and keeps the creation date", async () => {
        const before = JSON.parse(project.pulumi(["stack", "output", "--stack", "local", "--json"]).stdout);
        // The update alone (no preview run before it): --expect-no-changes fails it on any change it makes.
        const result = await project.pulumiAsync(["up", "--yes", "--skip-preview", "--stack", "local", "--expect-no-changes", "--policy-pack", "policies", "--policy-pack-config", "policies/config/local.json"]);
        expect(result.status, result.stdout + result.stderr).toBe(0);
        const after = JSON.parse(project.pulumi(["stack", "output", "--stack", "local", "--json"]).stdout);
        expect(after.environment.createdAt).toBe(before.environment.createdAt);
    });

    it("stops on bad config before any resource, naming the key and without a stack trace", async () => {
        project.setConfig("local", "platform:owner", "not-an-email");
        try {
            const result = await project.pulumiAsync(["preview", "--stack", "local"]);
            expect(result.status).not.toBe(0);
            const text = result.stdout + result.stderr;
            expect(text).toContain('platform:owner: must be an email address (got "not-an-email")');
            expect(text).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);
            expect(text).not.toContain("platform:cluster:ExistingCluster");
        } finally {
            project.setConfig("local", "platform:owner", "platform-team@example.com");
        }
    });
});
