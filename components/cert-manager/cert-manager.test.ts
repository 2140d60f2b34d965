import * as path from "node:path";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";

import {
    chartInputs,
    CONTAINER_RESOURCES,
    expectDistinctInstances,
    K8S,
    resourceBlocks,
    settled,
    setupRenderedComponent,
    TEST_TAGS as tags,
    tempMirror,
} from "../../test/helpers/component";
import { MockSession, RecordedResource } from "../../test/helpers/mocks";

const T = { ...K8S, clusterIssuer: "kubernetes:cert-manager.io/v1:ClusterIssuer" };

let session: MockSession;
let mod: typeof import("./index");
let cluster: import("../cluster").ExistingCluster;

beforeAll(async () => {
    ({ session, mod, cluster } = await setupRenderedComponent(() => import("./index")));
});
beforeEach(() => session.reset());

type Args = import("./index").CertManagerArgs;
const selfSigned = (extra: Partial<Args> = {}): Args => ({ cluster, tags, issuer: { kind: "self-signed" }, ...extra });
const acme = (issuer: Partial<Extract<Args["issuer"], { kind: "acme" }>> = {}, extra: Partial<Args> = {}): Args => ({
    cluster,
    tags,
    issuer: { kind: "acme", email: "ops@example.com", ...issuer },
    ...extra,
});

const build = (name: string, args: Args) => settled(session, () => new mod.CertManager(name, args));
const chartOf = (name: string) => chartInputs(session, name);
interface CustomResourceInputs {
    metadata: { name: string; namespace?: string; labels: Record<string, string> };
    spec: Record<string, unknown>;
}
const crOf = (r: RecordedResource) => r.inputs as unknown as CustomResourceInputs;

describe("validateCertManagerArgs", () => {
    it("accepts the valid fixtures", () => {
        expect(() => mod.validateCertManagerArgs("cm", selfSigned())).not.toThrow();
        expect(() => mod.validateCertManagerArgs("cm", acme({ server: "https://acme.example.com/dir" }, { replicas: 5 }))).not.toThrow();
    });

    it.each<[string, Args, RegExp]>([
        ["issuer.kind", selfSigned({ issuer: { kind: "vault" } as unknown as Args["issuer"] }), /issuer\.kind is "vault"; allowed: self-signed, acme/],
        ["issuer.email", acme({ email: "not-an-email" }), /issuer\.email is "not-an-email"; allowed: an email address/],
        ["issuer.server", acme({ server: "http://acme.example.com" }), /issuer\.server is "http:\/\/acme\.example\.com"; allowed: an https:\/\/ ACME directory URL/],
        ["replicas (0)", selfSigned({ replicas: 0 }), /replicas is 0; allowed: an integer from 1 to 5/],
        ["replicas (6)", selfSigned({ replicas: 6 }), /replicas is 6; allowed: an integer from 1 to 5/],
        ["replicas (1.5)", selfSigned({ replicas: 1.5 }), /replicas is 1\.5; allowed: an integer from 1 to 5/],
    ])("rejects a bad %s, naming the setting and what is allowed", (_, args, message) => {
        expect(() => mod.validateCertManagerArgs("cm", args)).toThrow(message);
        expect(() => mod.validateCertManagerArgs("cm", args)).toThrow(/^cert-manager "cm": /);
    });
});

describe("CertManager chart", () => {
    it("installs the pinned chart from its upstream repository, CRDs included", async () => {
        await build("cm", selfSigned());
        const chart = chartOf("cm-chart");
        expect(chart.version).toMatch(/^v\d+\.\d+\.\d+$/);
        expect(chart).toMatchObject({
            chart: "cert-manager",
            version: mod.CERT_MANAGER_CHART.version,
            repositoryOpts: { repo: "https://charts.jetstack.io" },
            namespace: "cert-manager",
        });
        expect(chart.values).toMatchObject({ crds: { enabled: true, keep: true } });
    });

    it("reads the chart from a mirror directory when one is given", async () => {
        const mirror = tempMirror();
        await build("cm", selfSigned({ chartMirror: mirror }));
        const chart = chartOf("cm-chart");
        expect(chart.chart).toBe(path.join(mirror, "cert-manager"));
        expect(chart.repositoryOpts).toBeUndefined();
    });

    it("runs one replica of each part by default", async () => {
        await build("cm", selfSigned());
        expect(chartOf("cm-chart").values).toMatchObject({
            replicaCount: 1,
            webhook: { replicaCount: 1 },
            cainjector: { replicaCount: 1 },
            podDisruptionBudget: { enabled: false },
        });
    });

    it("passes replicas to the controller, the webhook and the cainjector", async () => {
        await build("cm", selfSigned({ replicas: 3 }));
        expect(chartOf("cm-chart").values).toMatchObject({
            replicaCount: 3,
            webhook: { replicaCount: 3, podDisruptionBudget: { enabled: true } },
            cainjector: { replicaCount: 3, podDisruptionBudget: { enabled: true } },
            podDisruptionBudget: { enabled: true },
        });
    });

    it("gives every container requests and a memory limit", async () => {
        await build("cm", selfSigned());
        const blocks = resourceBlocks(chartOf("cm-chart").values);
        expect(blocks.map(([at]) => at)).toEqual(
            expect.arrayContaining(["values.resources", "values.webhook.resources", "values.cainjector.resources"]),
        );
        // startupapicheck is a post-install hook job, which the platform does not run.
        expect(chartOf("cm-chart").values.startupapicheck).toEqual({ enabled: false });
        for (const [at, block] of blocks) {
            expect(block, at).toMatchObject(CONTAINER_RESOURCES);
        }
    });
});

