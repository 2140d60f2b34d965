import { beforeAll, describe, expect, it } from "vitest";

import { defaultTestChartMirror } from "../../test/helpers/real-charts";
import { CloudRun, runCloudEnvironment } from "../../test/helpers/cloud-environment";
import { valueOf } from "../../test/helpers/mocks";
import { policyReport } from "../../test/helpers/policy-report";
import { recordProblems } from "../record-schema";
import { takesTags } from "../../test/helpers/taggable";

let run: CloudRun;

beforeAll(async () => {
    const mirror = defaultTestChartMirror();
    run = await runCloudEnvironment("dev", "azure", mirror);
}, 60_000);

describe("the dev template on Azure (under mocks)", () => {
    it("runs on AKS with Flexible Server, and never loads the AWS SDK", () => {
        expect(run.session.ofType("azure-native:containerservice:ManagedCluster")).toHaveLength(1);
        expect(run.session.ofType("azure-native:dbforpostgresql:Server")).toHaveLength(1);
        expect(Object.keys(require.cache).filter((m) => m.includes("@pulumi/aws/"))).toEqual([]);
    });

    it("tags every taggable Azure resource, required tags winning over extras", () => {
        const taggable = run.session.resources.filter((r) => takesTags(r.type));
        expect(taggable.length).toBeGreaterThan(8);
        for (const r of taggable) {
            expect(r.inputs.tags, `${r.type} ${r.name}`).toMatchObject({
                owner: "platform-team@example.com",
                environment: "dev",
                "cost-center": "PLT-0001",
                "managed-by": "pulumi",
                repository: "gitlab.example.com/platform/platform-gitops",
            });
        }
    });

    it("does not protect dev's stateful resources, except the Vault unseal key and its key vault", () => {
        const protectedNames = run.session.resources.filter((r) => r.protect).map((r) => `${r.type} ${r.name}`);
        expect(protectedNames.sort()).toEqual(["azure-native:keyvault:Key vault-unseal-key", "azure-native:keyvault:Vault vault-unseal"]);
    });

    it("unseals Vault with the Key Vault key through workload identity", () => {
        const vault = run.session.get("kubernetes:helm.sh/v4:Chart", "vault-chart");
        const server = (vault.inputs.values as { server: Record<string, unknown> }).server;
        const ha = server.ha as { replicas: number; raft: { config: string } };
        expect(ha.replicas).toBe(3);
        expect(ha.raft.config).toContain('seal "azurekeyvault"');
        expect(ha.raft.config).toContain('tenant_id  = "00000000-0000-0000-0000-0000000000aa"');
        expect(server.extraLabels).toEqual({ "azure.workload.identity/use": "true" });
        const federation = run.session.get("azure-native:managedidentity:FederatedIdentityCredential", "vault-federation");
        expect(federation.inputs.subject).toBe("system:serviceaccount:vault:vault");
    });

    it("allows any egress in dev and publishes the gateway on a load balancer", () => {
        const istiod = run.session.get("kubernetes:helm.sh/v4:Chart", "mesh-istiod");
        expect(istiod.inputs.values).toMatchObject({ meshConfig: { outboundTrafficPolicy: { mode: "ALLOW_ANY" } } });
        const gateway = run.session.get("kubernetes:helm.sh/v4:Chart", "mesh-ingress-gateway");
        expect(gateway.inputs.values).toMatchObject({ service: { type: "LoadBalancer" } });
    });

    it("outputs a record whose entrypoints are the ingress domain", async () => {
        const record = (await valueOf(run.outputs!.environment)) as { entrypoints: string[]; name: string };
        expect(record.name).toBe("dev");
        expect(record.entrypoints).toContain("https://dev.platform.example.com");
    });

    it("passes the policy pack with dev's config: no mandatory violation", async () => {
        const findings = await policyReport(run.session, "dev");
        expect(findings.filter((f) => f.level === "mandatory")).toEqual([]);
    });

    it("outputs a record that validates against the committed schema", async () => {
        expect(recordProblems(await valueOf(run.outputs!.environment))).toEqual([]);
    });
});
