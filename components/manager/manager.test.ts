import * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";

import { appliedCluster, expectDistinctInstances, expectRefusedBeforeRegistering, K8S, settled, setupRenderedComponent, TEST_TAGS as tags } from "../../test/helpers/component";
import { isSecretInput, MockSession, unwrapSecret } from "../../test/helpers/mocks";
import { policyReport } from "../../test/helpers/policy-report";

const T = {
    ...K8S,
    deployment: "kubernetes:apps/v1:Deployment",
    service: "kubernetes:core/v1:Service",
    serviceAccount: "kubernetes:core/v1:ServiceAccount",
    role: "kubernetes:rbac.authorization.k8s.io/v1:Role",
    roleBinding: "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
    pdb: "kubernetes:policy/v1:PodDisruptionBudget",
    serviceMonitor: "kubernetes:monitoring.coreos.com/v1:ServiceMonitor",
    configMap: "kubernetes:core/v1:ConfigMap",
};

const IMAGE = `registry.example.com:5000/platform/manager@sha256:${"0123456789abcdef".repeat(4)}`;
/** What the RabbitMq instance gives (a fake password, as a secret output). */
const PASSWORD = "rabbit-password-value-0123456789";

let session: MockSession;
let mod: typeof import("./index");
let cluster: import("../cluster").ExistingCluster;

beforeAll(async () => {
    ({ session, mod, cluster } = await setupRenderedComponent(() => import("./index")));
});
beforeEach(() => session.reset());

type Args = import("./index").EnvironmentManagerArgs;
const managerArgs = (extra: Partial<Args> = {}): Args => ({
    cluster,
    tags,
    image: IMAGE,
    rabbitMq: {
        namespace: "rabbitmq",
        host: "platform-events.rabbitmq.svc.cluster.local",
        port: 5672,
        username: "platform",
        credentialsSecretName: "rabbitmq-default-user",
        password: pulumi.secret(PASSWORD),
    },
    database: { urlSecret: { name: "platform-manager-database" }, serverNamespace: "postgres" },
    ...extra,
});
const build = (name: string, extra: Partial<Args> = {}) => settled(session, () => new mod.EnvironmentManager(name, managerArgs(extra)));

