import { beforeAll, describe, expect, it } from "vitest";


import { defaultTestChartMirror } from "../../test/helpers/real-charts";
import { policyReport } from "../../test/helpers/policy-report";
import { recordProblems } from "../record-schema";
import { MockSession, setupMocks, settle, unwrapSecret, valueOf } from "../../test/helpers/mocks";

const config = {
    "platform:template": "local",
    "platform:description": "unit test",
    "platform:owner": "team@example.com",
    "platform:costCenter": "PLT-0001",
    "platform:repository": "platform-gitops",
    "platform:kubernetesTarget": "render",
    "platform:chartMirror": defaultTestChartMirror(),
};

let session: MockSession;
let outputs: Awaited<ReturnType<typeof import("../index").runEnvironment>>;

beforeAll(async () => {
    session = await setupMocks({ config, stack: "local" });
    const { runEnvironment } = await import("../index");
    outputs = await runEnvironment();
    await settle(session);
});

interface Meta {
    metadata?: { labels?: Record<string, string> };
}

describe("the local environment under mocks", () => {
    it("renders through one kubernetes provider", () => {
        const providers = session.ofType("pulumi:providers:kubernetes");
        expect(providers).toHaveLength(1);
        expect(String(providers[0].inputs.renderYamlToDirectory)).toMatch(/rendered\/local$/);
    });

    it("labels every Kubernetes object with the standard labels", () => {
        // Charts and manifests label their objects through a transform (checked by the engine tests).
        const objects = session.resources.filter(
            (r) => r.type.startsWith("kubernetes:") && !r.type.startsWith("kubernetes:helm.sh/") && !r.type.startsWith("kubernetes:yaml/"),
        );
        expect(objects.length).toBeGreaterThanOrEqual(5);
        for (const o of objects) {
            const labels = (o.inputs as Meta).metadata?.labels ?? {};
            expect(labels["app.kubernetes.io/managed-by"], o.name).toBe("pulumi");
            expect(labels["platform.example.com/environment"], o.name).toBe("local");
            expect(labels["platform.example.com/cost-center"], o.name).toBe("PLT-0001");
        }
    });

    it("outputs the environment record", async () => {
        const record = (await valueOf(outputs!.environment)) as Record<string, unknown>;
        expect(record).toMatchObject({
            schemaVersion: "1.0.0",
            id: "platform/local",
            name: "local",
            description: "unit test",
            status: "deployed-ok",
            plannedDestructionAt: null,
            tags: { owner: "team@example.com", "cost-center": "PLT-0001", "managed-by": "pulumi" },
        });
        expect(record.templates).toEqual([expect.objectContaining({ name: "local", version: "0.2.0" })]);
        const resources = record.resources as { id: string; status: string; dependsOn: string[] }[];
        expect(resources.map((r) => r.id)).toEqual(
            expect.arrayContaining([
                "cluster",
                "namespace/platform-system",
                "cert-manager",
                "mesh/istiod",
                "mesh/ingress-gateway",
                "mesh/egress-gateway",
                "observability/prometheus",
                "observability/jaeger",
                "observability/kiali",
                "observability/loki",
                "observability/fluent-bit",
                "vault",
                "postgres",
                "rabbitmq",
                "consul",
            ]),
        );
        expect(new Set(resources.map((r) => r.status))).toEqual(new Set(["rendered"]));
    });

    it("has a closed dependency graph: every dependency is a record of the environment, ids are unique", async () => {
        const record = (await valueOf(outputs!.environment)) as { resources: { id: string; dependsOn: string[] }[] };
        const ids = record.resources.map((r) => r.id);
        expect(new Set(ids).size).toBe(ids.length);
        for (const r of record.resources) {
            for (const dep of r.dependsOn) {
                expect(ids, `${r.id} depends on ${dep}`).toContain(dep);
            }
        }
    });

    it("without platform:manager, declares no application database: no managed roles, no Database, no manager", () => {
        const cluster = session.get("kubernetes:postgresql.cnpg.io/v1:Cluster", "postgres-cluster").inputs as { spec: Record<string, unknown> };
        expect(cluster.spec.managed).toBeUndefined();
        expect(session.ofType("kubernetes:postgresql.cnpg.io/v1:Database")).toEqual([]);
        expect(session.ofType("platform:manager:EnvironmentManager")).toEqual([]);
    });

    it("runs every platform service from its pinned chart, with STRICT mTLS mesh-wide", () => {
        const charts = session.ofType("kubernetes:helm.sh/v4:Chart").map((c) => String(c.inputs.chart).split("/").pop());
        expect(charts.sort()).toEqual(
            [
                "base-1.30.3.tgz",
                "cert-manager-v1.21.1.tgz",
                "cloudnative-pg-0.29.0.tgz",
                "consul-2.0.3.tgz",
                "fluent-bit-0.58.1.tgz",
                "gateway-1.30.3.tgz",
                "gateway-1.30.3.tgz",
                "istiod-1.30.3.tgz",
                "jaeger-4.11.1.tgz",
                "kiali-server-2.29.0.tgz",
                "kube-prometheus-stack-88.5.3.tgz",
                "loki-18.11.0.tgz",
                "vault-0.34.1.tgz",
            ].sort(),
        );
        const mtls = session.ofType("kubernetes:security.istio.io/v1:PeerAuthentication").find((p) => p.name === "mesh-strict-mtls");
        expect(mtls?.inputs).toMatchObject({ metadata: { name: "default", namespace: "istio-system" }, spec: { mtls: { mode: "STRICT" } } });
    });

    it("keeps Vault in dev mode with a generated root token that is never in the chart values", () => {
        const vault = session.get("kubernetes:helm.sh/v4:Chart", "vault-chart");
        const values = vault.inputs.values as { server: { dev: { enabled: boolean; devRootToken: string } } };
        expect(values.server.dev.enabled).toBe(true);
        expect(values.server.dev.devRootToken).toBe("set-from-secret");
        expect(values.server).toMatchObject({ extraSecretEnvironmentVars: [{ secretName: "vault-dev-root-token", secretKey: "token" }] });
        // Rendered: the Secret is there for the chart to reference, without its value.
        const token = session.get("kubernetes:core/v1:Secret", "vault-dev-root-token-secret");
        expect(token.inputs.stringData).toBeUndefined();
    });

    it("renders every generated Secret without its generated values: rendered files are read, copied and committed", () => {
        const secrets = session.ofType("kubernetes:core/v1:Secret");
        expect(secrets.map((s) => s.name).sort()).toEqual([
            "consul-gossip-key-secret",
            "observability-grafana-admin-secret",
            "observability-kiali-signing-key-secret",
            "postgres-superuser-secret",
            "rabbitmq-default-user-secret",
            "vault-dev-root-token-secret",
        ]);
        for (const secret of secrets) {
            const inputs = secret.inputs as { stringData?: unknown; data?: unknown; metadata: { annotations?: Record<string, string> } };
            const generated = inputs.metadata.annotations?.["platform.example.com/generated-keys"]?.split(",") ?? [];
            expect(generated.length, secret.name).toBeGreaterThan(0);
            // Only the fixed, non-secret keys (a username) are rendered.
            const rendered = Object.keys(unwrapSecret<Record<string, string> | undefined>(inputs.stringData) ?? {});
            expect(rendered.filter((k) => generated.includes(k)), secret.name).toEqual([]);
            expect(inputs.data, secret.name).toBeUndefined();
            expect(inputs.metadata.annotations?.["platform.example.com/values"], secret.name).toMatch(/^not rendered: generated in the cluster by the Job [a-z0-9-]+-generator/);
        }
        // Each is filled in the cluster by its own generator Job.
        const jobs = session.ofType("kubernetes:batch/v1:Job").map((j) => j.name).sort();
        expect(jobs).toEqual(secrets.map((s) => s.name.replace(/-secret$/, "-generator")).sort());
    });

    it("never loads a cloud SDK, nor the Vault or Consul SDKs in render mode", () => {
        const loaded = Object.keys(require.cache);
        for (const sdk of ["@pulumi/aws/", "@pulumi/azure-native/", "@pulumi/vault/", "@pulumi/consul/"]) {
            expect(loaded.filter((m) => m.includes(sdk)), sdk).toEqual([]);
        }
        expect(loaded.some((m) => m.includes("@pulumi/kubernetes/"))).toBe(true);
    });

    it("passes the policy pack with local's config: backups are the one advisory finding", async () => {
        const findings = await policyReport(session, "local");
        expect(findings.filter((f) => f.level === "mandatory")).toEqual([]);
        expect(findings.map((f) => `${f.level} ${f.policy}`)).toEqual(["advisory database-encrypted-backed-up"]);
    });

    it("outputs a record that validates against the committed schema and holds no generated secret", async () => {
        const record = await valueOf(outputs!.environment);
        expect(recordProblems(record)).toEqual([]);
        // The generated values themselves are checked against the outputs in apply mode (test/engine/test-cluster.test.ts).
        expect(JSON.stringify(record)).not.toMatch(/password|token"\s*:/i);
    });
});
