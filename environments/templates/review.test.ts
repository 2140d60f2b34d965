import { beforeAll, describe, expect, it } from "vitest";

import { defaultTestChartMirror } from "../../test/helpers/real-charts";
import { MockSession, setupMocks, settle, valueOf } from "../../test/helpers/mocks";
import { policyReport } from "../../test/helpers/policy-report";
import { recordProblems } from "../record-schema";

const plannedDestruction = new Date(Date.now() + 5 * 86_400_000).toISOString().slice(0, 10);
let session: MockSession;
let outputs: Awaited<ReturnType<typeof import("../index").runEnvironment>>;

beforeAll(async () => {
    session = await setupMocks({
        stack: "review-42",
        config: {
            "platform:template": "review",
            "platform:description": "Merge request 42",
            "platform:owner": "dev@example.com",
            "platform:costCenter": "PLT-0001",
            "platform:repository": "gitlab.example.com/platform/platform-gitops",
            "platform:kubernetesTarget": "render",
            "platform:plannedDestruction": plannedDestruction,
            "platform:chartMirror": defaultTestChartMirror(),
        },
    });
    const { runEnvironment } = await import("../index");
    outputs = await runEnvironment();
    await settle(session);
});

describe("the review template under mocks", () => {
    it("records its planned destruction date and its template", async () => {
        const record = (await valueOf(outputs!.environment)) as { name: string; plannedDestructionAt: string; templates: { name: string }[] };
        expect(record).toMatchObject({ name: "review-42", plannedDestructionAt: plannedDestruction });
        expect(record.templates[0].name).toBe("review");
        expect(recordProblems(record)).toEqual([]);
    });

    it("serves its own host names and protects nothing", () => {
        const gateway = session.get("kubernetes:networking.istio.io/v1:Gateway", "mesh-gateway");
        expect(JSON.stringify(gateway.inputs)).toContain("review-42.platform.localtest.me");
        expect(session.resources.filter((r) => r.protect)).toEqual([]);
    });

    it("passes the policy pack with review's config (Vault dev mode allowed, backups advisory)", async () => {
        const findings = await policyReport(session, "review-42");
        expect(findings.filter((f) => f.level === "mandatory")).toEqual([]);
    });
});