interface Container {
    name: string;
    image: string;
    args?: string[];
    command?: string[];
    env?: { name: string; value?: string; valueFrom?: unknown }[];
    envFrom?: unknown[];
    securityContext: Record<string, unknown>;
    resources: unknown;
    livenessProbe?: { httpGet: { path: string; port: string } };
    readinessProbe?: { httpGet: { path: string; port: string } };
    volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface Volume {
    name: string;
    secret?: { secretName: string; defaultMode?: number; items?: { key: string; path: string }[] };
    configMap?: { name: string };
    emptyDir?: object;
}
interface Deployment {
    metadata: { name: string; namespace: string; labels: Record<string, string> };
    spec: {
        replicas: number;
        selector: { matchLabels: Record<string, string> };
        template: {
            metadata: { labels: Record<string, string>; annotations: Record<string, string> };
            spec: {
                serviceAccountName: string;
                securityContext: Record<string, unknown>;
                topologySpreadConstraints: { topologyKey: string; maxSkew: number; labelSelector: { matchLabels: Record<string, string> } }[];
                initContainers: Container[];
                containers: Container[];
                volumes: Volume[];
            };
        };
    };
}
const deployment = (name: string) => session.get(T.deployment, `${name}-deployment`).inputs as unknown as Deployment;
const container = (name: string) => deployment(name).spec.template.spec.containers[0];
/** The value after a flag in the container's args. */
const flag = (c: Container, name: string) => {
    const args = c.args ?? [];
    const i = args.indexOf(name);
    return i === -1 ? undefined : args[i + 1];
};
/** The volume mounted at the directory of a mounted file. */
const volumeOf = (name: string, file: string) => {
    const c = container(name);
    const mount = c.volumeMounts.find((m) => file.startsWith(`${m.mountPath}/`));
    return { mount, volume: deployment(name).spec.template.spec.volumes.find((v) => v.name === mount?.name) };
};

describe("validateEnvironmentManagerArgs", () => {
    it("accepts the valid fixture and the bounds of replicas", () => {
        for (const replicas of [1, 5]) {
            expect(() => mod.validateEnvironmentManagerArgs("m", managerArgs({ replicas }))).not.toThrow();
        }
    });

    it.each<[string, Partial<Args>, RegExp]>([
        ["image (a tag)", { image: "registry.example.com/platform/manager:1.2.3" }, /image is "registry\.example\.com\/platform\/manager:1\.2\.3" \(a tag can move to another image\); allowed: an image pinned by digest, registry\/repository@sha256:<64 lower-case hex digits>, no tag/],
        ["image (tag and digest)", { image: `registry.example.com/platform/manager:1.2.3@sha256:${"a".repeat(64)}` }, /image is .*; allowed: an image pinned by digest/],
        ["image (short digest)", { image: `registry.example.com/platform/manager@sha256:${"a".repeat(63)}` }, /image is .*; allowed: an image pinned by digest/],
        ["image (latest)", { image: "platform-manager" }, /image is "platform-manager" \(a tag can move/],
        ["replicas (0)", { replicas: 0 }, /replicas is 0; allowed: an integer from 1 to 5/],
        ["replicas (6)", { replicas: 6 }, /replicas is 6; allowed: an integer from 1 to 5/],
        ["replicas (1.5)", { replicas: 1.5 }, /replicas is 1\.5; allowed: an integer from 1 to 5/],
        ["concurrency", { concurrency: 17 }, /concurrency is 17; allowed: an integer from 1 to 16/],
        ["namespace", { namespace: "Manager" }, /namespace is "Manager"; allowed: a DNS label/],
        ["stateBackendUrl", { stateBackendUrl: "file:///state" }, /stateBackendUrl is "file:\/\/\/state"; allowed: an s3:\/\/, azblob:\/\/, gs:\/\/ or https:\/\/ backend URL/],
        ["issuer", { issuer: " " }, /issuer is empty; allowed: the tokens' issuer/],
        ["database.urlSecret.name", { database: { urlSecret: { name: "Bad_Name" } } }, /database\.urlSecret\.name is "Bad_Name"; allowed: a Secret name/],
        ["rabbitMq.namespace", { rabbitMq: { ...managerArgs().rabbitMq, namespace: "Rabbit_MQ" } }, /rabbitMq\.namespace is "Rabbit_MQ"; allowed: the broker's namespace \(DNS label\)/],
        ["rabbitMq.username", { rabbitMq: { ...managerArgs().rabbitMq, username: " " } }, /rabbitMq\.username is empty; allowed: the broker user/],
        ["rabbitMq.credentialsSecretName", { rabbitMq: { ...managerArgs().rabbitMq, credentialsSecretName: "Default_User" } }, /rabbitMq\.credentialsSecretName is "Default_User"; allowed: a Secret name in the broker's namespace holding key password/],
    ])("rejects a bad %s, naming the setting and what is allowed", (_, extra, message) => {
        expect(() => mod.validateEnvironmentManagerArgs("m", managerArgs(extra))).toThrow(message);
        expect(() => mod.validateEnvironmentManagerArgs("m", managerArgs(extra))).toThrow(/^manager "m": /);
    });

    it("refuses a tag before registering anything", async () => {
        await expectRefusedBeforeRegistering(session, () => new mod.EnvironmentManager("m", managerArgs({ image: "registry.example.com/platform/manager:v1" })), /manager "m": image is/);
    });
});

describe("EnvironmentManager workload", () => {
    it("runs 2 replicas of the pinned image by default, as a primary with leader election", async () => {
        const m = await build("m");
        const d = deployment("m");
        expect(d.metadata).toMatchObject({ name: "platform-manager", namespace: "m" });
        expect(d.spec.replicas).toBe(2);
        const c = container("m");
        expect(c.image).toBe(IMAGE);
        expect(c.args?.slice(0, 2)).toEqual(["server", "--primary"]);
        expect(flag(c, "--listen")).toBe("0.0.0.0:8080");
        expect(flag(c, "--lease-namespace")).toBe("m");
        expect(flag(c, "--lease-name")).toBe(m.leaseName);
        expect(flag(c, "--project-dir")).toBe(mod.PROJECT_DIR);
        expect(flag(c, "--concurrency")).toBe("2");
        expect(flag(c, "--issuer")).toBe("platform");
        expect(flag(c, "--audience")).toBe("platform-manager");
        expect(d.spec.template.spec.initContainers.map((i) => i.image)).toEqual([IMAGE]);
    });

    it("takes replicas, namespace and concurrency from args", async () => {
        await build("m", { replicas: 3, namespace: "envs", concurrency: 4 });
        expect(deployment("m").spec.replicas).toBe(3);
        expect(deployment("m").metadata.namespace).toBe("envs");
        expect(flag(container("m"), "--lease-namespace")).toBe("envs");
        expect(flag(container("m"), "--concurrency")).toBe("4");
    });

    it("mounts every credential as a read-only file under /var/run/secrets/platform-manager", async () => {
        const m = await build("m");
        const c = container("m");
        const files = {
            "--amqp-url-file": { secret: "platform-manager-amqp" },
            "--amqp-password-file": { secret: "platform-manager-amqp" },
            "--database-url-file": { secret: "platform-manager-database" },
            "--token-secret-file": { secret: m.tokenSecretName },
        };
        for (const [name, { secret }] of Object.entries(files)) {
            const file = flag(c, name);
            expect(file, name).toMatch(/^\/var\/run\/secrets\/platform-manager\/[a-z]+\/[a-z]+$/);
            const { mount, volume } = volumeOf("m", file!);
            expect(mount?.readOnly, name).toBe(true);
            expect(volume?.secret?.secretName, name).toBe(secret);
        }
        expect(flag(c, "--jwks-file")).toBeUndefined();
    });

    it("verifies tokens with a JWKS ConfigMap when asked, and generates no key then", async () => {
        const m = await build("m", { tokenVerification: { kind: "jwks", configMapName: "manager-jwks" } });
        const c = container("m");
        expect(flag(c, "--token-secret-file")).toBeUndefined();
        const file = flag(c, "--jwks-file")!;
        expect(file).toBe("/etc/platform-manager/jwks/jwks.json");
        expect(volumeOf("m", file).volume?.configMap?.name).toBe("manager-jwks");
        expect(m.tokenSecretName).toBeUndefined();
        expect(session.resources.some((r) => r.name === "m-token-secret")).toBe(false);
    });

    it("generates the HS256 key into a Secret, rendered without its value", async () => {
        const m = await build("m");
        const secret = session.get(T.secret, "m-token-secret").inputs as { metadata: { name: string; namespace: string; annotations: Record<string, string> }; stringData?: unknown };
        expect(secret.metadata).toMatchObject({ name: m.tokenSecretName, namespace: "m" });
        expect(secret.stringData).toBeUndefined();
        expect(secret.metadata.annotations["platform.example.com/values"]).toMatch(/^not rendered/);
    });

    it("puts no secret value in any env var or arg, and takes no env from Secrets", async () => {
        await build("a", { cluster: await appliedCluster(), stateBackendUrl: "s3://platform-state" });
        const d = deployment("a");
        const all = [...d.spec.template.spec.containers, ...d.spec.template.spec.initContainers];
        for (const c of all) {
            expect(c.envFrom, c.name).toBeUndefined();
            for (const e of c.env ?? []) {
                expect(e.valueFrom, `${c.name} ${e.name}`).toBeUndefined();
                expect(typeof e.value, `${c.name} ${e.name}`).toBe("string");
            }
        }
        const text = JSON.stringify(all);
        expect(text).not.toContain(PASSWORD);
        expect(text).not.toMatch(/secretKeyRef|amqp:\/\/|postgres(ql)?:\/\//);
        // The generated HS256 key is not in the Deployment either.
        const token = unwrapSecret<Record<string, string>>((session.get(T.secret, "a-token-secret").inputs as { stringData: unknown }).stringData);
        expect(token.key).toMatch(/^[A-Za-z0-9]{64}$/);
        expect(JSON.stringify(d)).not.toContain(token.key);
        expect(container("a").env).toContainEqual({ name: "PLATFORM_STATE_BACKEND_URL", value: "s3://platform-state" });
    });

    it("probes /api/v1/healthz (liveness) and /api/v1/readyz (readiness) on the http port", async () => {
        await build("m");
        const c = container("m");
        expect(c.livenessProbe?.httpGet).toEqual({ path: "/api/v1/healthz", port: "http" });
        expect(c.readinessProbe?.httpGet).toEqual({ path: "/api/v1/readyz", port: "http" });
    });

    it("runs restricted: non-root, read-only root, no privilege escalation, no capabilities, RuntimeDefault seccomp, with requests and limits", async () => {
        await build("m");
        const d = deployment("m");
        expect(d.spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
        for (const c of [...d.spec.template.spec.containers, ...d.spec.template.spec.initContainers]) {
            expect(c.securityContext, c.name).toEqual({
                runAsNonRoot: true,
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ["ALL"] },
                seccompProfile: { type: "RuntimeDefault" },
            });
            expect(c.resources, c.name).toMatchObject({ requests: { cpu: expect.any(String), memory: expect.any(String) }, limits: { memory: expect.any(String) } });
        }
        // What pulumi writes goes to volumes, not the image.
        const writable = container("m").volumeMounts.filter((m) => !m.readOnly).map((m) => m.mountPath);
        expect(writable.sort()).toEqual(["/opt/platform/rendered", "/opt/platform/stacks", "/tmp", "/var/lib/platform-manager/pulumi-home"]);
    });

    it("spreads replicas across nodes", async () => {
        await build("m");
        const d = deployment("m");
        expect(d.spec.template.spec.topologySpreadConstraints).toEqual([
            expect.objectContaining({ topologyKey: "kubernetes.io/hostname", maxSkew: 1, labelSelector: { matchLabels: d.spec.selector.matchLabels } }),
        ]);
        expect(d.spec.template.metadata.labels).toMatchObject(d.spec.selector.matchLabels);
    });
});

describe("EnvironmentManager RBAC", () => {
    it("lets its ServiceAccount get and update only its named Lease, in its namespace", async () => {
        const m = await build("m");
        const role = session.get(T.role, "m-lease-role").inputs as { metadata: { name: string; namespace: string }; rules: { apiGroups: string[]; resources: string[]; resourceNames?: string[]; verbs: string[] }[] };
        expect(role.metadata.namespace).toBe("m");
        expect(role.rules).toEqual([
            { apiGroups: ["coordination.k8s.io"], resources: ["leases"], resourceNames: [m.leaseName], verbs: ["get", "update"] },
            { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
        ]);
        const binding = session.get(T.roleBinding, "m-lease-binding").inputs as { roleRef: { kind: string; name: string }; subjects: { kind: string; name: string; namespace: string }[] };
        expect(binding.roleRef).toMatchObject({ kind: "Role", name: role.metadata.name });
        expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: deployment("m").spec.template.spec.serviceAccountName, namespace: "m" }]);
        expect(session.ofType(T.serviceAccount).map((s) => (s.inputs as { metadata: { name: string } }).metadata.name)).toContain("platform-manager");
        // Nothing cluster-wide.
        expect(session.resources.filter((r) => /ClusterRole/.test(r.type))).toEqual([]);
    });
});

describe("EnvironmentManager network, service and monitoring", () => {
    const policy = (name: string) => session.get(T.networkPolicy, name).inputs as { spec: { ingress?: { from?: unknown; ports?: { port: number }[] }[]; egress?: { to?: unknown; ports?: { port: number }[] }[] } };
    const peers = (ns: string) => [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": ns } } }];

    it("joins the mesh and opens only its own ports", async () => {
        await build("m", { clientNamespaces: ["platform-system"] });
        const ns = session.get(T.namespace, "m-ns-namespace").inputs as { metadata: { name: string; labels: Record<string, string> } };
        expect(ns.metadata.name).toBe("m");
        expect(ns.metadata.labels["istio-injection"]).toBe("enabled");
        expect(policy("m-ns-allow-clients").spec.ingress).toEqual([{ from: peers("platform-system"), ports: [{ port: 8080, protocol: "TCP" }] }]);
        expect(policy("m-ns-allow-ingress-gateway").spec.ingress?.[0].from).toEqual(peers("istio-ingress"));
        expect(policy("m-ns-allow-mesh-metrics").spec.ingress).toEqual([{ from: peers("observability"), ports: [{ port: 15020, protocol: "TCP" }, { port: 15090, protocol: "TCP" }] }]);
        expect(policy("m-ns-allow-rabbitmq").spec.egress).toEqual([{ to: peers("rabbitmq"), ports: [{ port: 5672, protocol: "TCP" }] }]);
        expect(policy("m-ns-allow-postgres").spec.egress).toEqual([{ to: peers("postgres"), ports: [{ port: 5432, protocol: "TCP" }] }]);
        expect(policy("m-ns-allow-kube-api").spec.egress?.[0].ports?.map((p) => p.port)).toEqual([443, 6443]);
        expect(policy("m-ns-allow-state-backend").spec.egress).toEqual([{ to: undefined, ports: [{ port: 443, protocol: "TCP" }] }]);
    });

    it("opens no client ingress without client namespaces, and egress 5432 anywhere for a managed database", async () => {
        await build("m", { database: { urlSecret: { name: "db", key: "uri" } } });
        expect(session.resources.some((r) => r.name === "m-ns-allow-clients")).toBe(false);
        expect(policy("m-ns-allow-postgres").spec.egress).toEqual([{ to: undefined, ports: [{ port: 5432, protocol: "TCP" }] }]);
        expect(flag(container("m"), "--database-url-file")).toBe("/var/run/secrets/platform-manager/database/uri");
    });

    it("serves the API on 8080 and has Prometheus scrape the sidecar's merged metrics", async () => {
        const m = await build("m");
        const service = session.get(T.service, "m-service").inputs as { metadata: { name: string }; spec: { type: string; selector: Record<string, string>; ports: { name: string; port: number }[] } };
        expect(m.host).toBe(`${service.metadata.name}.m.svc.cluster.local`);
        expect(service.spec.type).toBe("ClusterIP");
        expect(service.spec.selector).toEqual(deployment("m").spec.selector.matchLabels);
        expect(service.spec.ports.map((p) => [p.name, p.port])).toEqual([["http", 8080], ["http-monitoring", 15020]]);
        const monitor = session.get(T.serviceMonitor, "m-service-monitor").inputs as { spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path: string }[] } };
        expect(monitor.spec.selector.matchLabels).toEqual(service.spec.selector);
        expect(monitor.spec.endpoints).toEqual([expect.objectContaining({ port: "http-monitoring", path: "/stats/prometheus" })]);
        // The sidecar merges the manager's own /metrics into what it serves.
        expect(deployment("m").spec.template.metadata.annotations).toMatchObject({ "prometheus.io/port": "8080", "prometheus.io/path": "/metrics" });
    });

    it("keeps one replica through disruptions, and has no budget with a single replica (it would block drains)", async () => {
        await build("m");
        await build("single", { replicas: 1 });
        const pdb = session.get(T.pdb, "m-pdb").inputs as { spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } } };
        expect(pdb.spec).toEqual({ minAvailable: 1, selector: { matchLabels: deployment("m").spec.selector.matchLabels } });
        expect(session.resources.some((r) => r.name === "single-pdb")).toBe(false);
    });

    it("mounts stack defaults from a ConfigMap when given", async () => {
        await build("m", { stackDefaults: { kubeContext: "kind-review" } });
        const cm = session.get(T.configMap, "m-stack-defaults").inputs as { data: Record<string, string> };
        expect(JSON.parse(cm.data["stack-defaults.json"])).toEqual({ kubeContext: "kind-review" });
        expect(flag(container("m"), "--stack-defaults")).toBe("/etc/platform-manager/stack-defaults/stack-defaults.json");
    });
});

describe("EnvironmentManager records, labels and policies", () => {
    it("reports its namespace and itself, depending on the mesh, the bus and the database", async () => {
        const m = await build("m", { replicas: 3 });
        expect(m.records.map((r) => r.id)).toEqual(["namespace/m", "manager"]);
        expect(m.records[1]).toMatchObject({
            template: "platform:manager:EnvironmentManager",
            count: 3,
            status: "rendered",
            entrypoints: [`http://${m.host}:8080/api/v1`],
            dependsOn: ["namespace/m", "mesh/istiod", "rabbitmq", "postgres"],
        });
    });

    it("labels every object with the standard labels", async () => {
        await build("m");
        for (const r of session.resources.filter((r) => r.custom && r.type.startsWith("kubernetes:"))) {
            const labels = (r.inputs as { metadata?: { labels?: Record<string, string> } }).metadata?.labels ?? {};
            expect(labels["app.kubernetes.io/managed-by"], r.name).toBe("pulumi");
            expect(labels["platform.example.com/environment"], r.name).toBe(tags.environment);
        }
    });

    it("passes the policy pack (local's config) with no finding at all", async () => {
        await build("m");
        await build("a", { cluster: await appliedCluster(), namespace: "applied-manager" });
        expect(await policyReport(session, "local")).toEqual([]);
        // The pack does read these objects: the same Deployment with a moving tag is refused.
        const d = session.get(T.deployment, "m-deployment");
        const tagged = JSON.parse(JSON.stringify(d.inputs).split(IMAGE).join("registry.example.com/platform/manager:latest")) as Record<string, unknown>;
        session.resources.push({ ...d, name: "tagged", inputs: tagged });
        const findings = await policyReport(session, "local");
        expect(findings.map((f) => `${f.level} ${f.policy}`)).toEqual(["mandatory container-image-pinned", "mandatory container-image-pinned"]);
    });

    it("names children after the instance, so two instances do not collide", async () => {
        await build("one");
        await build("two");
        expectDistinctInstances(session, ["one", "two"]);
    });
});

/** What InClusterPostgres.applicationDatabase() gives (a fake password, as a secret output). */
const DB_PASSWORD = "role-password-value-0123456789ab";
const server = (): import("./index").ManagerDatabaseServer => ({
    namespace: "postgres",
    host: "platform-postgres-rw.postgres.svc.cluster.local",
    port: 5432,
    database: "platform_manager",
    username: "platform_manager",
    passwordSecret: "platform-postgres-role-platform-manager",
    password: pulumi.secret(DB_PASSWORD),
    requireTls: true,
});

describe("EnvironmentManager with an in-cluster server's application database", () => {
    const URL_WITHOUT_PASSWORD = "postgres://platform_manager@platform-postgres-rw.postgres.svc.cluster.local:5432/platform_manager?sslmode=require&uselibpqcompat=true";
    interface DbSecret {
        metadata: { name: string; namespace: string; annotations?: Record<string, string> };
        stringData: unknown;
    }

    it("mounts its own Secret's url (no password) and password, passed as --database-url-file and --database-password-file", async () => {
        await build("m", { database: { server: server() } });
        const c = container("m");
        expect(flag(c, "--database-url-file")).toBe("/var/run/secrets/platform-manager/database/url");
        expect(flag(c, "--database-password-file")).toBe("/var/run/secrets/platform-manager/database/password");
        const { mount, volume } = volumeOf("m", flag(c, "--database-password-file")!);
        expect(mount?.readOnly).toBe(true);
        expect(volume?.secret).toEqual({ secretName: mod.MANAGER_DATABASE_SECRET, defaultMode: 0o440, items: [{ key: "url", path: "url" }, { key: "password", path: "password" }] });
        expect(mod.passwordlessUrl(server())).toBe(URL_WITHOUT_PASSWORD);
    });

    it("applying: writes url and password to the Secret as a secret, the password nowhere in plain text", async () => {
        const m = await build("a", { cluster: await appliedCluster(), database: { server: server() } });
        const secret = session.get(T.secret, "a-database").inputs as unknown as DbSecret;
        expect(secret.metadata).toMatchObject({ name: "platform-manager-database", namespace: "a" });
        expect(isSecretInput(secret.stringData)).toBe(true);
        expect(unwrapSecret(secret.stringData)).toEqual({ url: URL_WITHOUT_PASSWORD, password: DB_PASSWORD });
        // No copy Job when the program knows the value.
        expect(session.resources.filter((r) => r.name.startsWith("a-database-copy"))).toEqual([]);
        // Nowhere else: not in another resource's inputs, not in the component's outputs, not in an argument.
        const plain = session.resources.filter((r) => r.name !== "a-database").map((r) => JSON.stringify(r.inputs));
        expect(plain.filter((text) => text.includes(DB_PASSWORD))).toEqual([]);
        expect(JSON.stringify(m.records)).not.toContain(DB_PASSWORD);
        expect(container("a").args?.join(" ")).not.toContain(DB_PASSWORD);
    });

    it("rendering: the Secret holds the url only, and a Job copies the password from the server's namespace, allowed that one Secret in each", async () => {
        await build("m", { database: { server: server() } });
        const secret = session.get(T.secret, "m-database").inputs as unknown as DbSecret;
        expect(unwrapSecret(secret.stringData)).toEqual({ url: URL_WITHOUT_PASSWORD });
        expect(secret.metadata.annotations?.["platform.example.com/values"]).toBe(
            "not rendered: key password copied in the cluster from postgres/platform-postgres-role-platform-manager by the Job platform-manager-database-copy",
        );
        expect(session.resources.filter((r) => JSON.stringify(r.inputs).includes(DB_PASSWORD))).toEqual([]);

        const job = session.get("kubernetes:batch/v1:Job", "m-database-copy").inputs as {
            metadata: { name: string; namespace: string };
            spec: {
                backoffLimit: number;
                ttlSecondsAfterFinished: number;
                template: { metadata: { annotations: Record<string, string> }; spec: { serviceAccountName: string; containers: { env: { name: string; value: string }[] }[] } };
            };
        };
        expect(job.metadata).toMatchObject({ name: "platform-manager-database-copy", namespace: "m" });
        // Deleted once finished, so the GitOps controller's next sync runs it again.
        expect(job.spec).toMatchObject({ backoffLimit: 10, ttlSecondsAfterFinished: 300 });
        expect(job.spec.template.metadata.annotations["sidecar.istio.io/inject"]).toBe("false");
        expect(Object.fromEntries(job.spec.template.spec.containers[0].env.map((e) => [e.name, e.value]))).toMatchObject({
            SOURCE_NAMESPACE: "postgres",
            SOURCE_SECRET: "platform-postgres-role-platform-manager",
            SOURCE_KEY: "password",
            TARGET_NAMESPACE: "m",
            TARGET_SECRET: "platform-manager-database",
            TARGET_KEY: "password",
        });
        const rules = (role: string) => (session.get(T.role, `m-database-copy-${role}`).inputs as { metadata: { namespace: string }; rules: unknown[] });
        expect(rules("source")).toMatchObject({ metadata: { namespace: "postgres" }, rules: [{ apiGroups: [""], resources: ["secrets"], resourceNames: ["platform-postgres-role-platform-manager"], verbs: ["get"] }] });
        expect(rules("target")).toMatchObject({ metadata: { namespace: "m" }, rules: [{ apiGroups: [""], resources: ["secrets"], resourceNames: ["platform-manager-database"], verbs: ["get", "patch"] }] });
        const binding = session.get(T.roleBinding, "m-database-copy-source").inputs as { subjects: unknown[] };
        expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: "platform-manager-database-copy", namespace: "m" }]);
    });

    it("reaches only the server's namespace on its port, and records the dependency on postgres", async () => {
        const m = await build("m", { database: { server: { ...server(), namespace: "db" } } });
        const egress = (session.get(T.networkPolicy, "m-ns-allow-postgres").inputs as { spec: { egress: unknown[] } }).spec.egress;
        expect(egress).toEqual([{ to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "db" } } }], ports: [{ port: 5432, protocol: "TCP" }] }]);
        expect(m.records[1].dependsOn).toContain("postgres");
    });

    it("refuses a server namespace that is not a DNS label, before any resource", async () => {
        expect(() => mod.validateEnvironmentManagerArgs("m", managerArgs({ database: { server: { ...server(), namespace: "Bad_Ns" } } }))).toThrow(
            'manager "m": database.server.namespace is "Bad_Ns"; allowed: the server\'s namespace (DNS label)',
        );
    });

    it("passes the policy pack with the copy Job (local's config)", async () => {
        await build("m", { database: { server: server() } });
        expect(await policyReport(session, "local")).toEqual([]);
    });
});

