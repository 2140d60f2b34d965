import * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";

import { K8S, setupRenderedComponent } from "../../test/helpers/component";
import { isSecret, isSecretInput, MockSession, settle, unwrapSecret, valueOf } from "../../test/helpers/mocks";

const SECRET = K8S.secret;
const labels = { "app.kubernetes.io/name": "test" };

let session: MockSession;
let mod: typeof import("./generated-secret");
let provider: import("@pulumi/kubernetes").Provider;

beforeAll(async () => {
    const setup = await setupRenderedComponent(() => import("./generated-secret"));
    ({ session, mod } = setup);
    provider = setup.cluster.provider;
});
beforeEach(() => session.reset());

type Args = import("./generated-secret").GeneratedSecretArgs;
const args = (extra: Partial<Args> = {}): Args => ({ namespace: "apps", secretName: "app-credentials", generatedKeys: ["password"], labels, provider, ...extra });
const stringDataOf = (name: string) => unwrapSecret<Record<string, string>>(session.get(SECRET, `${name}-secret`).inputs.stringData);

/**
 * Runs `body` and collects the unhandled rejections it causes. An error thrown
 * in an `apply` rejects promises inside the Output that no public API lets a
 * test observe, so Node reports them as unhandled; vitest's listeners are set
 * aside meanwhile and get every rejection that is not collected.
 */
async function unhandledRejections(body: () => void): Promise<unknown[]> {
    const saved = process.listeners("unhandledRejection");
    const caught: unknown[] = [];
    process.removeAllListeners("unhandledRejection");
    process.on("unhandledRejection", (reason) => caught.push(reason));
    try {
        body();
        await new Promise((r) => setTimeout(r, 100));
    } finally {
        process.removeAllListeners("unhandledRejection");
        for (const listener of saved) {
            process.on("unhandledRejection", listener);
        }
    }
    return caught;
}

describe("randomCredential", () => {
    const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    it("has the requested length, from the URL-safe alphabet only", () => {
        for (const length of [1, 16, 32, 128, 500]) {
            const value = mod.randomCredential(length);
            expect(value).toHaveLength(length);
            expect(value).toMatch(/^[A-Za-z0-9]+$/);
        }
    });

    it("never repeats across calls", () => {
        const values = Array.from({ length: 500 }, () => mod.randomCredential(16));
        expect(new Set(values).size).toBe(values.length);
    });

    it("uses every character of the alphabet without modulo bias", () => {
        const counts = new Map<string, number>();
        for (const ch of mod.randomCredential(62_000)) {
            counts.set(ch, (counts.get(ch) ?? 0) + 1);
        }
        expect([...counts.keys()].sort().join("")).toBe([...ALPHABET].sort().join(""));
        // 1000 expected per character (σ ≈ 31); a biased generator gives the first 8 characters ≈ 1210.
        for (const count of counts.values()) {
            expect(count).toBeGreaterThan(840);
            expect(count).toBeLessThan(1160);
        }
    });
});