describe("CertManager issuers", () => {
    it("self-signed: a bootstrap issuer signs a root CA that backs the platform-ca issuer", async () => {
        const cm = await build("cm", selfSigned());
        expect(cm.issuerName).toBe("platform-ca");

        const bootstrap = crOf(session.get(T.clusterIssuer, "cm-selfsigned"));
        expect(bootstrap.spec).toEqual({ selfSigned: {} });

        const ca = crOf(session.get(T.certificate, "cm-root-ca"));
        expect(ca.metadata.namespace).toBe("cert-manager");
        expect(ca.spec).toMatchObject({
            isCA: true,
            issuerRef: { name: bootstrap.metadata.name, kind: "ClusterIssuer", group: "cert-manager.io" },
        });

        const issuer = crOf(session.get(T.clusterIssuer, "cm-issuer"));
        expect(issuer.metadata.name).toBe("platform-ca");
        expect(issuer.spec).toEqual({ ca: { secretName: ca.spec.secretName } });
        expect(session.ofType(T.clusterIssuer)).toHaveLength(2);
    });

    it("acme: platform-acme with the email and Let's Encrypt production by default", async () => {
        const cm = await build("cm", acme());
        expect(cm.issuerName).toBe("platform-acme");
        const issuer = crOf(session.get(T.clusterIssuer, "cm-issuer"));
        expect(issuer.metadata.name).toBe("platform-acme");
        expect(issuer.spec).toMatchObject({
            acme: {
                email: "ops@example.com",
                server: "https://acme-v02.api.letsencrypt.org/directory",
                solvers: [{ http01: { ingress: { ingressClassName: "istio" } } }],
            },
        });
        expect(mod.LETS_ENCRYPT_PRODUCTION).toBe("https://acme-v02.api.letsencrypt.org/directory");
        expect(session.ofType(T.clusterIssuer)).toHaveLength(1);
        expect(session.ofType(T.certificate)).toHaveLength(0);
    });

    it("acme: takes another server and ingress class", async () => {
        await build("cm", acme({ server: "https://acme-staging-v02.api.letsencrypt.org/directory", ingressClass: "nginx" }));
        expect(crOf(session.get(T.clusterIssuer, "cm-issuer")).spec).toMatchObject({
            acme: {
                server: "https://acme-staging-v02.api.letsencrypt.org/directory",
                solvers: [{ http01: { ingress: { ingressClassName: "nginx" } } }],
            },
        });
    });

    it("labels the issuers with the standard labels", async () => {
        await build("cm", selfSigned());
        for (const r of session.ofType(T.clusterIssuer)) {
            expect(crOf(r).metadata.labels, r.name).toMatchObject({
                "app.kubernetes.io/managed-by": "pulumi",
                "platform.example.com/environment": "dev",
                "app.kubernetes.io/instance": "cm",
            });
        }
    });
});

describe("CertManager namespace and records", () => {
    it("creates its namespace with default-deny", async () => {
        await build("cm", selfSigned({ namespace: "certs" }));
        expect(session.get(T.namespace, "cm-ns-namespace").inputs).toMatchObject({ metadata: { name: "certs" } });
        expect(session.get(T.networkPolicy, "cm-ns-default-deny").inputs).toMatchObject({
            metadata: { name: "default-deny", namespace: "certs" },
        });
        expect(chartOf("cm-chart").namespace).toBe("certs");
    });

    it("reports itself and its namespace", async () => {
        const cm = await build("cm", selfSigned({ replicas: 2 }));
        expect(cm.records.map((r) => r.id)).toEqual(["cert-manager", "namespace/cert-manager"]);
        expect(cm.records[0]).toMatchObject({ count: 2, status: "rendered", dependsOn: ["cluster", "namespace/cert-manager"] });
    });

    it("names children after the instance, so two instances do not collide", async () => {
        await build("one", selfSigned());
        await build("two", acme());
        expectDistinctInstances(session, ["one", "two"]);
        expect(session.ofType(T.chart).map((r) => r.name).sort()).toEqual(["one-chart", "two-chart"]);
    });
});
