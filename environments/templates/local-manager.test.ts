/**
 * The local program with `platform:manager` set: the environment manager is
 * deployed next to the RabbitMq and Postgres instances, which let it in. (The
 * program without it is local.test.ts's; unset, it registers nothing new.)
 */
import { beforeAll, describe, expect, it } from "vitest";

import { MockSession, setupMocks, settle, unwrapSecret, valueOf } from "../../test/helpers/mocks";
import { policyReport } from "../../test/helpers/policy-report";
import { defaultTestChartMirror } from "../../test/helpers/real-charts";
import { recordProblems } from "../record-schema";

const IMAGE = `registry.example.com/platform/manager@sha256:${"cd".repeat(32)}`;

let session: MockSession;
let outputs: Awaited<ReturnType<typeof import("../index").runEnvironment>>;

beforeAll(async () => {
    session = await setupMocks({
        stack: "local",
        config: {
            "platform:template": "local",
            "platform:description": "unit test",
            "platform:owner": "team@example.com",
            "platform:costCenter": "PLT-0001",
            "platform:repository": "platform-gitops",
            "platform:kubernetesTarget": "render",
            "platform:chartMirror": defaultTestChartMirror(),
            // As the engine passes a map setting: JSON.
            "platform:manager": JSON.stringify({ image: IMAGE, replicas: 3 }),
        },
    });
    const { runEnvironment } = await import("../index");
    outputs = await runEnvironment();
    await settle(session);
});

const clientNamespaces = (policy: string) =>
    ((session.get("kubernetes:networking.k8s.io/v1:NetworkPolicy", policy).inputs as { spec: { ingress: { from: { namespaceSelector: { matchLabels: Record<string, string> } }[] }[] } }).spec.ingress[0].from).map(
        (p) => p.namespaceSelector.matchLabels["kubernetes.io/metadata.name"],
    );

describe("the local environment with platform:manager", () => {
    it("deploys the EnvironmentManager with the configured image and replicas", () => {
        expect(session.ofType("platform:manager:EnvironmentManager").map((r) => r.name)).toEqual(["manager"]);
        const deployment = session.get("kubernetes:apps/v1:Deployment", "manager-deployment").inputs as {
            metadata: { namespace: string };
            spec: { replicas: number; template: { spec: { containers: { image: string; args: string[] }[] } } };
        };
        expect(deployment.metadata.namespace).toBe("manager");
        expect(deployment.spec.replicas).toBe(3);
        expect(deployment.spec.template.spec.containers[0].image).toBe(IMAGE);
        expect(deployment.spec.template.spec.containers[0].args).toEqual(expect.arrayContaining(["--primary", "--lease-namespace", "manager"]));
    });

    it("lets it reach the bus and the database (and keeps platform-system a client)", () => {
        expect(clientNamespaces("rabbitmq-ns-allow-clients")).toEqual(["platform-system", "manager"]);
        expect(clientNamespaces("postgres-ns-allow-clients")).toEqual(["platform-system", "manager", "vault"]);
        const egress = (name: string) => JSON.stringify(session.get("kubernetes:networking.k8s.io/v1:NetworkPolicy", name).inputs);
        expect(egress("manager-ns-allow-rabbitmq")).toContain('"kubernetes.io/metadata.name":"rabbitmq"');
        expect(egress("manager-ns-allow-postgres")).toContain('"kubernetes.io/metadata.name":"postgres"');
    });

    it("gets its database from the in-cluster Postgres: a role and a Database made by it, no Secret to provide by hand", () => {
        const cluster = session.get("kubernetes:postgresql.cnpg.io/v1:Cluster", "postgres-cluster").inputs as { spec: { managed?: { roles: { name: string; login: boolean; passwordSecret: { name: string } }[] } } };
        expect(cluster.spec.managed?.roles).toEqual([expect.objectContaining({ name: "platform_manager", login: true, passwordSecret: { name: "platform-postgres-role-platform-manager" } })]);
        const database = session.get("kubernetes:postgresql.cnpg.io/v1:Database", "postgres-database-platform_manager").inputs as { metadata: { namespace: string }; spec: object };
        expect(database.metadata.namespace).toBe("postgres");
        expect(database.spec).toMatchObject({ name: "platform_manager", owner: "platform_manager", databaseReclaimPolicy: "retain" });
        // Rendered: the manager's own Secret holds the URL, and a Job copies the role's password into it in the cluster.
        const secret = session.get("kubernetes:core/v1:Secret", "manager-database").inputs as { metadata: { name: string; namespace: string } };
        expect(secret.metadata).toMatchObject({ name: "platform-manager-database", namespace: "manager" });
        expect(session.get("kubernetes:batch/v1:Job", "manager-database-copy").inputs).toMatchObject({ metadata: { namespace: "manager" } });
        const args = (session.get("kubernetes:apps/v1:Deployment", "manager-deployment").inputs as { spec: { template: { spec: { containers: { args: string[] }[] } } } }).spec.template.spec.containers[0].args;
        expect(args).toEqual(expect.arrayContaining(["--database-url-file", "--database-password-file"]));
    });

    it("gets its bus credentials from the RabbitMq instance: the URL without the password, and a Job copying the password in the cluster", () => {
        const secret = session.get("kubernetes:core/v1:Secret", "manager-amqp").inputs as { metadata: { name: string; namespace: string }; stringData: unknown };
        expect(secret.metadata).toMatchObject({ name: "platform-manager-amqp", namespace: "manager" });
        expect(unwrapSecret(secret.stringData)).toEqual({ url: "amqp://platform@platform-events.rabbitmq.svc.cluster.local:5672/" });
        const job = session.get("kubernetes:batch/v1:Job", "manager-amqp-copy").inputs as { metadata: { namespace: string }; spec: { template: { spec: { containers: { env: { name: string; value: string }[] }[] } } } };
        expect(job.metadata.namespace).toBe("manager");
        expect(Object.fromEntries(job.spec.template.spec.containers[0].env.map((e) => [e.name, e.value]))).toMatchObject({
            SOURCE_NAMESPACE: "rabbitmq",
            SOURCE_SECRET: "rabbitmq-default-user",
            SOURCE_KEY: "password",
            TARGET_SECRET: "platform-manager-amqp",
        });
        const args = (session.get("kubernetes:apps/v1:Deployment", "manager-deployment").inputs as { spec: { template: { spec: { containers: { args: string[] }[] } } } }).spec.template.spec.containers[0].args;
        expect(args).toEqual(expect.arrayContaining(["--amqp-url-file", "--amqp-password-file"]));
    });

    it("records it, with a closed dependency graph and a valid record", async () => {
        const record = (await valueOf(outputs!.environment)) as { resources: { id: string; dependsOn: string[]; count: number }[] };
        expect(recordProblems(record)).toEqual([]);
        const ids = record.resources.map((r) => r.id);
        expect(ids).toEqual(expect.arrayContaining(["manager", "namespace/manager"]));
        expect(new Set(ids).size).toBe(ids.length);
        for (const r of record.resources) {
            for (const dep of r.dependsOn) {
                expect(ids, `${r.id} depends on ${dep}`).toContain(dep);
            }
        }
        expect(record.resources.find((r) => r.id === "manager")?.count).toBe(3);
    });

    it("passes the policy pack with local's config: backups are still the one advisory finding", async () => {
        const findings = await policyReport(session, "local");
        expect(findings.map((f) => `${f.level} ${f.policy}`)).toEqual(["advisory database-encrypted-backed-up"]);
    });
});
