import { beforeAll, beforeEach, describe, expect, it } from "vitest";

import { chartInputs, expectRefusedBeforeRegistering, K8S as T, settled, setupRenderedComponent, TEST_TAGS as tags } from "../../test/helpers/component";
import { MockSession } from "../../test/helpers/mocks";
import { consulValues } from "./charts";

interface ConsulValues {
    global: {
        datacenter: string;
        tls: { enabled: boolean; httpsOnly: boolean };
        acls: { manageSystemACLs: boolean };
        gossipEncryption: { autoGenerate: boolean };
    };
    server: { replicas: number; storage: string; storageClass?: string; serverCert?: { secretName: string } };
    connectInject: { enabled: boolean };
    syncCatalog: { enabled: boolean };
}

let session: MockSession;
let mod: typeof import("./server");
let cluster: import("../cluster").ExistingCluster;

beforeAll(async () => {
    ({ session, mod, cluster } = await setupRenderedComponent(() => import("./server")));
});
beforeEach(() => session.reset());

type Args = import("./server").ConsulServerArgs;
const args = (extra: Partial<Args> = {}): Args => ({ cluster, tags, ...extra });
const build = (name: string, serverArgs: Args) => settled(session, () => new mod.ConsulServer(name, serverArgs));
const valuesOf = (name: string) => chartInputs<ConsulValues>(session, `${name}-chart`).values;

describe("validateConsulServerArgs", () => {
    const cases: [string, Partial<Args>, RegExp][] = [
        ["an even number of replicas", { replicas: 4 }, /consul "c1": replicas is 4; allowed: an odd number \(1, 3, 5 or 7\)/],
        ["no replicas", { replicas: 0 }, /replicas is 0; allowed: an integer from 1 to 7/],
        ["more than 7 replicas", { replicas: 9 }, /replicas is 9; allowed: an integer from 1 to 7/],
        ["a malformed storage size", { storageSize: "ten" }, /storageSize is "ten"/],
    ];
    it.each(cases)("refuses %s, naming the setting", (_, extra, message) => {
        expect(() => mod.validateConsulServerArgs("c1", args(extra))).toThrow(message);
        expect(() => new mod.ConsulServer("c1", args(extra))).toThrow(message);
    });

    it("accepts odd replica counts", () => {
        for (const replicas of [1, 3, 5, 7]) {
            expect(() => mod.validateConsulServerArgs("c1", args({ replicas }))).not.toThrow();
        }
    });
});

describe("ConsulServer", () => {
    it("installs the pinned consul chart into the consul namespace", async () => {
        expect(mod.CONSUL_CHART).toEqual({ name: "consul", version: "2.0.3", repository: "https://helm.releases.hashicorp.com" });
        await build("consul", args());
        expect(session.get(T.chart, "consul-chart").inputs).toMatchObject({
            chart: "consul",
            version: "2.0.3",
            repositoryOpts: { repo: "https://helm.releases.hashicorp.com" },
            namespace: "consul",
            // The auth method's token Secret waits for its ServiceAccount.
            postRenderer: { command: "node", args: ["--import", "tsx", "components/shared/post-render.ts", "consul"] },
        });
        expect((session.get(T.namespace, "consul-ns-namespace").inputs.metadata as { name: string }).name).toBe("consul");
        expect(session.get(T.networkPolicy, "consul-ns-default-deny").inputs.spec).toEqual({ podSelector: {}, policyTypes: ["Ingress", "Egress"] });
    });

    it("secures Consul itself (TLS only, ACLs, gossip encryption) and leaves the mesh to Istio", async () => {
        await build("consul", args());
        const values = valuesOf("consul");
        expect(values.global.tls).toEqual({
            enabled: true,
            httpsOnly: true,
            caCert: { secretName: "consul-ca", secretKey: "tls.crt" },
            caKey: { secretName: "consul-ca", secretKey: "tls.key" },
        });
        expect(values.server.serverCert).toEqual({ secretName: "consul-server-cert" });
        expect(values.global.acls.manageSystemACLs).toBe(true);
        // The chart's hook jobs never run: the key is the platform's, generated once.
        expect(values.global.gossipEncryption).toEqual({ autoGenerate: false, secretName: "consul-gossip-key", secretKey: "key" });
        expect(values.connectInject.enabled).toBe(false);
        expect(values.syncCatalog.enabled).toBe(false);
    });

    it("names the datacenter after the environment and defaults to one 10Gi server", async () => {
        const server = await build("consul", args());
        const values = valuesOf("consul");
        expect(server.datacenter).toBe("dev");
        expect(values.global.datacenter).toBe("dev");
        expect(values.server).toMatchObject({ replicas: 1, storage: "10Gi" });
        expect(server.records.find((r) => r.id === "consul")?.count).toBe(1);
    });

    it("runs the replicas and storage given", async () => {
        const server = await build("consul", { ...args({ replicas: 5, storageSize: "20Gi", storageClass: "ssd" }), tags: { ...tags, environment: "prod" } });
        expect(valuesOf("consul").server).toMatchObject({ replicas: 5, storage: "20Gi", storageClass: "ssd" });
        expect(valuesOf("consul").global.datacenter).toBe("prod");
        expect(server.address).toBe("https://consul-server.consul.svc.cluster.local:8501");
        expect(server.records.find((r) => r.id === "consul")?.count).toBe(5);
    });

    it("merges the values override last: maps merge key by key, lists and scalars replace", async () => {
        await build("consul", args({ valuesOverride: { consul: { server: { replicas: 3, extraLabels: { team: "platform" } }, ui: { enabled: false } } } }));
        const own = consulValues({ datacenter: "dev", replicas: 1, storageSize: "10Gi" }) as { server: object; ui: object };
        const values = valuesOf("consul") as unknown as Record<string, unknown>;
        expect(values.server).toEqual({ ...own.server, replicas: 3, extraLabels: { team: "platform" } });
        expect(values.ui).toEqual({ ...own.ui, enabled: false });
        expect(values.global).toEqual(consulValues({ datacenter: "dev", replicas: 1, storageSize: "10Gi" }).global);
    });

    it("passes the values of consulValues unchanged without an override", async () => {
        await build("consul", args({ replicas: 3 }));
        expect(valuesOf("consul")).toEqual(consulValues({ datacenter: "dev", replicas: 3, storageSize: "10Gi" }));
    });

    it("refuses an override of a release it does not install before registering anything", async () => {
        const valuesOverride = { server: { replicas: 3 } } as Args["valuesOverride"];
        await expectRefusedBeforeRegistering(session, () => new mod.ConsulServer("bad", args({ valuesOverride })), /^consul "bad": valuesOverride has "server"; allowed: consul \(the releases it installs\)$/);
    });

    it("refuses an even number of servers before registering anything", async () => {
        await expectRefusedBeforeRegistering(session, () => new mod.ConsulServer("even", args({ replicas: 2 })), /replicas is 2; allowed: an odd number/);
    });
});
