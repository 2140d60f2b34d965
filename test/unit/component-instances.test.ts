/**
 * Two instances of a component in one cluster: each per-instance service's
 * namespace and Helm release names follow its instance's name (or its
 * `namespace` arg), and the references between components (network-policy
 * peers, service hosts) follow the instance they are given, not the
 * platform's default names.
 */
import { beforeAll, beforeEach, describe, expect, it } from "vitest";

import { chartInputs, K8S as T, settled, setupRenderedComponent, TEST_TAGS as tags } from "../helpers/component";
import { MockSession } from "../helpers/mocks";

interface Modules {
    consul: typeof import("../../components/consul");
    vault: typeof import("../../components/vault");
    observability: typeof import("../../components/observability");
    rabbitmq: typeof import("../../components/rabbitmq");
    postgres: typeof import("../../components/postgres");
}

let session: MockSession;
let mod: Modules;
let cluster: import("../../components/cluster").ExistingCluster;

beforeAll(async () => {
    ({ session, mod, cluster } = await setupRenderedComponent(
        async (): Promise<Modules> => ({
            consul: await import("../../components/consul"),
            vault: await import("../../components/vault"),
            observability: await import("../../components/observability"),
            rabbitmq: await import("../../components/rabbitmq"),
            postgres: await import("../../components/postgres"),
        }),
    ));
});
beforeEach(() => session.reset());

const nsNameOf = (resource: string) => (session.get(T.namespace, `${resource}-namespace`).inputs.metadata as { name: string }).name;
interface PolicyInputs {
    metadata: { namespace: string };
    spec: { ingress?: { from: { namespaceSelector?: { matchLabels: Record<string, string> } }[] }[] };
}
const policyOf = (name: string) => session.get(T.networkPolicy, name).inputs as unknown as PolicyInputs;
/** The namespaces an ingress policy admits, by their `kubernetes.io/metadata.name` label. */
const peersOf = (name: string) =>
    (policyOf(name).spec.ingress ?? []).flatMap((rule) => rule.from.map((peer) => peer.namespaceSelector?.matchLabels["kubernetes.io/metadata.name"]));

describe("ConsulServer instances", () => {
    it("keeps the platform's names for the platform's instance, `consul`", async () => {
        const consul = await settled(session, () => new mod.consul.ConsulServer("consul", { cluster, tags }));
        expect(consul.namespace).toBe(mod.consul.CONSUL_NAMESPACE);
        expect(chartInputs(session, "consul-chart")).toMatchObject({ name: "consul", namespace: "consul" });
        expect(consul.address).toBe("https://consul-server.consul.svc.cluster.local:8501");
    });

    it("gives a second instance its own namespace, release, object names and address", async () => {
        await settled(session, () => new mod.consul.ConsulServer("consul", { cluster, tags }));
        const b = await settled(session, () => new mod.consul.ConsulServer("consul-b", { cluster, tags }));
        expect(b.namespace).toBe("consul-b");
        expect(nsNameOf("consul-b-ns")).toBe("consul-b");
        const chart = chartInputs<{ global: { name: string } }>(session, "consul-b-chart");
        expect(chart).toMatchObject({ name: "consul-b", namespace: "consul-b" });
        // The chart names its objects, cluster-wide ones included, after global.name.
        expect(chart.values.global.name).toBe("consul-b");
        expect(b.address).toBe("https://consul-b-server.consul-b.svc.cluster.local:8501");
        expect(b.bootstrapTokenSecret).toBe("consul-b-bootstrap-acl-token");
        const cert = session.get(T.certificate, `consul-b-${mod.consul.CONSUL_SECRETS.serverCert}`).inputs as { metadata: { namespace: string }; spec: { dnsNames: string[] } };
        expect(cert.metadata.namespace).toBe("consul-b");
        expect(cert.spec.dnsNames).toContain("consul-b-server.consul-b.svc");
        expect(b.records.find((r) => r.id === "consul")?.dependsOn).toContain("namespace/consul-b");
        // The first instance is untouched.
        expect(chartInputs(session, "consul-chart")).toMatchObject({ name: "consul", namespace: "consul" });
    });

    it("takes the namespace given, and lets the Prometheus it is given scrape it", async () => {
        const c = await settled(session, () => new mod.consul.ConsulServer("kv", { cluster, tags, namespace: "kv-store", observabilityNamespace: "obs-b" }));
        expect(c.namespace).toBe("kv-store");
        expect(chartInputs(session, "kv-chart")).toMatchObject({ name: "kv", namespace: "kv-store" });
        expect(peersOf("kv-ns-allow-metrics")).toEqual(["obs-b"]);
    });
});

