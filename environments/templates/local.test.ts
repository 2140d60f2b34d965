import { beforeAll, describe, expect, it } from "vitest";

import { MockSession, setupMocks, settle, valueOf } from "../../test/helpers/mocks";

const config = {
    "platform:template": "local",
    "platform:description": "unit test",
    "platform:owner": "team@example.com",
    "platform:costCenter": "PLT-0001",
    "platform:repository": "platform-gitops",
    "platform:kubernetesTarget": "render",
};

let session: MockSession;
let outputs: Awaited<ReturnType<typeof import("../index").runEnvironment>>;

beforeAll(async () => {
    session = await setupMocks({ config, stack: "local" });
    const { runEnvironment } = await import("../index");
    outputs = await runEnvironment();
    await settle(session);
});

interface Meta {
    metadata?: { labels?: Record<string, string> };
}

describe("the local environment under mocks", () => {
    it("renders through one kubernetes provider", () => {
        const providers = session.ofType("pulumi:providers:kubernetes");
        expect(providers).toHaveLength(1);
        expect(String(providers[0].inputs.renderYamlToDirectory)).toMatch(/rendered\/local$/);
    });

    it("labels every Kubernetes object with the standard labels", () => {
        const objects = session.resources.filter((r) => r.type.startsWith("kubernetes:"));
        expect(objects.length).toBeGreaterThanOrEqual(5);
        for (const o of objects) {
            const labels = (o.inputs as Meta).metadata?.labels ?? {};
            expect(labels["app.kubernetes.io/managed-by"], o.name).toBe("pulumi");
            expect(labels["platform.example.com/environment"], o.name).toBe("local");
            expect(labels["platform.example.com/cost-center"], o.name).toBe("PLT-0001");
        }
    });

    it("outputs the environment record", async () => {
        const record = (await valueOf(outputs!.environment)) as Record<string, unknown>;
        expect(record).toMatchObject({
            schemaVersion: "1.0.0",
            id: "platform/local",
            name: "local",
            description: "unit test",
            status: "deployed-ok",
            plannedDestructionAt: null,
            tags: { owner: "team@example.com", "cost-center": "PLT-0001", "managed-by": "pulumi" },
        });
        expect(record.templates).toEqual([expect.objectContaining({ name: "local", version: "0.1.0" })]);
        expect(record.resources).toEqual([
            expect.objectContaining({ id: "cluster", status: "rendered", dependsOn: [] }),
            expect.objectContaining({ id: "namespace/platform-system", status: "rendered", dependsOn: ["cluster"] }),
        ]);
    });
});
