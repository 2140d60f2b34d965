/**
 * The in-cluster services of dev, staging and prod, sized by their profiles and
 * rendered from the real charts on an existing-cluster stand-in
 * (test/fixtures/programs/profile-services: the cloud providers cannot run
 * here), previewed with the policy pack and each environment's pack config.
 * The pack must pass with no mandatory finding: the components' values are
 * fixed, the policies are not weakened.
 */
import { afterAll, describe, expect, it } from "vitest";

import { createEngineProject, EngineProject } from "../helpers/engine";
import { defaultTestChartMirror } from "../helpers/real-charts";

const projects: EngineProject[] = [];
afterAll(() => projects.forEach((p) => p.cleanup()));

describe.each(["dev", "staging", "prod"])("the %s profile's services on the real charts", (template) => {
    it("pass the policy pack with the environment's config", async () => {
        const project = createEngineProject({ programDir: "test/fixtures/programs/profile-services" });
        projects.push(project);
        expect(project.pulumi(["stack", "init", template]).status).toBe(0);
        project.setConfig(template, "profile-services:template", template);
        project.setConfig(template, "profile-services:renderDirectory", project.renderDir);
        project.setConfig(template, "profile-services:chartMirror", defaultTestChartMirror());
        const started = Date.now();
        const result = await project.pulumiAsync([
            "preview",
            "--stack",
            template,
            "--policy-pack",
            `${project.dir}/policies`,
            "--policy-pack-config",
            `${project.dir}/policies/config/${template}.json`,
        ]);
        const text = result.stdout + result.stderr;
        const mandatory = text.split("\n").filter((l) => l.includes("[mandatory]"));
        expect(mandatory, text.slice(-4000)).toEqual([]);
        expect(result.status, text.slice(-4000)).toBe(0);
        const creates = /\+ (\d+) to create/.exec(text)?.[1];
        console.log(`[figure] ${template} services: preview with the pack in ${((Date.now() - started) / 1000).toFixed(0)} s, ${creates ?? "?"} resources, 0 mandatory findings`);
        expect(Number(creates)).toBeGreaterThan(300);
    });
});
