import { beforeAll, beforeEach, describe, expect, it } from "vitest";

import { expectRefusedBeforeRegistering, expectUniqueKeys, K8S, setupRenderedComponent, TEST_TAGS as tags } from "../../test/helpers/component";
import { MockSession, settle } from "../../test/helpers/mocks";

let session: MockSession;
let ns: typeof import("./index");
let cluster: import("../cluster").ExistingCluster;

beforeAll(async () => {
    ({ session, mod: ns, cluster } = await setupRenderedComponent(() => import("./index")));
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
        const labels = (session.get(K8S.namespace, "apps-namespace").inputs.metadata as {
            labels: Record<string, string>;
        }).labels;
        expect(labels["istio-injection"]).toBe("enabled");
        expect(labels["platform.example.com/environment"]).toBe("dev");
        expect(labels["app.kubernetes.io/managed-by"]).toBe("pulumi");
    });

    it("denies all traffic by default and allows DNS and same-namespace traffic", async () => {
        new ns.PlatformNamespace("data", { cluster, tags });
        await settle(session);
        const policies = session.ofType(K8S.networkPolicy);
        expect(policies.map((p) => p.name).sort()).toEqual([
            "data-allow-dns",
            "data-allow-same-namespace",
            "data-default-deny",
        ]);
        const deny = session.get(K8S.networkPolicy, "data-default-deny").inputs
            .spec as PolicySpec;
        expect(deny.podSelector).toEqual({});
        expect(deny.policyTypes).toEqual(["Ingress", "Egress"]);
        const dns = session.get(K8S.networkPolicy, "data-allow-dns").inputs.spec as PolicySpec;
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
        expectUniqueKeys(session);
    });
});

