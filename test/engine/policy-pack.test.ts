import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createEngineProject, EngineProject } from "../helpers/engine";

let project: EngineProject;

beforeAll(() => {
    project = createEngineProject({ withPolicies: true, programDir: "test/fixtures/programs/policy-violations" });
    expect(project.pulumi(["stack", "init", "dev"]).status).toBe(0);
    project.setConfig("dev", "policy-violations:renderDirectory", project.renderDir);
});
afterAll(() => project?.cleanup());

const preview = () => project.pulumiAsync(["preview", "--stack", "dev", "--policy-pack", `${project.dir}/policies`]);

describe("the policy pack through the real engine", () => {
    it("fails a preview with violations, naming each policy and resource", async () => {
        const result = await preview();
        const text = result.stdout + result.stderr;
        expect(result.status, text).not.toBe(0);
        expect(text).toMatch(/\[mandatory\]\s+container-image-pinned\s+\(kubernetes:apps\/v1:Deployment: api\)/);
        expect(text).toContain('container "api" image "registry.example.com/api:latest" is not pinned');
        expect(text).toMatch(/\[mandatory\]\s+mesh-mtls-strict\s+\(kubernetes:security\.istio\.io\/v1:PeerAuthentication: mesh-mtls\)/);
        expect(text).toContain("mtls.mode is PERMISSIVE; the platform requires STRICT");
    });

    it("passes once the program is fixed", async () => {
        project.setConfig("dev", "policy-violations:fixed", "true");
        const result = await preview();
        const text = result.stdout + result.stderr;
        expect(result.status, text).toBe(0);
        expect(text).not.toContain("[mandatory]");
        expect(text).toMatch(/Policies:\s+✅ platform@v/);
    });
});
