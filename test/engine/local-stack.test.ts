import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";

import * as path from "node:path";

import { recordProblems } from "../../environments/record-schema";
import { createChartMirror } from "../helpers/chart-mirror";
import { createEngineProject, EngineProject, readTree } from "../helpers/engine";

interface K8sObject {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace?: string; labels?: Record<string, string> };
}

let project: EngineProject;

beforeAll(() => {
    project = createEngineProject();
    const init = project.pulumi(["stack", "init", "local"]);
    expect(init.status, init.stderr).toBe(0);
    project.setConfig("local", "platform:renderDirectory", project.renderDir);
    // TEST DOUBLES of the pinned charts: the upstream repositories are not reachable here.
    project.setConfig("local", "platform:chartMirror", createChartMirror(path.join(project.dir, "..", "chart-mirror")));
});
afterAll(() => project?.cleanup());

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
        const result = await project.pulumiAsync(["up", "--yes", "--stack", "local", "--policy-pack", "policies", "--policy-pack-config", "policies/config/local.json"]);
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
            "Deployment/vault/vault",
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
        // there (for the charts that reference it) without its values.
        const secrets = objects.filter((o) => o.kind === "Secret") as (K8sObject & { data?: unknown; stringData?: unknown; metadata: { annotations?: Record<string, string> } })[];
        expect(secrets.map((o) => o.metadata.name).sort()).toEqual(["grafana-admin", "platform-postgres-superuser", "rabbitmq-default-user", "vault-dev-root-token"]);
        for (const secret of secrets) {
            expect(secret.data ?? secret.stringData, secret.metadata.name).toBeUndefined();
            expect(secret.metadata.annotations?.["platform.example.com/values"], secret.metadata.name).toMatch(/^not rendered/);
        }
    });

    it("is idempotent: a second up changes nothing and keeps the creation date", async () => {
        const before = JSON.parse(project.pulumi(["stack", "output", "--stack", "local", "--json"]).stdout);
        const result = await project.pulumiAsync(["up", "--yes", "--stack", "local", "--expect-no-changes", "--policy-pack", "policies", "--policy-pack-config", "policies/config/local.json"]);
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
