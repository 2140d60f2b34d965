import { beforeAll, describe, expect, it } from "vitest";

import { defaultTestChartMirror } from "../../test/helpers/real-charts";
import { CloudRun, runCloudEnvironment } from "../../test/helpers/cloud-environment";
import { valueOf } from "../../test/helpers/mocks";
import { policyReport } from "../../test/helpers/policy-report";
import { recordProblems } from "../record-schema";
import { takesTags } from "../../test/helpers/taggable";

const REQUIRED_TAGS = ["owner", "environment", "cost-center", "managed-by", "repository"];
let run: CloudRun;

beforeAll(async () => {
    const mirror = defaultTestChartMirror();
    run = await runCloudEnvironment("prod", "aws", mirror);
}, 60_000);

describe("the prod template on AWS (under mocks)", () => {
    it("runs on EKS with RDS, and never loads the Azure SDK", () => {
        expect(run.session.ofType("aws:eks/cluster:Cluster")).toHaveLength(1);
        expect(run.session.ofType("aws:rds/instance:Instance")).toHaveLength(1);
        expect(run.session.ofType("platform:postgres:InClusterPostgres")).toHaveLength(0);
        expect(Object.keys(require.cache).filter((m) => m.includes("@pulumi/azure-native/"))).toEqual([]);
    });

    it("tags every taggable AWS resource with the five required tags", () => {
        const taggable = run.session.resources.filter((r) => takesTags(r.type));
        expect(taggable.length).toBeGreaterThan(20);
        for (const r of taggable) {
            const tags = (r.inputs.tags ?? {}) as Record<string, string>;
            for (const key of REQUIRED_TAGS) {
                expect(tags[key], `${r.type} ${r.name} tag ${key}`).toBeTruthy();
            }
            expect(tags.environment).toBe("prod");
        }
    });

    it("protects every stateful resource in prod", () => {
        for (const [type, name] of [
            ["aws:eks/cluster:Cluster", "cluster-cluster"],
            ["aws:rds/instance:Instance", "postgres-db"],
            ["aws:kms/key:Key", "vault-unseal-key"],
            ["kubernetes:rabbitmq.com/v1beta1:RabbitmqCluster", "rabbitmq-cluster"],
            ["kubernetes:helm.sh/v4:Chart", "consul-chart"],
        ]) {
            const found = run.session.resources.find((r) => r.type === type && (r.name === name || r.name.startsWith(name)));
            expect(found, `${type} ${name}`).toBeDefined();
            expect(found?.protect, `${type} ${found?.name}`).toBe(true);
        }
    });

    it("runs Vault in HA, unsealed by KMS through IRSA", () => {
        const vault = run.session.get("kubernetes:helm.sh/v4:Chart", "vault-chart");
        const server = (vault.inputs.values as { server: Record<string, unknown> }).server;
        expect(server.dev).toBeUndefined();
        const ha = server.ha as { replicas: number; raft: { enabled: boolean; config: string } };
        expect(ha.replicas).toBe(5);
        expect(ha.raft.config).toMatch(/seal "awskms" \{\n {2}region {5}= "eu-west-1"\n {2}kms_key_id = "vault-unseal-key"/);
        expect((server.serviceAccount as { annotations: Record<string, string> }).annotations["eks.amazonaws.com/role-arn"]).toMatch(
            /^arn:aws:iam::\d+:role\/vault-unseal-role/,
        );
    });

    it("restricts egress to registered services and issues certificates with ACME", () => {
        const istiod = run.session.get("kubernetes:helm.sh/v4:Chart", "mesh-istiod");
        expect(istiod.inputs.values).toMatchObject({ meshConfig: { outboundTrafficPolicy: { mode: "REGISTRY_ONLY" } } });
        const issuer = run.session.get("kubernetes:cert-manager.io/v1:ClusterIssuer", "cert-manager-issuer");
        expect(issuer.inputs.spec).toMatchObject({ acme: { email: "platform-team@example.com" } });
    });

    it("records the managed database and the unseal key", async () => {
        const record = (await valueOf(run.outputs!.environment)) as { resources: { id: string; template: string }[]; templates: { name: string }[] };
        expect(record.templates[0].name).toBe("prod");
        expect(record.resources.map((r) => r.id)).toEqual(expect.arrayContaining(["cluster", "postgres", "vault/unseal-key", "vault", "rabbitmq"]));
        expect(record.resources.find((r) => r.id === "postgres")?.template).toBe("platform:postgres:RdsPostgresServer");
    });

    it("passes the policy pack with prod's config: no mandatory violation", async () => {
        const findings = await policyReport(run.session, "prod");
        expect(findings.filter((f) => f.level === "mandatory")).toEqual([]);
    });

    it("outputs a record that validates against the committed schema", async () => {
        expect(recordProblems(await valueOf(run.outputs!.environment))).toEqual([]);
    });
});
