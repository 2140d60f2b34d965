import * as path from "node:path";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";

import { appliedCluster, chartInputs,
    CONTAINER_RESOURCES,
    expectDistinctInstances,
    K8S as T,
    resourceBlocks,
    settled,
    setupRenderedComponent,
    TEST_TAGS as tags,
    tempMirror,
} from "../../test/helpers/component";
import { isSecretInput, MockSession, unwrapSecret } from "../../test/helpers/mocks";

let session: MockSession;
let mod: typeof import("./index");
let cluster: import("../cluster").ExistingCluster;

beforeAll(async () => {
    ({ session, mod, cluster } = await setupRenderedComponent(() => import("./index")));
});
beforeEach(() => session.reset());

type Args = import("./index").ObservabilityArgs;
/** The platform's names (namespace `observability`, the charts' own release names), whatever the test instance's name. */
const obsArgs = (extra: Partial<Args> = {}): Args => ({ cluster, tags, namespace: "observability", releasePrefix: "", ...extra });

const build = (name: string, extra: Partial<Args> = {}) => settled(session, () => new mod.Observability(name, obsArgs(extra)));
const chartOf = (name: string) => chartInputs(session, name);
const valuesOf = <V>(name: string) => chartInputs<V>(session, name).values;

interface PrometheusValues {
    fullnameOverride: string;
    prometheus: {
        prometheusSpec: {
            replicas: number;
            retention: string;
            retentionSize: string;
            storageSpec: { volumeClaimTemplate: { spec: { storageClassName?: string; resources: { requests: { storage: string } } } } };
        };
    };
    grafana: { admin: { existingSecret: string; userKey: string; passwordKey: string }; additionalDataSources: { uid: string; url: string }[] };
}
interface KialiValues {
    external_services: {
        prometheus: { url: string };
        grafana: { internal_url: string };
        tracing: { enabled: boolean; provider: string; use_grpc: boolean; internal_url: string };
    };
}
interface SecretInputs {
    metadata: { name: string; namespace: string };
    stringData: unknown;
}

/** In-cluster DNS name of `<service>` in the observability namespace. */
const host = (service: string) => `${service}.observability.svc.cluster.local`;

describe("validateObservabilityArgs", () => {
    it("accepts the valid fixture", () => {
        expect(() =>
            mod.validateObservabilityArgs(
                "o",
                obsArgs({ metricsRetention: "15d", logsRetention: "720h", metricsStorage: "50Gi", logsStorage: "1Ti", replicas: 5 }),
            ),
        ).not.toThrow();
    });

    it.each<[string, Partial<Args>, RegExp]>([
        ["metricsRetention", { metricsRetention: "7 days" }, /metricsRetention is "7 days"; allowed: a duration such as 24h, 15d, 4w or 1y/],
        ["logsRetention", { logsRetention: "30m" }, /logsRetention is "30m"; allowed: a duration such as 24h, 15d, 4w or 1y/],
        ["metricsStorage", { metricsStorage: "20GB" }, /metricsStorage is "20GB"; allowed: a size such as 512Mi, 10Gi or 1Ti/],
        ["metricsStorage", { metricsStorage: "512Mi" }, /metricsStorage is "512Mi"; allowed: 1Gi or more/],
        ["logsStorage", { logsStorage: "0Gi" }, /logsStorage is "0Gi"; allowed: a size such as 512Mi, 10Gi or 1Ti/],
        ["replicas (0)", { replicas: 0 }, /replicas is 0; allowed: an integer from 1 to 5/],
        ["replicas (6)", { replicas: 6 }, /replicas is 6; allowed: an integer from 1 to 5/],
        ["replicas (1.5)", { replicas: 1.5 }, /replicas is 1\.5; allowed: an integer from 1 to 5/],
    ])("rejects a bad %s, naming the setting and what is allowed", (_, extra, message) => {
        expect(() => mod.validateObservabilityArgs("o", obsArgs(extra))).toThrow(message);
        expect(() => mod.validateObservabilityArgs("o", obsArgs(extra))).toThrow(/^observability "o": /);
    });
});

describe("retentionSizeFor", () => {
    it("keeps 85% of the volume, in Prometheus's binary megabytes", () => {
        expect(mod.retentionSizeFor("20Gi")).toBe("17408MB");
        expect(mod.retentionSizeFor("100Mi")).toBe("85MB");
        expect(mod.retentionSizeFor("1Ti")).toBe("891289MB");
    });

    it("stays below the volume size", () => {
        for (const [volume, bytes] of [["512Mi", 512 * 2 ** 20], ["50Gi", 50 * 2 ** 30], ["2Ti", 2 * 2 ** 40]] as const) {
            const mb = parseInt(mod.retentionSizeFor(volume), 10);
            expect(mb * 2 ** 20, volume).toBeLessThan(bytes);
            expect(mb * 2 ** 20, volume).toBeGreaterThan(bytes * 0.8);
        }
    });

    it("rejects a size it cannot read", () => {
        expect(() => mod.retentionSizeFor("20GB")).toThrow(/"20GB" is not a size such as 20Gi/);
    });
});

