import * as path from "node:path";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";

import {
    chartInputs,
    ChartInputs,
    CONTAINER_RESOURCES,
    expectDistinctInstances,
    K8S,
    resourceBlocks,
    settled,
    setupRenderedComponent,
    TEST_TAGS as tags,
    tempMirror,
} from "../../test/helpers/component";
import { MockSession } from "../../test/helpers/mocks";

const T = {
    ...K8S,
    telemetry: "kubernetes:telemetry.istio.io/v1:Telemetry",
    gateway: "kubernetes:networking.istio.io/v1:Gateway",
};
const ISTIO_REPO = "https://istio-release.storage.googleapis.com/charts";
const HOSTS = ["*.dev.example.com", "api.dev.example.com"];

let session: MockSession;
let mod: typeof import("./index");
let cluster: import("../cluster").ExistingCluster;

beforeAll(async () => {
    ({ session, mod, cluster } = await setupRenderedComponent(() => import("./index")));
});
beforeEach(() => session.reset());

type Args = import("./index").IstioMeshArgs;
const meshArgs = (extra: Partial<Args> = {}): Args => ({ cluster, tags, issuerName: "platform-ca", ingressHosts: HOSTS, ...extra });

const build = (name: string, extra: Partial<Args> = {}) => settled(session, () => new mod.IstioMesh(name, meshArgs(extra)));
const chartOf = (name: string) => chartInputs(session, name);
interface Meta {
    metadata: { name: string; namespace?: string; labels?: Record<string, string> };
}
interface Cr extends Meta {
    spec: Record<string, unknown>;
}
const crOf = (type: string, name: string) => session.get(type, name).inputs as unknown as Cr;
interface IstiodValues {
    global: { proxy: { resources: unknown }; proxy_init?: unknown };
    meshConfig: {
        outboundTrafficPolicy: { mode: string };
        enableTracing: boolean;
        extensionProviders: { name: string; opentelemetry: { service: string; port: number } }[];
    };
}
const istiodValues = (name: string) => chartInputs<IstiodValues>(session, `${name}-istiod`).values;

describe("validateIstioMeshArgs", () => {
    it("accepts the valid fixture", () => {
        expect(() =>
            mod.validateIstioMeshArgs("m", meshArgs({ replicas: 10, tracing: { host: "jaeger", port: 4317, samplingPercent: 100 } })),
        ).not.toThrow();
        expect(() => mod.validateIstioMeshArgs("m", meshArgs({ ingressHosts: ["localhost"] }))).not.toThrow();
    });

    it.each<[string, Partial<Args>, RegExp]>([
        ["outboundTrafficPolicy", { outboundTrafficPolicy: "DENY" as "ALLOW_ANY" }, /outboundTrafficPolicy is "DENY"; allowed: ALLOW_ANY, REGISTRY_ONLY/],
        ["ingressServiceType", { ingressServiceType: "External" as "ClusterIP" }, /ingressServiceType is "External"; allowed: LoadBalancer, NodePort, ClusterIP/],
        ["ingressHosts (empty)", { ingressHosts: [] }, /ingressHosts is empty; allowed: one or more host names/],
        ["ingressHosts (bad name)", { ingressHosts: ["Bad_Host.example.com"] }, /ingressHosts has "Bad_Host\.example\.com"; allowed: DNS names/],
        ["replicas (0)", { replicas: 0 }, /replicas is 0; allowed: an integer from 1 to 10/],
        ["replicas (11)", { replicas: 11 }, /replicas is 11; allowed: an integer from 1 to 10/],
        ["replicas (1.5)", { replicas: 1.5 }, /replicas is 1\.5; allowed: an integer from 1 to 10/],
        ["tracing.samplingPercent", { tracing: { host: "jaeger", port: 4317, samplingPercent: 150 } }, /tracing\.samplingPercent is 150; allowed: 0 to 100/],
    ])("rejects a bad %s, naming the setting and what is allowed", (_, extra, message) => {
        expect(() => mod.validateIstioMeshArgs("m", meshArgs(extra))).toThrow(message);
        expect(() => mod.validateIstioMeshArgs("m", meshArgs(extra))).toThrow(/^istio mesh "m": /);
    });
});

