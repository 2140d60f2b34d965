import { beforeAll, beforeEach, describe, expect, it } from "vitest";

import { appliedCluster, chartInputs, expectRefusedBeforeRegistering, expectUniqueKeys, K8S as T, settled, setupRenderedComponent, TEST_TAGS } from "../../test/helpers/component";
import { isSecret, isSecretInput, MockSession, settle, unwrapSecret, valueOf } from "../../test/helpers/mocks";

const localTags = { ...TEST_TAGS, environment: "local" };
const prodTags = { ...TEST_TAGS, environment: "prod" };
const awsSeal = { type: "awskms", region: "eu-central-1", kmsKeyId: "arn:aws:kms:eu-central-1:111122223333:key/vault" } as const;
const azureSeal = { type: "azurekeyvault", tenantId: "tenant-1", vaultName: "platform-kv", keyName: "vault-unseal" } as const;

interface ServerValues {
    dev?: { enabled: boolean; devRootToken?: string };
    extraSecretEnvironmentVars?: { envName: string; secretName: string; secretKey: string }[];
    extraArgs?: string;
    ha?: { enabled: boolean; replicas: number; raft: { enabled: boolean; config: string } };
    dataStorage: { enabled: boolean; size?: string; storageClass?: string };
    serviceAccount?: { annotations: Record<string, string> };
}
interface VaultValues {
    injector: { enabled: boolean };
    server: ServerValues;
}

let session: MockSession;
let mod: typeof import("./server");
let charts: typeof import("./charts");
let cluster: import("../cluster").ExistingCluster;

beforeAll(async () => {
    ({ session, mod, cluster } = await setupRenderedComponent(() => import("./server"), localTags));
    charts = await import("./charts");
});
beforeEach(() => session.reset());

type Mode = import("./server").VaultMode;
const ha = (extra: Partial<Extract<Mode, { kind: "ha" }>> = {}): Mode => ({ kind: "ha", seal: awsSeal, ...extra });
const chartOf = (name: string) => chartInputs<VaultValues>(session, `${name}-chart`);
/** Dev mode is allowed for the test tags' environment: the local template's localTags, not prodTags. */
const devModeAllowedFor = (tags: typeof localTags): boolean => tags.environment === "local";
/** The platform's namespace, `vault`, whatever the test instance's name (the default is the instance's name). */
const build = (name: string, tags: typeof localTags, mode: Mode, on = cluster) =>
    settled(session, () => new mod.VaultServer(name, { cluster: on, tags, devModeAllowed: devModeAllowedFor(tags), mode, namespace: "vault" }));

describe("validateVaultServerArgs", () => {
    const check = (mode: Mode, tags = prodTags, devModeAllowed?: boolean) => () =>
        mod.validateVaultServerArgs("v", { cluster, tags, devModeAllowed, mode });

    it("refuses dev mode unless the environment's data is disposable, naming mode.kind", () => {
        const refused = /vault "v": mode\.kind "dev" is only allowed where data is disposable \(devModeAllowed: the local and review templates\), and "prod" is not such an environment/;
        expect(check({ kind: "dev" })).toThrow(refused);
        expect(check({ kind: "dev" }, prodTags, false)).toThrow(refused);
        expect(check({ kind: "dev" }, localTags, true)).not.toThrow();
    });

    it("follows devModeAllowed (the template's), not the environment's name", () => {
        // A prod-template environment whose name looks disposable, and a local one whose name does not.
        expect(check({ kind: "dev" }, { ...localTags, environment: "local-eu" }, false)).toThrow(/"local-eu" is not such an environment/);
        expect(check({ kind: "dev" }, { ...localTags, environment: "sandbox" }, true)).not.toThrow();
    });

    it("refuses an unknown mode and seal type, naming the allowed ones", () => {
        expect(check({ kind: "single" } as unknown as Mode)).toThrow(/mode\.kind is "single"; allowed: dev, ha/);
        expect(check(ha({ seal: { type: "shamir" } as unknown as typeof awsSeal }))).toThrow(/mode\.seal\.type is "shamir"; allowed: awskms, azurekeyvault/);
    });

    it("refuses even and out-of-range replica counts and malformed storage sizes", () => {
        expect(check(ha({ replicas: 4 }))).toThrow(/mode\.replicas is 4; allowed: an odd number/);
        expect(check(ha({ replicas: 1 }))).toThrow(/mode\.replicas is 1; allowed: an integer from 3 to 7/);
        expect(check(ha({ replicas: 9 }))).toThrow(/mode\.replicas is 9/);
        expect(check(ha({ storageSize: "10GB" }))).toThrow(/mode\.storageSize is "10GB"/);
        expect(check(ha({ replicas: 5, storageSize: "20Gi" }))).not.toThrow();
    });

    it("runs in the constructor before anything is registered", async () => {
        await expectRefusedBeforeRegistering(session, () => new mod.VaultServer("bad", { cluster, tags: prodTags, mode: { kind: "dev" } }), /mode\.kind "dev"/);
    });
});

