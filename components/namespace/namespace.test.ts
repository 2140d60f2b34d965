import { beforeAll, beforeEach, describe, expect, it } from "vitest";

import { MockSession, setupMocks, settle } from "../../test/helpers/mocks";

const tags = { owner: "team@example.com", environment: "dev", costCenter: "PLT-0001", repository: "platform-gitops" };

let session: MockSession;
let ns: typeof import("./index");
let cluster: import("../cluster").ExistingCluster;

beforeAll(async () => {
    session = await setupMocks();
    ns = await import("./index");
    const { ExistingCluster } = await import("../cluster");
    cluster = new ExistingCluster("c", { deliveryMode: "render", renderDirectory: "/tmp/c", tags });
});
beforeEach(() => session.reset());

interface PolicySpec {
    podSelector: object;
    policyTypes: string[];
    egress?: { ports?: { port: number }[] }[];
}

describe("PlatformNamespace", () => {
    it("rejects a name that is not a DNS label", () => {
        expect(() => new ns.PlatformNamespace("Bad_Name", { cluster, tags })).toThrow(
            /namespaceName "Bad_Name" is not a DNS label/,
        );
    });

    it("creates the namespace with standard labels and optional mesh injection", async () => {
        new ns.PlatformNamespace("apps", { cluster, tags, meshInjection: true });
        await settle(session);
        const labels = (session.get("kubernetes:core/v1:Namespace", "apps-namespace").inputs.metadata as {
            labels: Record<string, string>;
        }).labels;
        expect(labels["istio-injection"]).toBe("enabled");
        expect(labels["platform.example.com/environment"]).toBe("dev");
        expect(labels["app.kubernetes.io/managed-by"]).toBe("pulumi");
    });

    it("denies all traffic by default and allows DNS and same-namespace traffic", async () => {
        new ns.PlatformNamespace("data", { cluster, tags });
        await settle(session);
        const policies = session.ofType("kubernetes:networking.k8s.io/v1:NetworkPolicy");
        expect(policies.map((p) => p.name).sort()).toEqual([
            "data-allow-dns",
            "data-allow-same-namespace",
            "data-default-deny",
        ]);
        const deny = session.get("kubernetes:networking.k8s.io/v1:NetworkPolicy", "data-default-deny").inputs
            .spec as PolicySpec;
        expect(deny.podSelector).toEqual({});
        expect(deny.policyTypes).toEqual(["Ingress", "Egress"]);
        const dns = session.get("kubernetes:networking.k8s.io/v1:NetworkPolicy", "data-allow-dns").inputs.spec as PolicySpec;
        expect(dns.egress?.[0].ports?.map((p) => p.port)).toEqual([53, 53]);
        for (const p of policies) {
            const labels = (p.inputs.metadata as { labels: Record<string, string> }).labels;
            expect(labels["platform.example.com/owner"]).toBe("team_at_example.com");
        }
    });

    it("lets two instances coexist without name collisions", async () => {
        new ns.PlatformNamespace("one", { cluster, tags });
        new ns.PlatformNamespace("two", { cluster, tags });
        await settle(session);
        const names = session.resources.map((r) => `${r.type}::${r.name}`);
        expect(new Set(names).size).toBe(names.length);
    });
});