describe("PlatformNamespace allow rules", () => {
    type Allow = import("./index").NetworkAllow;
    interface Rule {
        from?: { namespaceSelector: { matchLabels: Record<string, string> } }[];
        to?: { namespaceSelector: { matchLabels: Record<string, string> } }[];
        ports?: { port: number; protocol: string }[];
    }
    interface AllowPolicy {
        metadata: { name: string; namespace: string };
        spec: { podSelector: { matchLabels?: Record<string, string> }; policyTypes: string[]; ingress?: Rule[]; egress?: Rule[] };
    }
    const policy = (name: string) => session.get(K8S.networkPolicy, name).inputs as unknown as AllowPolicy;
    const peerNames = (rule: Rule | undefined, dir: "from" | "to") =>
        rule?.[dir]?.map((p) => p.namespaceSelector.matchLabels["kubernetes.io/metadata.name"]);
    const withAllows = (allowIngress: Allow[], allowEgress: Allow[] = []) => () =>
        ns.validatePlatformNamespaceArgs("apps", { cluster, tags, allowIngress, allowEgress });

    it("allows ingress from named namespaces on the given ports, for the selected pods", async () => {
        new ns.PlatformNamespace("apps", {
            cluster,
            tags,
            allowIngress: [
                { name: "web", podSelector: { app: "api" }, ports: [{ port: 8080 }, { port: 5353, protocol: "UDP" }], peers: { namespaces: ["gateway", "observability"] } },
            ],
        });
        await settle(session);
        const p = policy("apps-allow-web");
        expect(p.metadata).toMatchObject({ name: "allow-web", namespace: "apps" });
        expect(p.spec.podSelector).toEqual({ matchLabels: { app: "api" } });
        expect(p.spec.policyTypes).toEqual(["Ingress"]);
        expect(p.spec.egress).toBeUndefined();
        expect(p.spec.ingress).toHaveLength(1);
        expect(peerNames(p.spec.ingress?.[0], "from")).toEqual(["gateway", "observability"]);
        expect(p.spec.ingress?.[0].ports).toEqual([
            { port: 8080, protocol: "TCP" },
            { port: 5353, protocol: "UDP" },
        ]);
    });

    it("allows egress anywhere without a peer list, and every port when none is given", async () => {
        new ns.PlatformNamespace("apps", {
            cluster,
            tags,
            allowEgress: [
                { name: "internet", ports: [{ port: 443 }], peers: "anywhere" },
                { name: "db", peers: { namespaces: ["postgres"] } },
            ],
        });
        await settle(session);
        const internet = policy("apps-allow-internet");
        expect(internet.spec.policyTypes).toEqual(["Egress"]);
        expect(internet.spec.podSelector.matchLabels).toBeUndefined();
        expect(internet.spec.ingress).toBeUndefined();
        expect(internet.spec.egress?.[0].to).toBeUndefined();
        expect(internet.spec.egress?.[0].ports).toEqual([{ port: 443, protocol: "TCP" }]);
        const db = policy("apps-allow-db");
        expect(peerNames(db.spec.egress?.[0], "to")).toEqual(["postgres"]);
        expect(db.spec.egress?.[0].ports).toBeUndefined();
    });

    it("with createNamespace: false creates only the policies, in the named namespace", async () => {
        const n = new ns.PlatformNamespace("ext", {
            cluster,
            tags,
            namespaceName: "upstream-ns",
            createNamespace: false,
            allowIngress: [{ name: "metrics", ports: [{ port: 9090 }], peers: { namespaces: ["observability"] } }],
        });
        await settle(session);
        expect(session.ofType(K8S.namespace)).toEqual([]);
        expect(n.namespace).toBeUndefined();
        const policies = session.ofType(K8S.networkPolicy);
        expect(policies.map((p) => p.name).sort()).toEqual(["ext-allow-dns", "ext-allow-metrics", "ext-allow-same-namespace", "ext-default-deny"]);
        expect(policies.every((p) => (p.inputs.metadata as { namespace: string }).namespace === "upstream-ns")).toBe(true);
    });

    it("refuses allow names that are not DNS labels, or too long once prefixed", () => {
        expect(withAllows([{ name: "Web_UI", peers: "anywhere" }])).toThrow(/namespace "apps": allow name "Web_UI" is not a DNS label/);
        expect(withAllows([], [{ name: "x".repeat(58), peers: "anywhere" }])).toThrow(/allow name "x{58}" is not a DNS label/);
        expect(withAllows([{ name: "x".repeat(57), peers: "anywhere" }])).not.toThrow();
    });

    it("refuses ports outside 1..65535, naming the allow", () => {
        for (const port of [0, 65_536, 80.5]) {
            expect(withAllows([{ name: "web", ports: [{ port }], peers: "anywhere" }])).toThrow(
                new RegExp(`allow "web" port ${port}; allowed: an integer from 1 to 65535`),
            );
        }
        expect(withAllows([], [{ name: "web", ports: [{ port: 1 }, { port: 65_535 }], peers: "anywhere" }])).not.toThrow();
    });

    it("refuses a name used twice across ingress and egress, or taken by a built-in policy", () => {
        expect(withAllows([{ name: "db", peers: "anywhere" }], [{ name: "db", peers: "anywhere" }])).toThrow(
            /allow names must be unique across allowIngress and allowEgress/,
        );
        expect(withAllows([{ name: "a", peers: "anywhere" }, { name: "a", peers: "anywhere" }])).toThrow(/allow names must be unique/);
        expect(withAllows([], [{ name: "dns", ports: [{ port: 53 }], peers: "anywhere" }])).toThrow(/allow name "dns" is taken by a built-in policy/);
        expect(withAllows([{ name: "same-namespace", peers: "anywhere" }])).toThrow(/allow name "same-namespace" is taken/);
    });

    it("refuses an empty namespace list, which Kubernetes would read as every peer", () => {
        expect(withAllows([{ name: "clients", ports: [{ port: 5432 }], peers: { namespaces: [] } }])).toThrow(
            /allow "clients" peers\.namespaces is empty/,
        );
    });

    it("validates in the constructor, before registering anything", async () => {
        await expectRefusedBeforeRegistering(
            session,
            () => new ns.PlatformNamespace("bad", { cluster, tags, allowEgress: [{ name: "db", ports: [{ port: 0 }], peers: "anywhere" }] }),
            /port 0/,
        );
    });
});