describe("IstioMesh charts", () => {
    it("installs base, istiod and two gateways, pinned to one Istio release from the upstream repository", async () => {
        await build("m");
        expect(mod.ISTIO_VERSION).toMatch(/^\d+\.\d+\.\d+$/);
        const expected: [string, string, string][] = [
            ["m-base", "base", "istio-system"],
            ["m-istiod", "istiod", "istio-system"],
            ["m-ingress-gateway", "gateway", "istio-ingress"],
            ["m-egress-gateway", "gateway", "istio-egress"],
        ];
        for (const [name, chart, namespace] of expected) {
            const inputs = chartOf(name);
            expect(inputs, name).toMatchObject({ chart, version: mod.ISTIO_VERSION, repositoryOpts: { repo: ISTIO_REPO }, namespace });
            expect(inputs.version, name).toMatch(/^\d+\.\d+\.\d+$/);
        }
        expect(session.ofType(T.chart)).toHaveLength(4);
    });

    it("reads every chart from a mirror directory when one is given", async () => {
        const mirror = tempMirror();
        await build("m", { chartMirror: mirror });
        expect(chartOf("m-base").chart).toBe(path.join(mirror, "base"));
        expect(chartOf("m-istiod").chart).toBe(path.join(mirror, "istiod"));
        expect(chartOf("m-ingress-gateway").chart).toBe(path.join(mirror, "gateway"));
        expect(chartOf("m-egress-gateway").chart).toBe(path.join(mirror, "gateway"));
        for (const r of session.ofType(T.chart)) {
            expect((r.inputs as unknown as ChartInputs).repositoryOpts, r.name).toBeUndefined();
        }
    });

    it("lets pods reach anywhere by default, and only registered services when asked", async () => {
        await build("open");
        await build("closed", { outboundTrafficPolicy: "REGISTRY_ONLY" });
        expect(istiodValues("open").meshConfig.outboundTrafficPolicy).toEqual({ mode: "ALLOW_ANY" });
        expect(istiodValues("closed").meshConfig.outboundTrafficPolicy).toEqual({ mode: "REGISTRY_ONLY" });
    });

    it("gives every injected sidecar, and every mesh container, requests and a memory limit", async () => {
        await build("m");
        const istiod = istiodValues("m");
        expect(istiod.global.proxy.resources).toMatchObject(CONTAINER_RESOURCES);
        // istio-init takes the proxy's resources; the chart has no proxy_init.resources.
        expect(istiod.global.proxy_init).toBeUndefined();
        const blocks = session.ofType(T.chart).flatMap((r) => resourceBlocks(r.inputs.values, r.name));
        expect(blocks.length).toBeGreaterThanOrEqual(4); // istiod, sidecar (and its init container), two gateways
        for (const [at, block] of blocks) {
            expect(block, at).toMatchObject(CONTAINER_RESOURCES);
        }
    });

    it("publishes the ingress gateway as a LoadBalancer by default, with the istio=ingressgateway label", async () => {
        await build("m");
        const ingress = chartOf("m-ingress-gateway");
        expect(ingress.name).toBe("istio-ingressgateway");
        expect(ingress.values).toMatchObject({ labels: { istio: "ingressgateway" }, service: { type: "LoadBalancer" } });
    });

    it("takes the ingress service type from args", async () => {
        await build("m", { ingressServiceType: "NodePort" });
        expect(chartOf("m-ingress-gateway").values).toMatchObject({ service: { type: "NodePort" } });
    });

    it("keeps the egress gateway inside the cluster (ClusterIP)", async () => {
        await build("m", { ingressServiceType: "NodePort" });
        const egress = chartOf("m-egress-gateway");
        expect(egress.name).toBe("istio-egressgateway");
        expect(egress.values).toMatchObject({ labels: { istio: "egressgateway" }, service: { type: "ClusterIP" } });
    });

    it("scales istiod and the gateways from the replicas minimum", async () => {
        await build("m", { replicas: 3 });
        expect(chartOf("m-istiod").values).toMatchObject({ autoscaleMin: 3 });
        expect(chartOf("m-ingress-gateway").values).toMatchObject({ autoscaling: { enabled: true, minReplicas: 3 } });
        expect(chartOf("m-egress-gateway").values).toMatchObject({ autoscaling: { enabled: true, minReplicas: 3 } });
    });
});

