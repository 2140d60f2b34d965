import * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";

import { expectUniqueKeys, settled, setupComponent } from "../../test/helpers/component";
import { isSecretInput, MockSession, settle, unwrapSecret } from "../../test/helpers/mocks";

const T = {
    provider: "pulumi:providers:consul",
    keys: "consul:index/keys:Keys",
    node: "consul:index/node:Node",
    service: "consul:index/service:Service",
};

let session: MockSession;
let mod: typeof import("./catalog");

beforeAll(async () => {
    ({ session, mod } = await setupComponent(() => import("./catalog")));
});
beforeEach(() => session.reset());

type Args = import("./catalog").ConsulCatalogArgs;
const record = { environment: "dev", services: [{ id: "vault", status: "deployed" }] };
const rabbit = { name: "rabbitmq", address: "rabbitmq.messaging.svc.cluster.local", port: 5672, tags: ["amqp"] };
const pg = { name: "postgres", address: "platform-postgres-rw.postgres.svc.cluster.local", port: 5432 };
const args = (extra: Partial<Args> = {}): Args => ({
    address: "consul.example:8501",
    datacenter: "dev",
    environment: "dev",
    record: pulumi.output(record),
    ...extra,
});
const build = (name: string, extra: Partial<Args> = {}) => settled(session, () => new mod.ConsulCatalog(name, args(extra)));

describe("validateConsulCatalogArgs", () => {
    const cases: [string, Partial<Args>, RegExp][] = [
        ["an environment with capitals", { environment: "Dev" }, /consul catalog "cat": environment is "Dev"; allowed: lower-case/],
        ["an environment with a slash", { environment: "dev/x" }, /environment is "dev\/x"/],
        ["an endpoint name with capitals", { endpoints: [{ ...pg, name: "Postgres" }] }, /endpoints\[\]\.name "Postgres"; allowed: unique lower-case names/],
        ["a duplicate endpoint", { endpoints: [pg, { ...pg }] }, /endpoints\[\]\.name "postgres"; allowed: unique/],
        ["port 0", { endpoints: [{ ...pg, port: 0 }] }, /endpoint "postgres" port is 0; allowed: 1 to 65535/],
        ["a port above 65535", { endpoints: [{ ...pg, port: 70_000 }] }, /endpoint "postgres" port is 70000/],
    ];
    it.each(cases)("refuses %s, naming the setting", (_, extra, message) => {
        expect(() => mod.validateConsulCatalogArgs("cat", args(extra))).toThrow(message);
        expect(() => new mod.ConsulCatalog("cat", args(extra))).toThrow(message);
    });
});

describe("ConsulCatalog", () => {
    it("publishes the environment record as JSON under platform/<env>/", async () => {
        const catalog = await build("cat", { environment: "review-12", datacenter: "review-12" });
        expect(catalog.prefix).toBe("platform/review-12/");
        expect(mod.kvPrefix("prod")).toBe("platform/prod/");
        const keys = session.get(T.keys, "cat-record").inputs as { datacenter: string; keys: { path: string; value: string }[] };
        expect(keys.datacenter).toBe("review-12");
        const entry = keys.keys.find((k) => k.path === "platform/review-12/record");
        expect(JSON.parse(entry!.value)).toEqual(record);
        expect(keys.keys.every((k) => k.path.startsWith("platform/review-12/"))).toBe(true);
    });

    it("registers a node for the environment and one service per endpoint with its tags", async () => {
        await build("cat", { endpoints: [rabbit, pg] });
        expect(session.get(T.node, "cat-node").inputs).toMatchObject({ name: "platform-dev", datacenter: "dev" });
        expect(session.ofType(T.service).map((r) => r.name).sort()).toEqual(["cat-service-postgres", "cat-service-rabbitmq"]);
        expect(session.get(T.service, "cat-service-rabbitmq").inputs).toEqual({
            name: "rabbitmq",
            node: "platform-dev",
            address: "rabbitmq.messaging.svc.cluster.local",
            port: 5672,
            tags: ["platform", "dev", "amqp"],
            datacenter: "dev",
        });
        expect(session.get(T.service, "cat-service-postgres").inputs.tags).toEqual(["platform", "dev"]);
    });

    it("registers no service without endpoints", async () => {
        await build("cat");
        expect(session.ofType(T.service)).toEqual([]);
        expect(session.ofType(T.node)).toHaveLength(1);
    });

    it("gives the provider the token as a secret, over HTTPS with the CA", async () => {
        await build("cat", { token: "acl-token", caPem: "-----BEGIN CERTIFICATE-----" });
        const provider = session.get(T.provider, "cat-provider").inputs;
        expect(provider).toMatchObject({ address: "consul.example:8501", datacenter: "dev", scheme: "https", caPem: "-----BEGIN CERTIFICATE-----" });
        expect(isSecretInput(provider.token)).toBe(true);
        expect(unwrapSecret(provider.token)).toBe("acl-token");
        const children = session.resources.filter((r) => r.type.startsWith("consul:"));
        expect(children.every((r) => r.provider?.endsWith("::cat-provider::cat-provider-id"))).toBe(true);
    });

    it("leaves the token to the provider's environment when none is given", async () => {
        await build("cat");
        expect(session.get(T.provider, "cat-provider").inputs).not.toHaveProperty("token");
    });

    it("names children after the instance, so two instances do not collide", async () => {
        new mod.ConsulCatalog("a", args({ endpoints: [pg] }));
        new mod.ConsulCatalog("b", args({ endpoints: [pg] }));
        await settle(session);
        expectUniqueKeys(session);
    });
});
