import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";

import { createEngineProject, EngineProject, readTree } from "../helpers/engine";

interface Deployment {
    kind: string;
    metadata: { name: string; namespace?: string; labels?: Record<string, string> };
    spec: { replicas: number };
}

let project: EngineProject;

beforeAll(() => {
    project = createEngineProject({ withPolicies: true, programDir: "test/fixtures/programs/helm-render" });
    expect(project.pulumi(["stack", "init", "test"]).status).toBe(0);
    project.setConfig("test", "helm-render:renderDirectory", project.renderDir);
    project.setConfig("test", "helm-render:chartMirror", `${project.dir}/test/fixtures/charts`);
});
afterAll(() => project?.cleanup());

describe("helm.v4.Chart through the real engine, chart from a mirror directory", () => {
    it("renders the chart's objects with the given values", () => {
        const result = project.pulumi(["up", "--yes", "--stack", "test"]);
        expect(result.status, result.stdout + result.stderr).toBe(0);
        const objects = [...readTree(project.renderDir).values()]
            .flatMap((text) => parseAllDocuments(text).map((d) => d.toJSON() as Deployment | null))
            .filter((o): o is Deployment => o !== null);
        const deployment = objects.find((o) => o.kind === "Deployment");
        expect(deployment?.metadata).toMatchObject({ name: "echo", namespace: "apps", labels: { team: "platform" } });
        expect(deployment?.spec.replicas).toBe(2);
    });

    it("is stopped by the policy pack: the chart's objects lack the platform's labels", () => {
        const result = project.pulumi(["preview", "--stack", "test", "--policy-pack", `${project.dir}/policies`]);
        const text = result.stdout + result.stderr;
        expect(result.status, text).not.toBe(0);
        expect(text).toContain("kubernetes-standard-labels");
        expect(text).toMatch(/kubernetes:apps\/v1:Deployment\) is missing the labels: app\.kubernetes\.io\/managed-by/);
    });

    it("stops before touching anything when the mirror lacks the chart, naming the chart and the setting", () => {
        project.setConfig("test", "helm-render:chartName", "cert-manager");
        const result = project.pulumi(["preview", "--stack", "test"]);
        const text = result.stdout + result.stderr;
        expect(result.status).not.toBe(0);
        expect(text).toContain("chart cert-manager 1.2.3 is not in the mirror");
        expect(text).toContain("platform:chartMirror (or PLATFORM_CHART_MIRROR)");
        expect(text).not.toContain("kubernetes:helm.sh/v4:Chart");
    });
});