describe("IstioMesh values overrides", () => {
    it("merges each release's override last, over that release's values only (maps merge, lists and scalars replace)", async () => {
        await build("m", {
            replicas: 2,
            valuesOverride: {
                "istio-ingressgateway": { service: { type: "ClusterIP", annotations: { team: "edge" } }, autoscaling: { maxReplicas: 8 } },
                istiod: { meshConfig: { extensionProviders: [{ name: "other" }] } },
            },
        });
        expect(chartOf("m-ingress-gateway").values).toEqual({
            ...mod.istioGatewayValues({ role: "ingress", serviceType: "LoadBalancer", replicas: 2 }),
            service: { type: "ClusterIP", annotations: { team: "edge" } },
            autoscaling: { enabled: true, minReplicas: 2, maxReplicas: 8 },
        });
        // The other gateway, a release of the same chart, keeps its own values.
        expect(chartOf("m-egress-gateway").values).toEqual(mod.istioGatewayValues({ role: "egress", serviceType: "ClusterIP", replicas: 2 }));
        expect(istiodValues("m").meshConfig).toMatchObject({ accessLogFile: "/dev/stdout", extensionProviders: [{ name: "other" }] });
        expect(chartOf("m-base").values).toEqual(mod.istioBaseValues());
    });

    it("refuses an override of a release it does not install, naming its releases", () => {
        expect(() => mod.validateIstioMeshArgs("m", meshArgs({ valuesOverride: { gateway: {} } as Args["valuesOverride"] }))).toThrow(
            'istio mesh "m": valuesOverride has "gateway"; allowed: base, istiod, istio-ingressgateway, istio-egressgateway (the releases it installs)',
        );
    });
});

describe("IstioMesh security and ingress", () => {
    it("enforces STRICT mTLS mesh-wide with a PeerAuthentication named default in istio-system", async () => {
        await build("m");
        const pa = crOf(T.peerAuthentication, "m-strict-mtls");
        expect(pa.metadata).toMatchObject({ name: "default", namespace: "istio-system" });
        expect(pa.spec).toEqual({ mtls: { mode: "STRICT" } });
        expect(session.ofType(T.peerAuthentication)).toHaveLength(1);
    });

    it("requests the ingress certificate from the given issuer for the ingress hosts", async () => {
        await build("m", { issuerName: "platform-acme" });
        const cert = crOf(T.certificate, "m-ingress-certificate");
        expect(cert.metadata.namespace).toBe("istio-ingress");
        expect(cert.spec).toMatchObject({
            dnsNames: HOSTS,
            issuerRef: { name: "platform-acme", kind: "ClusterIssuer", group: "cert-manager.io" },
        });
    });

    it("serves HTTPS with the certificate's secret and redirects HTTP to HTTPS", async () => {
        const mesh = await build("m");
        const cert = crOf(T.certificate, "m-ingress-certificate");
        const gw = crOf(T.gateway, "m-gateway");
        // credentialName is looked up in the gateway's namespace.
        expect(gw.metadata.namespace).toBe(cert.metadata.namespace);
        expect(mesh.gatewayName).toBe(`${gw.metadata.namespace}/${gw.metadata.name}`);
        expect(gw.spec.selector).toEqual((chartOf("m-ingress-gateway").values as { labels: unknown }).labels);
        expect(gw.spec.selector).toEqual(mesh.ingressGatewaySelector);
        expect(gw.spec.servers).toEqual([
            {
                port: { number: 443, name: "https", protocol: "HTTPS" },
                hosts: HOSTS,
                tls: expect.objectContaining({ mode: "SIMPLE", credentialName: cert.spec.secretName }),
            },
            { port: { number: 80, name: "http", protocol: "HTTP" }, hosts: HOSTS, tls: { httpsRedirect: true } },
        ]);
    });
});

