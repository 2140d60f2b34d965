/**
 * scripts/ci-jobs.ts: the per-stack jobs of .gitlab-ci.yml come from the
 * stack files and the template registry. The committed file must hold what
 * the generator writes; a project with more stacks (copies of stacks/ and
 * .gitlab-ci.yml in a temporary directory) gets their jobs.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";

import { StackTemplateError } from "../../environments/template-registry";
import { ciJobs, main, Output, renderCiJobs, replaceBlock, SCRIPT_WRITE_COMMAND, stackTemplates, WRITE_COMMAND } from "../../scripts/ci-jobs";

const ROOT = path.resolve(__dirname, "..", "..");
const CI_FILE = path.join(ROOT, ".gitlab-ci.yml");

interface Job {
    extends?: string;
    needs?: string[];
    variables?: Record<string, string>;
    resource_group?: string;
    environment?: { name?: string; action?: string; deployment_tier?: string };
    script?: string[];
    parallel?: { matrix: Record<string, string[]>[] };
}

/** main() with its output captured. */
function run(argv: string[]): { code: number; out: string; err: string } {
    let out = "";
    let err = "";
    const io: Output = { out: (t) => (out += t), err: (t) => (err += t) };
    const code = main(argv, io);
    return { code, out, err };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "platform-ci-jobs-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A project of just what the generator reads: stacks/ and .gitlab-ci.yml, plus `extra` stack files (name → template). */
function project(name: string, extra: Record<string, string>): string {
    const dir = path.join(tmp, name);
    fs.cpSync(path.join(ROOT, "stacks"), path.join(dir, "stacks"), { recursive: true });
    fs.copyFileSync(CI_FILE, path.join(dir, ".gitlab-ci.yml"));
    for (const [stack, template] of Object.entries(extra)) {
        fs.writeFileSync(path.join(dir, "stacks", `Pulumi.${stack}.yaml`), `config:\n  platform:template: ${template}\n`);
    }
    return dir;
}

const readJobs = (dir: string) => parse(fs.readFileSync(path.join(dir, ".gitlab-ci.yml"), "utf8")) as Record<string, Job>;

describe("the committed .gitlab-ci.yml", () => {
    it("holds the per-stack jobs the generator writes", () => {
        const committed = fs.readFileSync(CI_FILE, "utf8");
        const generated = replaceBlock(committed, renderCiJobs(ciJobs(stackTemplates(ROOT))));
        expect(committed, `.gitlab-ci.yml is stale: run ${WRITE_COMMAND} (or ${SCRIPT_WRITE_COMMAND})`).toBe(generated);
        expect(run(["--check"]).code).toBe(0);
    });

    it("keeps today's jobs for today's stacks", () => {
        expect([...ciJobs(stackTemplates(ROOT)).keys()]).toEqual(["apply:dev", "apply:staging", "preview:prod", "promote:prod", "drift"]);
    });
});

describe("a new stack file", () => {
    it("of template prod gets its preview, its promotion and a drift report", () => {
        const dir = project("prod-eu", { "prod-eu": "prod" });
        const check = run(["--check", "--project-dir", dir]);
        expect(check.code).toBe(1);
        expect(check.err).toContain("missing preview:prod-eu, promote:prod-eu; changed drift");
        expect(check.err).toContain(SCRIPT_WRITE_COMMAND);

        expect(run(["--write", "--project-dir", dir]).code).toBe(0);
        const jobs = readJobs(dir);
        expect(jobs["preview:prod-eu"]).toEqual({
            extends: ".release-preview",
            resource_group: "stack-prod-eu",
            environment: { name: "prod-eu", action: "prepare" },
            script: ["./platform preview prod-eu --diff"],
        });
        expect(jobs["promote:prod-eu"]).toEqual({
            extends: ".promote",
            needs: ["validate", "test:engine", "release:check", "preview:prod-eu"],
            resource_group: "stack-prod-eu",
            environment: { name: "prod-eu", deployment_tier: "production" },
            script: [".ci/apply.sh prod-eu"],
        });
        expect(jobs.drift.parallel).toEqual({ matrix: [{ PLATFORM_STACK: ["dev", "staging", "prod", "prod-eu"] }] });
        // prod's own jobs are untouched.
        expect(jobs["promote:prod"].needs).toEqual(["validate", "test:engine", "release:check", "preview:prod"]);

        // Stable: a second write changes no byte, and the check passes.
        const written = fs.readFileSync(path.join(dir, ".gitlab-ci.yml"), "utf8");
        expect(run(["--write", "--project-dir", dir]).code).toBe(0);
        expect(fs.readFileSync(path.join(dir, ".gitlab-ci.yml"), "utf8")).toBe(written);
        expect(run(["--check", "--project-dir", dir]).code).toBe(0);
    });

    it("of template staging gets an apply job after every dev-template apply, in promotion order then by name", () => {
        const dir = project("staging-eu", { "staging-eu": "staging", "dev-aws": "dev" });
        expect(run(["--write", "--project-dir", dir]).code).toBe(0);
        const jobs = readJobs(dir);
        expect(jobs["apply:staging-eu"]).toEqual({
            extends: ".apply",
            needs: ["validate", "test:engine", "apply:dev", "apply:dev-aws"],
            variables: { PLATFORM_STACK: "staging-eu" },
            environment: { name: "staging-eu", deployment_tier: "staging" },
        });
        expect(jobs["apply:staging"].needs).toEqual(["validate", "test:engine", "apply:dev", "apply:dev-aws"]);
        // A dev-template stack waits for nothing but the tests (.apply's needs).
        expect(jobs["apply:dev-aws"].needs).toBeUndefined();
        const generated = Object.keys(jobs).filter((j) => /^(apply|preview|promote):|^drift$/.test(j));
        expect(generated).toEqual(["apply:dev", "apply:dev-aws", "apply:staging", "apply:staging-eu", "preview:prod", "promote:prod", "drift"]);
        expect(jobs.drift.parallel?.matrix[0].PLATFORM_STACK).toEqual(["dev", "dev-aws", "staging", "staging-eu", "prod"]);
    });

    it("of an unknown template is refused with the registry's message", () => {
        const dir = project("unknown", { qa: "qa" });
        expect(() => stackTemplates(dir)).toThrow(StackTemplateError);
        expect(() => stackTemplates(dir)).toThrow('stacks/Pulumi.qa.yaml: platform:template: "qa" is not a template; allowed: local, review, dev, staging, prod');
        const before = fs.readFileSync(path.join(dir, ".gitlab-ci.yml"), "utf8");
        const write = run(["--write", "--project-dir", dir]);
        expect(write.code).toBe(2);
        expect(write.err).toContain('stacks/Pulumi.qa.yaml: platform:template: "qa" is not a template');
        expect(fs.readFileSync(path.join(dir, ".gitlab-ci.yml"), "utf8")).toBe(before);
    });
});

describe("ciJobs", () => {
    it("gives local and review stacks no per-stack job", () => {
        const jobs = ciJobs([
            { stack: "local", template: "local" },
            { stack: "review-7", template: "review" },
        ]);
        expect(jobs.size).toBe(0);
        expect(renderCiJobs(jobs).split("\n").filter(Boolean)).toHaveLength(2); // the markers alone
    });

    it("refuses a stack name that cannot go into a job name or a command line as it is", () => {
        expect(() => ciJobs([{ stack: "prod; rm -rf /", template: "prod" }])).toThrow(/a stack name for CI jobs is letters, digits/);
    });

    it("refuses a file without its markers, naming them", () => {
        const dir = project("no-markers", {});
        const file = path.join(dir, ".gitlab-ci.yml");
        fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace(/^# --- end of generated jobs ---\n/m, ""));
        const check = run(["--check", "--project-dir", dir]);
        expect(check.code).toBe(2);
        expect(check.err).toContain("found 1 begin and 0 end markers");
    });
});