describe("Observability charts", () => {
    const charts = (): [string, import("../shared/chart").UpstreamChart][] => [
        ["o-prometheus", mod.KUBE_PROMETHEUS_STACK_CHART],
        ["o-jaeger", mod.JAEGER_CHART],
        ["o-kiali", mod.KIALI_CHART],
        ["o-loki", mod.LOKI_CHART],
        ["o-fluent-bit", mod.FLUENT_BIT_CHART],
    ];

    it("installs every chart pinned, from its upstream repository, in the observability namespace", async () => {
        await build("o");
        expect(charts().map(([, c]) => c.name)).toEqual(["kube-prometheus-stack", "jaeger", "kiali-server", "loki", "fluent-bit"]);
        for (const [name, upstream] of charts()) {
            const inputs = chartOf(name);
            expect(inputs, name).toMatchObject({
                chart: upstream.name,
                version: upstream.version,
                repositoryOpts: { repo: upstream.repository },
                namespace: "observability",
            });
            expect(inputs.version, name).toMatch(/^v?\d+\.\d+\.\d+$/);
            expect(inputs.repositoryOpts?.repo, name).toMatch(/^https:\/\//);
        }
        expect(session.ofType(T.chart)).toHaveLength(5);
        expect(mod.OBSERVABILITY_CHARTS).toEqual(charts().map(([, c]) => c));
    });

    it("reads every chart from a mirror directory when one is given", async () => {
        const mirror = tempMirror();
        await build("o", { chartMirror: mirror });
        for (const [name, upstream] of charts()) {
            expect(chartOf(name).chart, name).toBe(path.join(mirror, upstream.name));
            expect(chartOf(name).repositoryOpts, name).toBeUndefined();
        }
    });

    it("gives every container requests and a memory limit", async () => {
        await build("o");
        const blocks = session.ofType(T.chart).flatMap((r) => resourceBlocks(r.inputs.values, r.name, true));
        expect(blocks.length).toBeGreaterThanOrEqual(10);
        for (const [at, block] of blocks) {
            expect(block, at).toMatchObject(CONTAINER_RESOURCES);
        }
    });
});

describe("Observability metrics", () => {
    it("keeps 7 days of metrics on a 20Gi volume by default, with a size-based retention below it", async () => {
        await build("o");
        const spec = valuesOf<PrometheusValues>("o-prometheus").prometheus.prometheusSpec;
        expect(spec).toMatchObject({ replicas: 1, retention: "7d", retentionSize: mod.retentionSizeFor("20Gi") });
        expect(spec.storageSpec.volumeClaimTemplate.spec.resources.requests.storage).toBe("20Gi");
    });

    it("takes retention, storage, storage class and replicas from args", async () => {
        await build("o", { metricsRetention: "30d", metricsStorage: "100Gi", storageClass: "fast", replicas: 2 });
        const values = valuesOf<PrometheusValues>("o-prometheus");
        const spec = values.prometheus.prometheusSpec;
        expect(spec).toMatchObject({ replicas: 2, retention: "30d", retentionSize: "87040MB" });
        expect(spec.storageSpec.volumeClaimTemplate.spec).toMatchObject({
            storageClassName: "fast",
            resources: { requests: { storage: "100Gi" } },
        });
        expect(values).toMatchObject({ alertmanager: { alertmanagerSpec: { replicas: 2 } }, grafana: { persistence: { storageClassName: "fast" } } });
    });

    it("points Kiali at the component's Prometheus, Grafana and Jaeger URLs", async () => {
        const obs = await build("o");
        const prometheus = valuesOf<PrometheusValues>("o-prometheus");
        expect(obs.prometheusUrl).toBe(`http://${host(`${prometheus.fullnameOverride}-prometheus`)}:9090`);
        const kiali = valuesOf<KialiValues>("o-kiali").external_services;
        expect(kiali.prometheus.url).toBe(obs.prometheusUrl);
        expect(kiali.grafana.internal_url).toBe(obs.grafanaUrl);
        expect(kiali.tracing).toMatchObject({ enabled: true, provider: "jaeger", use_grpc: true });
        // The gRPC query port of the same Jaeger service the UI (16686) runs on.
        const tracing = new URL(kiali.tracing.internal_url);
        expect(tracing.hostname).toBe(new URL(obs.jaegerQueryUrl).hostname);
        expect(tracing.port).toBe("16685");
        expect(chartOf("o-kiali").values).toMatchObject({ external_services: { istio: { root_namespace: "istio-system" } } });
    });

    it("gives Grafana the Loki and Jaeger data sources at the component's URLs", async () => {
        const obs = await build("o");
        const sources = valuesOf<PrometheusValues>("o-prometheus").grafana.additionalDataSources;
        expect(sources.find((s) => s.uid === "loki")?.url).toBe(obs.lokiUrl);
        expect(sources.find((s) => s.uid === "jaeger")?.url).toBe(obs.jaegerQueryUrl);
    });
});

describe("Observability Grafana admin", () => {
    it("reads the admin from a generated secret that no chart's values contain", async () => {
        await build("o", { cluster: await appliedCluster() });
        const admin = valuesOf<PrometheusValues>("o-prometheus").grafana.admin;
        const secret = session.get(T.secret, "o-grafana-admin-secret").inputs as unknown as SecretInputs;
        expect(secret.metadata).toMatchObject({ name: admin.existingSecret, namespace: "observability" });
        expect(isSecretInput(secret.stringData)).toBe(true);

        const data = unwrapSecret<Record<string, string>>(secret.stringData);
        expect(data[admin.userKey]).toBe("admin");
        const password = data[admin.passwordKey];
        expect(password).toMatch(/^[A-Za-z0-9]{32}$/);
        for (const chart of session.ofType(T.chart)) {
            expect(JSON.stringify(chart.inputs), chart.name).not.toContain(password);
        }
    });

    it("generates a different password per instance", async () => {
        const applied = await appliedCluster();
        await build("a", { cluster: applied });
        await build("b", { cluster: applied });
        const password = (name: string) =>
            unwrapSecret<Record<string, string>>((session.get(T.secret, `${name}-grafana-admin-secret`).inputs as unknown as SecretInputs).stringData)[
                "admin-password"
            ];
        expect(password("a")).not.toBe(password("b"));
    });
});

describe("Observability tracing and logs", () => {
    it("runs Jaeger all-in-one behind the service the mesh sends traces to", async () => {
        const obs = await build("o");
        const jaeger = chartOf("o-jaeger");
        expect(jaeger.values).toMatchObject({ fullnameOverride: "jaeger", jaeger: { resources: { limits: { memory: "1Gi" } } } });
        expect(jaeger.values).not.toHaveProperty("userconfig");
        const service = (jaeger.values as { fullnameOverride: string }).fullnameOverride;
        expect(mod.TRACING_ENDPOINT).toEqual({ host: `${service}.${jaeger.namespace}.svc.cluster.local`, port: 4317 });
        expect(new URL(obs.jaegerQueryUrl).hostname).toBe(mod.TRACING_ENDPOINT.host);
    });

    it("runs Loki as a single binary with the logs retention and volume from args", async () => {
        const obs = await build("o", { logsRetention: "720h", logsStorage: "50Gi", storageClass: "fast" });
        const loki = chartOf("o-loki").values;
        expect(loki).toMatchObject({
            fullnameOverride: "loki",
            deploymentMode: "SingleBinary",
            loki: { limits_config: { retention_period: "720h" }, compactor: { retention_enabled: true } },
            singleBinary: { replicas: 1, persistence: { size: "50Gi", storageClass: "fast" } },
            read: { replicas: 0 },
            write: { replicas: 0 },
            backend: { replicas: 0 },
        });
        expect(new URL(obs.lokiUrl).hostname).toBe(host("loki"));
    });

    it("keeps a week of logs on 20Gi by default", async () => {
        await build("o");
        expect(chartOf("o-loki").values).toMatchObject({
            loki: { limits_config: { retention_period: "168h" } },
            singleBinary: { persistence: { size: "20Gi" } },
        });
    });

    it("ships container logs from Fluent Bit to Loki", async () => {
        const obs = await build("o");
        const outputs = (chartOf("o-fluent-bit").values as { config: { outputs: string } }).config.outputs;
        const loki = new URL(obs.lokiUrl);
        expect(outputs).toMatch(/^\[OUTPUT\]$/m);
        expect(outputs).toMatch(/^\s+Name loki$/m);
        expect(outputs).toContain(`Host ${loki.hostname}\n`);
        expect(outputs).toMatch(new RegExp(`^\\s+Port ${loki.port}$`, "m"));
        expect(outputs).toContain("environment=dev");
    });
});

describe("Observability namespace and records", () => {
    it("creates the observability namespace outside the mesh, with default-deny", async () => {
        const obs = await build("o");
        const ns = session.get(T.namespace, "o-ns-namespace").inputs as unknown as { metadata: { name: string; labels: Record<string, string> } };
        expect(ns.metadata.name).toBe("observability");
        expect(obs.namespaceName).toBe("observability");
        expect(ns.metadata.labels).not.toHaveProperty("istio-injection");
        expect(session.get(T.networkPolicy, "o-ns-default-deny").inputs).toMatchObject({
            metadata: { namespace: "observability" },
            spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
        });
    });

    it("reports each part", async () => {
        const obs = await build("o", { replicas: 2 });
        expect(obs.records.map((r) => r.id)).toEqual([
            "namespace/observability",
            "observability/prometheus",
            "observability/grafana",
            "observability/jaeger",
            "observability/kiali",
            "observability/loki",
            "observability/fluent-bit",
        ]);
        expect(obs.records[1]).toMatchObject({ count: 2, status: "rendered", statusEndpoints: [`${obs.prometheusUrl}/-/ready`] });
    });

    it("names children after the instance, so two instances do not collide", async () => {
        await build("one");
        await build("two");
        expectDistinctInstances(session, ["one", "two"]);
        expect(session.ofType(T.chart)).toHaveLength(10);
    });
});