describe("EnvironmentManager's bus credentials", () => {
    const URL_WITHOUT_PASSWORD = "amqp://platform@platform-events.rabbitmq.svc.cluster.local:5672/";
    interface AmqpSecret {
        metadata: { name: string; namespace: string; annotations?: Record<string, string> };
        stringData: unknown;
    }
    const JOB = "kubernetes:batch/v1:Job";

    it("mounts its own Secret's url (no password) and password, passed as --amqp-url-file and --amqp-password-file", async () => {
        await build("m");
        const c = container("m");
        expect(flag(c, "--amqp-url-file")).toBe("/var/run/secrets/platform-manager/amqp/url");
        expect(flag(c, "--amqp-password-file")).toBe("/var/run/secrets/platform-manager/amqp/password");
        const { mount, volume } = volumeOf("m", flag(c, "--amqp-password-file")!);
        expect(mount?.readOnly).toBe(true);
        // Both keys named: the pod waits for the copied password instead of starting without it.
        expect(volume?.secret).toEqual({ secretName: mod.MANAGER_AMQP_SECRET, defaultMode: 0o440, items: [{ key: "url", path: "url" }, { key: "password", path: "password" }] });
        expect(mod.passwordlessAmqpUrl(managerArgs().rabbitMq)).toBe(URL_WITHOUT_PASSWORD);
        expect(mod.passwordlessAmqpUrl({ ...managerArgs().rabbitMq, username: "a@b" })).toBe("amqp://a%40b@platform-events.rabbitmq.svc.cluster.local:5672/");
    });

    it("applying: writes url and password to the Secret as a secret, the password nowhere in plain text and no copy Job", async () => {
        const m = await build("a", { cluster: await appliedCluster() });
        const secret = session.get(T.secret, "a-amqp").inputs as unknown as AmqpSecret;
        expect(secret.metadata).toMatchObject({ name: "platform-manager-amqp", namespace: "a" });
        expect(secret.metadata.annotations).toBeUndefined();
        expect(isSecretInput(secret.stringData)).toBe(true);
        expect(unwrapSecret(secret.stringData)).toEqual({ url: URL_WITHOUT_PASSWORD, password: PASSWORD });
        // No copy Job (nor its account or grants) when the program knows the value.
        expect(session.resources.filter((r) => r.name.startsWith("a-amqp-copy"))).toEqual([]);
        // And no Job that deletes itself: `pulumi refresh` would see it gone.
        expect(session.ofType(JOB).filter((r) => JSON.stringify(r.inputs).includes("ttlSecondsAfterFinished"))).toEqual([]);
        expect(session.ofType(JOB)).toEqual([]);
        // Nowhere else: not in another resource's inputs, not in the records, not in an argument.
        const plain = session.resources.filter((r) => r.name !== "a-amqp").map((r) => JSON.stringify(r.inputs));
        expect(plain.filter((text) => text.includes(PASSWORD))).toEqual([]);
        expect(JSON.stringify(m.records)).not.toContain(PASSWORD);
        expect(container("a").args?.join(" ")).not.toContain(PASSWORD);
    });

    it("rendering: the Secret holds the url only, and a Job copies the password from the broker's credentials Secret", async () => {
        await build("m");
        const secret = session.get(T.secret, "m-amqp").inputs as unknown as AmqpSecret;
        expect(secret.metadata).toMatchObject({ name: "platform-manager-amqp", namespace: "m" });
        expect(unwrapSecret(secret.stringData)).toEqual({ url: URL_WITHOUT_PASSWORD });
        expect(secret.metadata.annotations?.["platform.example.com/values"]).toBe(
            "not rendered: key password copied in the cluster from rabbitmq/rabbitmq-default-user by the Job platform-manager-amqp-copy",
        );
        // Nothing for a human to fill in.
        expect(JSON.stringify(session.resources.map((r) => r.inputs))).not.toMatch(/set key url|<password of/);
        expect(session.resources.filter((r) => JSON.stringify(r.inputs).includes(PASSWORD))).toEqual([]);

        const job = session.get(JOB, "m-amqp-copy").inputs as {
            metadata: { name: string; namespace: string };
            spec: {
                ttlSecondsAfterFinished: number;
                template: { metadata: { annotations: Record<string, string> }; spec: { serviceAccountName: string; containers: { env: { name: string; value: string }[] }[] } };
            };
        };
        expect(job.metadata).toMatchObject({ name: "platform-manager-amqp-copy", namespace: "m" });
        expect(job.spec.ttlSecondsAfterFinished).toBe(300);
        expect(job.spec.template.metadata.annotations["sidecar.istio.io/inject"]).toBe("false");
        expect(job.spec.template.spec.serviceAccountName).toBe("platform-manager-amqp-copy");
        expect(Object.fromEntries(job.spec.template.spec.containers[0].env.map((e) => [e.name, e.value]))).toMatchObject({
            SOURCE_NAMESPACE: "rabbitmq",
            SOURCE_SECRET: "rabbitmq-default-user",
            SOURCE_KEY: "password",
            TARGET_NAMESPACE: "m",
            TARGET_SECRET: "platform-manager-amqp",
            TARGET_KEY: "password",
        });
    });

    it("rendering: the copy Job may only get the broker's credentials Secret and get and patch the manager's own", async () => {
        await build("m");
        const role = (r: string) => session.get(T.role, `m-amqp-copy-${r}`).inputs as { metadata: { name: string; namespace: string }; rules: unknown[] };
        expect(role("source").metadata).toMatchObject({ name: "platform-manager-amqp-copy", namespace: "rabbitmq" });
        expect(role("source").rules).toEqual([{ apiGroups: [""], resources: ["secrets"], resourceNames: ["rabbitmq-default-user"], verbs: ["get"] }]);
        expect(role("target").metadata).toMatchObject({ name: "platform-manager-amqp-copy", namespace: "m" });
        expect(role("target").rules).toEqual([{ apiGroups: [""], resources: ["secrets"], resourceNames: ["platform-manager-amqp"], verbs: ["get", "patch"] }]);
        for (const r of ["source", "target"]) {
            const binding = session.get(T.roleBinding, `m-amqp-copy-${r}`).inputs as { metadata: { namespace: string }; roleRef: unknown; subjects: unknown[] };
            expect(binding.metadata.namespace).toBe(r === "source" ? "rabbitmq" : "m");
            expect(binding.roleRef).toEqual({ apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "platform-manager-amqp-copy" });
            expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: "platform-manager-amqp-copy", namespace: "m" }]);
        }
        // Nothing cluster-wide, and no new network allow: the namespace's egress to the API server (the Lease's) serves the Job.
        expect(session.resources.filter((r) => /ClusterRole/.test(r.type))).toEqual([]);
        const allows = session.ofType(T.networkPolicy).map((r) => r.name);
        expect(allows.filter((n) => /copy|amqp/.test(n))).toEqual([]);
        expect(allows).toContain("m-ns-allow-kube-api");
    });

    it("copies both credentials with one Job each when the database is an in-cluster server's too", async () => {
        await build("m", { database: { server: server() } });
        const copies = session.ofType(JOB).map((r) => (r.inputs as { metadata: { name: string } }).metadata.name).filter((n) => n.endsWith("-copy"));
        expect(copies.sort()).toEqual(["platform-manager-amqp-copy", "platform-manager-database-copy"]);
        const args = container("m").args ?? [];
        expect(args).toEqual(expect.arrayContaining(["--amqp-url-file", "--amqp-password-file", "--database-url-file", "--database-password-file"]));
    });
});
