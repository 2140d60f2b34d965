import { beforeAll, beforeEach, describe, expect, it } from "vitest";

import { K8S, setupComponent, TEST_TAGS } from "../../test/helpers/component";
import { isSecret, MockSession, settle, valueOf } from "../../test/helpers/mocks";

const tags = { ...TEST_TAGS, environment: "local" };

let session: MockSession;
let cluster: typeof import("./index");

beforeAll(async () => {
    ({ session, mod: cluster } = await setupComponent(() => import("./index")));
});
beforeEach(() => session.reset());

describe("validateExistingClusterArgs", () => {
    it("rejects an unknown delivery mode, naming the allowed ones", () => {
        expect(() =>
            cluster.validateExistingClusterArgs("c", { deliveryMode: "ship" as "apply", tags }),
        ).toThrow(/deliveryMode is "ship"; allowed: apply, render/);
    });

    it("requires a render directory in render mode", () => {
        expect(() => cluster.validateExistingClusterArgs("c", { deliveryMode: "render", tags })).toThrow(
            /renderDirectory is required/,
        );
    });

    it("refuses a kubeconfig in render mode", () => {
        expect(() =>
            cluster.validateExistingClusterArgs("c", { deliveryMode: "render", renderDirectory: "/tmp/x", kubeconfig: "k", tags }),
        ).toThrow(/kubeconfig and context cannot be set/);
    });

    it("requires a kubeconfig in apply mode", () => {
        expect(() => cluster.validateExistingClusterArgs("c", { deliveryMode: "apply", tags })).toThrow(
            /kubeconfig is required/,
        );
    });
});

describe("ExistingCluster", () => {
    it("renders to a directory without any cluster credentials, even with $KUBECONFIG set", async () => {
        const saved = process.env.KUBECONFIG;
        process.env.KUBECONFIG = "/home/dev/.kube/config";
        let c: InstanceType<typeof cluster.ExistingCluster>;
        try {
            c = new cluster.ExistingCluster("render", { deliveryMode: "render", renderDirectory: "/tmp/out", tags });
        } finally {
            process.env.KUBECONFIG = saved;
        }
        await settle(session);
        const provider = session.get(K8S.provider, "render-provider");
        expect(provider.inputs.renderYamlToDirectory).toBe("/tmp/out");
        expect(provider.inputs.kubeconfig).toBe("");
        expect(c.deliveryMode).toBe("render");
        expect(c.records[0]).toMatchObject({ id: "cluster", status: "rendered" });
    });

    it("applies with the kubeconfig as a secret and server-side apply", async () => {
        const c = new cluster.ExistingCluster("live", {
            deliveryMode: "apply",
            kubeconfig: "apiVersion: v1\nkind: Config\n",
            context: "kind-dev",
            tags,
        });
        await settle(session);
        const provider = session.get(K8S.provider, "live-provider");
        expect(provider.inputs.context).toBe("kind-dev");
        expect(provider.inputs.enableServerSideApply).toBe("true");
        expect(await isSecret(c.kubeconfig)).toBe(true);
        expect(await valueOf(c.clusterName)).toBe("kind-dev");
    });

    it("names children after the instance, so two instances do not collide", async () => {
        new cluster.ExistingCluster("a", { deliveryMode: "render", renderDirectory: "/tmp/a", tags });
        new cluster.ExistingCluster("b", { deliveryMode: "render", renderDirectory: "/tmp/b", tags });
        await settle(session);
        const names = session.ofType(K8S.provider).map((r) => r.name);
        expect(names).toEqual(expect.arrayContaining(["a-provider", "b-provider"]));
        expect(new Set(names).size).toBe(names.length);
    });
});