describe("VaultServer instances", () => {
    it("gives a second instance its own namespace, release and address; the first keeps `vault`", async () => {
        const vault = await settled(session, () => new mod.vault.VaultServer("vault", { cluster, tags, devModeAllowed: true, mode: { kind: "dev" } }));
        const b = await settled(
            session,
            () => new mod.vault.VaultServer("vault-b", { cluster, tags, devModeAllowed: true, mode: { kind: "dev" }, observabilityNamespace: "obs-b" }),
        );
        expect([vault.namespace, vault.address]).toEqual(["vault", "http://vault.vault.svc.cluster.local:8200"]);
        expect([b.namespace, b.address]).toEqual(["vault-b", "http://vault-b.vault-b.svc.cluster.local:8200"]);
        expect(chartInputs(session, "vault-chart")).toMatchObject({ name: "vault", namespace: "vault", values: { fullnameOverride: "vault" } });
        expect(chartInputs(session, "vault-b-chart")).toMatchObject({ name: "vault-b", namespace: "vault-b", values: { fullnameOverride: "vault-b" } });
        expect(peersOf("vault-b-ns-allow-mesh-metrics")).toEqual(["obs-b"]);
        expect(peersOf("vault-ns-allow-mesh-metrics")).toEqual(["observability"]);
    });
});

describe("Observability instances", () => {
    it("keeps the charts' release names only when asked (the platform's instance passes an empty prefix)", async () => {
        const platform = await settled(session, () => new mod.observability.Observability("observability", { cluster, tags, releasePrefix: "" }));
        expect(platform.namespaceName).toBe("observability");
        expect(platform.tracingEndpoint).toEqual(mod.observability.TRACING_ENDPOINT);
        expect(chartInputs(session, "observability-jaeger")).toMatchObject({ name: "jaeger", namespace: "observability" });
    });

    it("gives a second instance its own namespace, prefixed releases, and URLs that follow them", async () => {
        const b = await settled(session, () => new mod.observability.Observability("obs-b", { cluster, tags }));
        expect(b.namespaceName).toBe("obs-b");
        expect(nsNameOf("obs-b-ns")).toBe("obs-b");
        for (const [resource, release] of [
            ["obs-b-prometheus", "obs-b-kube-prometheus-stack"],
            ["obs-b-jaeger", "obs-b-jaeger"],
            ["obs-b-kiali", "obs-b-kiali-server"],
            ["obs-b-loki", "obs-b-loki"],
            ["obs-b-fluent-bit", "obs-b-fluent-bit"],
        ]) {
            expect(chartInputs<{ fullnameOverride?: string }>(session, resource), resource).toMatchObject({ name: release, namespace: "obs-b" });
        }
        expect(chartInputs<{ fullnameOverride: string }>(session, "obs-b-loki").values.fullnameOverride).toBe("obs-b-loki");
        expect(b.tracingEndpoint).toEqual({ host: "obs-b-jaeger.obs-b.svc.cluster.local", port: 4317 });
        expect(b.prometheusUrl).toBe("http://obs-b-kube-prometheus-stack-prometheus.obs-b.svc.cluster.local:9090");
        expect(JSON.stringify(chartInputs(session, "obs-b-fluent-bit").values)).toContain("Host obs-b-loki.obs-b.svc.cluster.local");
    });
});

describe("RabbitMq and InClusterPostgres instances", () => {
    it("put each broker in its instance's namespace; the operator stays in rabbitmq-system", async () => {
        const b = await settled(session, () => new mod.rabbitmq.RabbitMq("events-b", { cluster, tags, observabilityNamespace: "obs-b" }));
        expect(b.namespace).toBe("events-b");
        expect(b.host).toBe("platform-events.events-b.svc.cluster.local");
        expect(nsNameOf("events-b-ns")).toBe("events-b");
        expect(policyOf("events-b-operator-ns-allow-metrics").metadata.namespace).toBe(mod.rabbitmq.RABBITMQ_OPERATOR_NAMESPACE);
        expect(peersOf("events-b-ns-allow-prometheus")).toEqual(["obs-b"]);
    });

    it("put each database in its instance's namespace; the operator stays in cnpg-system", async () => {
        const b = await settled(session, () => new mod.postgres.InClusterPostgres("db-b", { cluster, tags, observabilityNamespace: "obs-b" }));
        expect(b.namespace).toBe("db-b");
        expect(nsNameOf("db-b-ns")).toBe("db-b");
        expect(chartInputs(session, "db-b-operator").namespace).toBe(mod.postgres.OPERATOR_NAMESPACE);
        expect(peersOf("db-b-ns-allow-metrics")).toEqual(["obs-b"]);
    });
});
