import * as path from "node:path";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";

import { appliedCluster, expectDistinctInstances, K8S, settled, setupRenderedComponent, TEST_TAGS as tags, tempMirror } from "../../test/helpers/component";
import { isSecret, isSecretInput, MockSession, unwrapSecret, valueOf } from "../../test/helpers/mocks";

const T = {
    ...K8S,
    configFile: "kubernetes:yaml/v2:ConfigFile",
    rabbitmqCluster: "kubernetes:rabbitmq.com/v1beta1:RabbitmqCluster",
    serviceMonitor: "kubernetes:monitoring.coreos.com/v1:ServiceMonitor",
};

let session: MockSession;
let mod: typeof import("./index");
let cluster: import("../cluster").ExistingCluster;

beforeAll(async () => {
    ({ session, mod, cluster } = await setupRenderedComponent(() => import("./index")));
});
beforeEach(() => session.reset());

type Args = import("./index").RabbitMqArgs;
/** The platform's namespace, `rabbitmq`, whatever the test instance's name (the default is the instance's name). */
const rmqArgs = (extra: Partial<Args> = {}): Args => ({ cluster, tags, namespace: "rabbitmq", ...extra });

const build = (name: string, extra: Partial<Args> = {}) => settled(session, () => new mod.RabbitMq(name, rmqArgs(extra)));

interface Cr {
    metadata: { name: string; namespace?: string; labels?: Record<string, string> };
    spec: Record<string, unknown>;
}
const crOf = (type: string, name: string) => session.get(type, name).inputs as unknown as Cr;
interface ClusterSpec {
    replicas: number;
    image: string;
    persistence: { storage: string; storageClassName?: string };
    secretBackend: { externalSecret: { name: string } };
}
const clusterSpec = (name: string) => crOf(T.rabbitmqCluster, name).spec as unknown as ClusterSpec;
const credentials = (name: string) => {
    const inputs = session.get(T.secret, `${name}-default-user-secret`).inputs as unknown as { metadata: { name: string; namespace: string }; stringData: unknown };
    return { ...inputs, data: unwrapSecret<Record<string, string>>(inputs.stringData) };
};

describe("validateRabbitMqArgs", () => {
    it("accepts the valid fixture", () => {
        expect(() => mod.validateRabbitMqArgs("r", rmqArgs({ replicas: 7, storageSize: "50Gi" }))).not.toThrow();
    });

    it.each<[string, Partial<Args>, RegExp]>([
        ["replicas (even)", { replicas: 2 }, /replicas is 2; allowed: an odd number \(1, 3, 5 or 7\)/],
        ["replicas (0)", { replicas: 0 }, /replicas is 0; allowed: an integer from 1 to 7/],
        ["replicas (9)", { replicas: 9 }, /replicas is 9; allowed: an integer from 1 to 7/],
        ["replicas (1.5)", { replicas: 1.5 }, /replicas is 1\.5; allowed: an integer from 1 to 7/],
        ["storageSize", { storageSize: "10GB" }, /storageSize is "10GB"; allowed: a size such as 512Mi, 10Gi or 1Ti/],
    ])("rejects a bad %s, naming the setting and what is allowed", (_, extra, message) => {
        expect(() => mod.validateRabbitMqArgs("r", rmqArgs(extra))).toThrow(message);
        expect(() => mod.validateRabbitMqArgs("r", rmqArgs(extra))).toThrow(/^rabbitmq "r": /);
    });
});

describe("RabbitMq operator", () => {
    it("applies the pinned operator release manifest from upstream", async () => {
        await build("r");
        const { version, url } = mod.RABBITMQ_OPERATOR_MANIFEST;
        expect(version).toMatch(/^v?\d+\.\d+\.\d+$/);
        expect(url).toBe(`https://github.com/rabbitmq/cluster-operator/releases/download/${version}/cluster-operator.yml`);
        expect(session.get(T.configFile, "r-operator").inputs.file).toBe(url);
    });

    it("reads the manifest from a mirror directory when one is given", async () => {
        const mirror = tempMirror();
        await build("r", { chartMirror: mirror });
        expect(session.get(T.configFile, "r-operator").inputs.file).toBe(
            path.join(mirror, `rabbitmq-cluster-operator-${mod.RABBITMQ_OPERATOR_MANIFEST.version}.yaml`),
        );
    });

    it("isolates the operator's namespace without creating it (the manifest does)", async () => {
        await build("r");
        expect(session.resources.some((r) => r.type === T.namespace && r.name === "r-operator-ns-namespace")).toBe(false);
        expect(session.get(T.networkPolicy, "r-operator-ns-default-deny").inputs).toMatchObject({
            metadata: { namespace: mod.RABBITMQ_OPERATOR_NAMESPACE },
            spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
        });
    });
});