describe("GeneratedSecret", () => {
    it("rejects a length outside 16..128 or no generated key, naming the setting", async () => {
        for (const length of [15, 129, 20.5]) {
            expect(() => new mod.GeneratedSecret("g", args({ length }))).toThrow(
                new RegExp(`generated secret "g": length is ${length}; allowed: an integer from 16 to 128`),
            );
        }
        expect(() => new mod.GeneratedSecret("g", args({ generatedKeys: [] }))).toThrow(/generatedKeys must name at least one key/);
        expect(() => new mod.GeneratedSecret("min", args({ length: 16 }))).not.toThrow();
        expect(() => new mod.GeneratedSecret("max", args({ length: 128 }))).not.toThrow();
        await settle(session);
        expect(stringDataOf("min").password).toHaveLength(16);
        expect(stringDataOf("max").password).toHaveLength(128);
    });

    it("stores fixed, generated and derived keys as secret stringData", async () => {
        new mod.GeneratedSecret("g", args({
            generatedKeys: ["password", "token"],
            fixed: { username: "app", host: pulumi.output("db.internal") },
            derived: { "config.ini": { template: "user={{username}}\npassword={{password}}\nhost={{host}}" }, "token.b64": { template: "{{token}}", encoding: "base64" } },
            length: 24,
            type: "kubernetes.io/basic-auth",
        }));
        await settle(session);
        const secret = session.get(SECRET, "g-secret").inputs as { metadata: object; type: string; stringData: unknown };
        // The annotation names every key holding a generated or derived value: what a secrets scan reads.
        expect(secret.metadata).toEqual({ name: "app-credentials", namespace: "apps", labels, annotations: { "platform.example.com/generated-keys": "password,token,config.ini,token.b64" } });
        expect(secret.type).toBe("kubernetes.io/basic-auth");
        expect(isSecretInput(secret.stringData)).toBe(true);
        const data = stringDataOf("g");
        expect(Object.keys(data).sort()).toEqual(["config.ini", "host", "password", "token", "token.b64", "username"]);
        expect(data.username).toBe("app");
        expect(data.host).toBe("db.internal");
        expect(data.password).toMatch(/^[A-Za-z0-9]{24}$/);
        expect(data.token).toMatch(/^[A-Za-z0-9]{24}$/);
        expect(data.token).not.toBe(data.password);
        expect(data["config.ini"]).toBe(`user=app\npassword=${data.password}\nhost=db.internal`);
        expect(Buffer.from(data["token.b64"], "base64").toString("utf8")).toBe(data.token);
    });

    it("refuses a derived template that reads a key it does not have, before any resource", () => {
        expect(() => new mod.GeneratedSecret("g", args({ derived: { conf: { template: "pass={{pasword}}" } } }))).toThrow(
            'generated secret "g": derived key "conf" reads pasword; allowed: the fixed and generated keys (password)',
        );
        expect(session.resources).toHaveLength(0);
    });

    it("rendered: the Secret holds only its fixed keys, and a Job allowed to patch only that Secret fills the rest in the cluster", async () => {
        new mod.GeneratedSecret("g", args({ rendered: true, fixed: { username: "app" }, derived: { conf: { template: "{{username}}:{{password}}" } } }));
        await settle(session);
        const secret = session.get(SECRET, "g-secret").inputs as { stringData: Record<string, string>; metadata: { annotations: Record<string, string> } };
        expect(unwrapSecret(secret.stringData)).toEqual({ username: "app" });
        expect(secret.metadata.annotations["platform.example.com/values"]).toContain("generated in the cluster by the Job app-credentials-generator");
        const role = session.get("kubernetes:rbac.authorization.k8s.io/v1:Role", "g-generator").inputs as { rules: unknown[] };
        expect(role.rules).toEqual([{ apiGroups: [""], resources: ["secrets"], resourceNames: ["app-credentials"], verbs: ["get", "patch"] }]);
        const job = session.get("kubernetes:batch/v1:Job", "g-generator").inputs as {
            spec: { template: { metadata: { annotations: Record<string, string> }; spec: { serviceAccountName: string; containers: { image: string; env: { name: string; value: string }[]; securityContext: object }[] } } };
        };
        const pod = job.spec.template.spec;
        expect(pod.serviceAccountName).toBe("app-credentials-generator");
        expect(job.spec.template.metadata.annotations["sidecar.istio.io/inject"]).toBe("false");
        expect(pod.containers[0].image).toMatch(/^registry\.k8s\.io\/kubectl:v\d+\.\d+\.\d+$/);
        expect(pod.containers[0].securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
        const env = Object.fromEntries(pod.containers[0].env.map((e) => [e.name, e.value]));
        expect(env).toMatchObject({ NAMESPACE: "apps", SECRET_NAME: "app-credentials", GENERATED_KEYS: "password", LENGTH: "32" });
        expect(JSON.parse(env.DERIVED)).toEqual({ conf: { template: "{{username}}:{{password}}" } });
        // No value of any kind in the Job: it generates them itself.
        expect(JSON.stringify(job)).not.toMatch(/[A-Za-z0-9]{32}/);
    });

    it("defaults to an Opaque secret with 32-character values, different per instance", async () => {
        new mod.GeneratedSecret("a", args());
        new mod.GeneratedSecret("b", args());
        await settle(session);
        expect(session.get(SECRET, "a-secret").inputs.type).toBe("Opaque");
        expect(stringDataOf("a").password).toHaveLength(32);
        expect(stringDataOf("a").password).not.toBe(stringDataOf("b").password);
    });

    it("ignores later changes to stringData and data, so the credential is generated once", async () => {
        const seen = new Map<string, pulumi.CustomResourceOptions>();
        const transformations: pulumi.ResourceTransformation[] = [
            ({ type, name, opts }) => {
                seen.set(`${type} ${name}`, opts);
                return undefined;
            },
        ];
        new mod.GeneratedSecret("g", args(), { transformations });
        await settle(session);
        const opts = seen.get(`${SECRET} g-secret`);
        expect(opts?.ignoreChanges).toEqual(expect.arrayContaining(["stringData", "data"]));
        expect(opts?.additionalSecretOutputs).toEqual(expect.arrayContaining(["stringData", "data"]));
        expect(opts?.provider).toBe(provider);
    });

    it("exposes each value as a secret output", async () => {
        const g = new mod.GeneratedSecret("g", args({ fixed: { username: "app" } }));
        await settle(session);
        expect(g.secretName).toBe("app-credentials");
        const password = g.value("password");
        expect(await isSecret(password)).toBe(true);
        expect(await valueOf(password)).toBe(stringDataOf("g").password);
        expect(await isSecret(g.value("username"))).toBe(true);
        expect(await valueOf(g.value("username"))).toBe("app");
    });

    it("fails clearly when asked for a key it does not hold", async () => {
        const g = new mod.GeneratedSecret("g", args({ fixed: { username: "app" } }));
        await settle(session);
        const errors = await unhandledRejections(() => g.value("pasword"));
        expect(errors.length).toBeGreaterThan(0);
        for (const e of errors) {
            expect(String(e)).toContain('generated secret app-credentials has no key "pasword"');
        }
    });
});