describe("IstioMesh tracing", () => {
    it("has no tracing provider and no Telemetry unless tracing is given", async () => {
        await build("m");
        expect(istiodValues("m").meshConfig).toMatchObject({ enableTracing: false, extensionProviders: [] });
        expect(session.ofType(T.telemetry)).toHaveLength(0);
    });

    it("sends traces to the given OTLP endpoint through one provider and a mesh-wide Telemetry", async () => {
        await build("m", { tracing: { host: "jaeger.observability.svc.cluster.local", port: 4317, samplingPercent: 25 } });
        const meshConfig = istiodValues("m").meshConfig;
        expect(meshConfig.enableTracing).toBe(true);
        expect(meshConfig.extensionProviders).toEqual([
            { name: expect.any(String), opentelemetry: { service: "jaeger.observability.svc.cluster.local", port: 4317 } },
        ]);
        const telemetry = crOf(T.telemetry, "m-tracing");
        expect(telemetry.metadata.namespace).toBe("istio-system");
        expect(telemetry.spec).toEqual({
            tracing: [{ providers: [{ name: meshConfig.extensionProviders[0].name }], randomSamplingPercentage: 25 }],
        });
    });

    it("samples 10% of requests by default", async () => {
        await build("m", { tracing: { host: "jaeger", port: 4317 } });
        expect(crOf(T.telemetry, "m-tracing").spec).toMatchObject({ tracing: [{ randomSamplingPercentage: 10 }] });
    });
});

describe("IstioMesh namespaces and records", () => {
    it("creates istio-system, istio-ingress and istio-egress, each with a default-deny policy", async () => {
        await build("m");
        const namespaces = session.ofType(T.namespace).map((r) => (r.inputs as unknown as Meta).metadata.name);
        expect(namespaces.sort()).toEqual(["istio-egress", "istio-ingress", "istio-system"]);
        const policies = session.ofType(T.networkPolicy).map((r) => r.inputs as unknown as Meta & { spec: unknown });
        for (const ns of ["istio-system", "istio-ingress", "istio-egress"]) {
            const deny = policies.find((p) => p.metadata.namespace === ns && p.metadata.name === "default-deny");
            expect(deny?.spec, ns).toEqual({ podSelector: {}, policyTypes: ["Ingress", "Egress"] });
        }
    });

    it("reports istiod, the gateways and the namespaces, with the ingress hosts as entrypoints", async () => {
        const mesh = await build("m", { replicas: 2 });
        expect(mesh.records.map((r) => r.id)).toEqual([
            "namespace/istio-system",
            "namespace/istio-ingress",
            "namespace/istio-egress",
            "mesh/istiod",
            "mesh/ingress-gateway",
            "mesh/egress-gateway",
        ]);
        const ingress = mesh.records.find((r) => r.id === "mesh/ingress-gateway");
        expect(ingress).toMatchObject({
            count: 2,
            status: "rendered",
            entrypoints: ["https://dev.example.com", "https://api.dev.example.com"],
        });
    });

    it("names children after the instance, so two instances do not collide", async () => {
        await build("one");
        await build("two", { tracing: { host: "jaeger", port: 4317 } });
        expectDistinctInstances(session, ["one", "two"]);
        expect(session.ofType(T.peerAuthentication).map((r) => r.name).sort()).toEqual(["one-strict-mtls", "two-strict-mtls"]);
    });
});