describe("VaultServer in dev mode", () => {
    it("installs the pinned vault chart with dev mode on and the injector off", async () => {
        expect(charts.VAULT_CHART).toEqual({ name: "vault", version: "0.34.1", repository: "https://helm.releases.hashicorp.com" });
        await build("dev", localTags, { kind: "dev" });
        const chart = session.get(T.chart, "dev-chart").inputs;
        expect(chart).toMatchObject({
            chart: "vault",
            version: "0.34.1",
            repositoryOpts: { repo: "https://helm.releases.hashicorp.com" },
            namespace: "vault",
        });
        const values = chartOf("dev").values;
        expect(values.server.dev?.enabled).toBe(true);
        expect(values.server.ha).toBeUndefined();
        expect(values.injector.enabled).toBe(false);
    });

    it("generates the root token into a Secret and passes it by reference, never in the chart values", async () => {
        const server = await build("dev", localTags, { kind: "dev" }, await appliedCluster());
        const secret = session.get(T.secret, "dev-dev-root-token-secret").inputs;
        expect(secret.metadata).toMatchObject({ name: "vault-dev-root-token", namespace: "vault" });
        expect(isSecretInput(secret.stringData)).toBe(true);
        const token = unwrapSecret<{ token: string }>(secret.stringData).token;
        expect(token).toMatch(/^[A-Za-z0-9]{32}$/);

        const values = chartOf("dev").values;
        expect(values.server.extraSecretEnvironmentVars).toEqual([
            { envName: "PLATFORM_DEV_ROOT_TOKEN", secretName: "vault-dev-root-token", secretKey: "token" },
        ]);
        expect(values.server.extraArgs).toBe("-dev-root-token-id=$PLATFORM_DEV_ROOT_TOKEN");
        expect(JSON.stringify(session.get(T.chart, "dev-chart").inputs)).not.toContain(token);

        expect(server.devRootToken).toBeDefined();
        expect(await isSecret(server.devRootToken!)).toBe(true);
        expect(await valueOf(server.devRootToken!)).toBe(token);
    });
});

describe("VaultServer in HA mode", () => {
    it("runs a Raft cluster with the replicas, storage and AWS KMS seal given", async () => {
        const server = await build(
            "ha",
            prodTags,
            ha({ replicas: 5, storageSize: "20Gi", storageClass: "gp3", serviceAccountAnnotations: { "eks.amazonaws.com/role-arn": "arn:role" } }),
        );
        const { server: values, injector } = chartOf("ha").values;
        expect(values.ha).toMatchObject({ enabled: true, replicas: 5, raft: { enabled: true } });
        expect(values.dev).toBeUndefined();
        expect(values.dataStorage).toEqual({ enabled: true, size: "20Gi", storageClass: "gp3" });
        expect(values.serviceAccount?.annotations).toEqual({ "eks.amazonaws.com/role-arn": "arn:role" });
        expect(injector.enabled).toBe(false);
        const hcl = values.ha!.raft.config;
        expect(hcl).toMatch(/seal "awskms" \{\s*region\s*= "eu-central-1"\s*kms_key_id = "arn:aws:kms:eu-central-1:111122223333:key\/vault"\s*\}/);
        expect(hcl).toMatch(/storage "raft" \{[\s\S]*retry_join \{[\s\S]*leader_api_addr = "http:\/\/ha-0\.ha-internal:8200"/);
        // The chart's objects are named after the release, the instance's name.
        expect(chartOf("ha").name).toBe("ha");
        expect((chartOf("ha").values as unknown as { fullnameOverride: string }).fullnameOverride).toBe("ha");
        expect(hcl).not.toContain("azurekeyvault");
        expect(server.devRootToken).toBeUndefined();
        expect(session.ofType(T.secret)).toEqual([]);
    });

    it("defaults to 3 replicas and 10Gi, and writes an Azure Key Vault seal", async () => {
        await build("az", prodTags, ha({ seal: azureSeal }));
        const values = chartOf("az").values.server;
        expect(values.ha?.replicas).toBe(3);
        expect(values.dataStorage).toMatchObject({ enabled: true, size: "10Gi" });
        expect(values.ha!.raft.config).toMatch(
            /seal "azurekeyvault" \{\s*tenant_id\s*= "tenant-1"\s*vault_name = "platform-kv"\s*key_name\s*= "vault-unseal"\s*\}/,
        );
        expect(values.ha!.raft.config).not.toContain("awskms");
    });

    it("refuses an even number of replicas", () => {
        expect(() => new mod.VaultServer("even", { cluster, tags: prodTags, mode: ha({ replicas: 6 }) })).toThrow(
            /mode\.replicas is 6; allowed: an odd number/,
        );
    });
});

describe("VaultServer namespace", () => {
    it("creates the vault namespace for sidecar injection behind a default-deny policy", async () => {
        await build("v", prodTags, ha());
        const ns = session.get(T.namespace, "v-ns-namespace").inputs.metadata as { name: string; labels: Record<string, string> };
        expect(ns.name).toBe("vault");
        expect(ns.labels["istio-injection"]).toBe("enabled");
        const deny = session.get(T.networkPolicy, "v-ns-default-deny").inputs as { metadata: { namespace: string }; spec: object };
        expect(deny.metadata.namespace).toBe("vault");
        expect(deny.spec).toEqual({ podSelector: {}, policyTypes: ["Ingress", "Egress"] });
        const clients = session.get(T.networkPolicy, "v-ns-allow-clients").inputs.spec as { ingress: { ports: { port: number }[] }[] };
        expect(clients.ingress[0].ports.map((p) => p.port)).toEqual([8200]);
    });

    it("names children after the instance, so two instances do not collide", async () => {
        new mod.VaultServer("a", { cluster, tags: prodTags, mode: ha() });
        new mod.VaultServer("b", { cluster, tags: prodTags, mode: ha() });
        await settle(session);
        expectUniqueKeys(session);
        expect(session.ofType(T.chart).map((r) => r.name).sort()).toEqual(["a-chart", "b-chart"]);
    });
});