describe("RabbitMq cluster", () => {
    it("runs one node on 10Gi by default, with a pinned image", async () => {
        const rmq = await build("r");
        const bus = crOf(T.rabbitmqCluster, "r-cluster");
        expect(bus.metadata.namespace).toBe("rabbitmq");
        expect(rmq.host).toBe(`${bus.metadata.name}.rabbitmq.svc.cluster.local`);
        expect(bus.spec).toMatchObject({ replicas: 1, persistence: { storage: "10Gi" }, image: mod.RABBITMQ_IMAGE });
        expect(mod.RABBITMQ_IMAGE).toMatch(/^rabbitmq:\d+\.\d+\.\d+(-management)?$/);
        // Long environment-manager commands are acknowledged only at the end: 3 h before the broker gives up on the consumer.
        const config = (bus.spec as { rabbitmq: { additionalConfig: string } }).rabbitmq.additionalConfig.split("\n");
        expect(config).toEqual(["default_queue_type = quorum", "cluster_partition_handling = pause_minority", "consumer_timeout = 10800000"]);
    });

    it("takes replicas, storage size, storage class and namespace from args", async () => {
        await build("r", { replicas: 3, storageSize: "50Gi", storageClass: "fast", namespace: "events" });
        expect(clusterSpec("r-cluster")).toMatchObject({ replicas: 3, persistence: { storage: "50Gi", storageClassName: "fast" } });
        expect(crOf(T.rabbitmqCluster, "r-cluster").metadata.namespace).toBe("events");
        expect(credentials("r").metadata.namespace).toBe("events");
    });

    it("renders the credentials secret without its values", async () => {
        await build("r");
        const secret = session.get(K8S.secret, "r-default-user-secret").inputs as { stringData?: unknown; metadata: { annotations: Record<string, string> } };
        // Only the fixed keys, which are not secret: no password, no config file holding it.
        expect(Object.keys(unwrapSecret<Record<string, string>>(secret.stringData) ?? {}).sort()).toEqual(["host", "port", "provider", "type", "username"]);
        expect(secret.metadata.annotations["platform.example.com/values"]).toMatch(/^not rendered/);
    });

    it("uses the generated credentials secret as the default user", async () => {
        const rmq = await build("r", { cluster: await appliedCluster() });
        const secret = credentials("r");
        expect(secret.metadata.name).toBe(rmq.credentialsSecretName);
        expect(clusterSpec("r-cluster").secretBackend).toEqual({ externalSecret: { name: rmq.credentialsSecretName } });
        expect(isSecretInput(secret.stringData)).toBe(true);

        const { username, password, host, port } = secret.data;
        expect(username).toBe(rmq.username);
        expect(password).toMatch(/^[A-Za-z0-9]{32}$/);
        expect(secret.data["default_user.conf"]).toBe(`default_user = ${username}\ndefault_pass = ${password}\n`);
        expect({ host, port }).toEqual({ host: rmq.host, port: String(rmq.port) });
    });

    it("exposes the password as a secret output equal to the stored one", async () => {
        const rmq = await build("r", { cluster: await appliedCluster() });
        expect(await isSecret(rmq.password)).toBe(true);
        expect(await valueOf(rmq.password)).toBe(credentials("r").data.password);
    });

    it("protects the RabbitmqCluster when asked, and not otherwise", async () => {
        await build("keep", { protect: true });
        await build("temp");
        expect(session.get(T.rabbitmqCluster, "keep-cluster").protect).toBe(true);
        expect(session.get(T.rabbitmqCluster, "temp-cluster").protect).toBe(false);
    });
});

describe("RabbitMq mesh and monitoring", () => {
    it("joins the mesh: the namespace is labelled for sidecar injection", async () => {
        await build("r");
        const ns = session.get(T.namespace, "r-ns-namespace").inputs as unknown as Cr;
        expect(ns.metadata.name).toBe("rabbitmq");
        expect(ns.metadata.labels?.["istio-injection"]).toBe("enabled");
    });

    it("keeps mTLS STRICT for RabbitMQ pods but lets Prometheus scrape 15692 in plaintext", async () => {
        await build("r");
        const bus = crOf(T.rabbitmqCluster, "r-cluster");
        const pa = crOf(T.peerAuthentication, "r-metrics-mtls");
        expect(pa.metadata.namespace).toBe(bus.metadata.namespace);
        expect(pa.spec).toEqual({
            selector: { matchLabels: { "app.kubernetes.io/name": bus.metadata.name } },
            mtls: { mode: "STRICT" },
            portLevelMtls: { "15692": { mode: "PERMISSIVE" } },
        });
    });

    it("scrapes the cluster's prometheus port with a ServiceMonitor", async () => {
        await build("r");
        const bus = crOf(T.rabbitmqCluster, "r-cluster");
        const monitor = crOf(T.serviceMonitor, "r-service-monitor");
        expect(monitor.metadata.namespace).toBe(bus.metadata.namespace);
        expect(monitor.spec).toMatchObject({
            selector: { matchLabels: { "app.kubernetes.io/name": bus.metadata.name } },
            endpoints: [{ port: "prometheus" }],
        });
    });

    it("lets client namespaces reach AMQP, and only when some are given", async () => {
        await build("with", { clientNamespaces: ["platform-system"] });
        await build("without");
        expect(session.get(T.networkPolicy, "with-ns-allow-clients").inputs).toMatchObject({
            metadata: { namespace: "rabbitmq" },
            spec: {
                policyTypes: ["Ingress"],
                ingress: [
                    {
                        from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "platform-system" } } }],
                        ports: [{ port: 5672 }],
                    },
                ],
            },
        });
        expect(session.resources.some((r) => r.name === "without-ns-allow-clients")).toBe(false);
    });
});

describe("RabbitMq records", () => {
    it("reports the operator, the cluster and both namespaces", async () => {
        const rmq = await build("r", { replicas: 3 });
        expect(rmq.records.map((r) => r.id)).toEqual(["namespace/rabbitmq-system", "namespace/rabbitmq", "rabbitmq/operator", "rabbitmq"]);
        expect(rmq.records[0].dependsOn).toContain("rabbitmq/operator");
        expect(rmq.records[3]).toMatchObject({
            count: 3,
            status: "rendered",
            entrypoints: [`amqp://${rmq.host}:5672`],
            dependsOn: expect.arrayContaining(["rabbitmq/operator", "namespace/rabbitmq"]),
        });
    });

    it("names children after the instance, so two instances do not collide", async () => {
        await build("one");
        await build("two", { namespace: "events" });
        expectDistinctInstances(session, ["one", "two"]);
        expect(session.ofType(T.rabbitmqCluster).map((r) => r.name).sort()).toEqual(["one-cluster", "two-cluster"]);
    });
});
