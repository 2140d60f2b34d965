/**
 * The pipeline itself (.gitlab-ci.yml), run with gitlab-ci-local in shell
 * mode: a merge request's `validate` and `preview` jobs in a throwaway git
 * repository made from this checkout, with one change to the local template
 * on top. The preview job must find `local` as the only affected stack,
 * preview it with the policy pack and post its note to a stand-in for
 * GitLab's API (test/helpers/fake-gitlab.ts).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { NOTE_MARKER } from "../../scripts/preview-note";
import { PulumiResult } from "../helpers/engine";
import { FakeGitLab, MR, NOTES_PATH, PROJECT, TOKEN } from "../helpers/fake-gitlab";
import { createPipelineRepo, PipelineRepo } from "../helpers/gitlab-ci-local";

let repo: PipelineRepo;
let baseSha: string;
const gitlab = new FakeGitLab();

/** The merge request's predefined variables, as GitLab would set them. */
function mergeRequestVariables(): Record<string, string> {
    return {
        CI_PIPELINE_SOURCE: "merge_request_event",
        CI_MERGE_REQUEST_IID: MR,
        CI_MERGE_REQUEST_DIFF_BASE_SHA: baseSha,
        CI_PROJECT_ID: PROJECT,
        CI_API_V4_URL: gitlab.apiUrl,
        CI_PIPELINE_URL: "https://gitlab.example.com/platform/platform-gitops/-/pipelines/4711",
        PLATFORM_GITLAB_TOKEN: TOKEN,
        // The toolchain this run already built, instead of the job's project-local cache.
        PLATFORM_CACHE_DIR: process.env.PLATFORM_CACHE_DIR ?? "",
    };
}

function gitlabCiLocal(args: string[], variables: Record<string, string>): Promise<PulumiResult> {
    return repo.run(args, variables);
}

beforeAll(async () => {
    await gitlab.start();
    // The job's unit run: the pipeline's own checks and the policy rules (the outer run has every file).
    repo = createPipelineRepo("platform-pipeline-", { unitTests: (f) => f === "test/unit/gitlab-ci.test.ts" || f.startsWith("policies/") });
    baseSha = repo.baseSha;
    // The merge request: one change to the local template.
    fs.appendFileSync(path.join(repo.dir, "environments", "templates", "local.ts"), "// A merge request's change to the local template.\n");
    repo.git(["commit", "-q", "-am", "change the local template"]);
}, 600_000);

afterAll(async () => {
    await gitlab.stop();
    repo?.remove();
});

describe("the GitLab pipeline under gitlab-ci-local", () => {
    it("plans a merge request pipeline: validate, engine tests, preview, review environment", async () => {
        const listed = await gitlabCiLocal(["--list"], mergeRequestVariables());
        expect(listed.status, listed.stderr).toBe(0);
        const jobs = listed.stdout.split("\n").map((l) => l.split(/\s+/)[0]);
        expect(jobs).toEqual(expect.arrayContaining(["validate", "test:engine", "preview", "review:deploy", "review:stop"]));
        for (const branchOnly of ["apply:dev", "apply:staging", "promote:prod", "drift", "reaper"]) {
            expect(jobs, branchOnly).not.toContain(branchOnly);
        }
    });

    it("plans the other pipelines: default branch applies, a tag promotes, schedules check drift or reap", async () => {
        const plan = async (variables: Record<string, string>) => {
            const listed = await gitlabCiLocal(["--list"], { ...mergeRequestVariables(), ...variables });
            expect(listed.status, listed.stderr).toBe(0);
            const lines = listed.stdout.split("\n");
            return lines
                .slice(lines.findIndex((l) => l.startsWith("name ")) + 1)
                .map((l) => l.split(/\s{2,}/)[0].trim())
                .filter((j) => j !== "")
                .sort();
        };
        const push = { CI_PIPELINE_SOURCE: "push", CI_COMMIT_BRANCH: "main", CI_DEFAULT_BRANCH: "main" };
        expect(await plan(push)).toEqual(["apply:dev", "apply:staging", "test:engine", "validate"]);
        // A release is tested again and checked to be a commit of the default branch before prod.
        expect(await plan({ CI_PIPELINE_SOURCE: "push", CI_COMMIT_TAG: "v1.4.0" })).toEqual(["preview:prod", "promote:prod", "release:check", "test:engine", "validate"]);
        expect(await plan({ CI_PIPELINE_SOURCE: "schedule", CI_COMMIT_BRANCH: "main", CI_DEFAULT_BRANCH: "main", PLATFORM_SCHEDULE: "drift" })).toEqual(["drift: [dev]", "drift: [prod]", "drift: [staging]"]);
        expect(await plan({ CI_PIPELINE_SOURCE: "schedule", CI_COMMIT_BRANCH: "main", CI_DEFAULT_BRANCH: "main", PLATFORM_SCHEDULE: "reaper" })).toEqual(["reaper"]);
        // A schedule without PLATFORM_SCHEDULE, or with a typo, gets a job that fails saying why (not an empty pipeline).
        expect(await plan({ CI_PIPELINE_SOURCE: "schedule", CI_COMMIT_BRANCH: "main", CI_DEFAULT_BRANCH: "main" })).toEqual(["schedule:refused"]);
        expect(await plan({ CI_PIPELINE_SOURCE: "schedule", CI_COMMIT_BRANCH: "main", CI_DEFAULT_BRANCH: "main", PLATFORM_SCHEDULE: "drfit" })).toEqual(["schedule:refused"]);
    });

    it("runs validate and preview: previews the one affected stack with the policy pack and posts the note", async () => {
        const run = await gitlabCiLocal(["validate", "preview"], mergeRequestVariables());
        const output = run.stdout + run.stderr;
        expect(run.status, output.slice(-6000)).toBe(0);
        console.log(output.split("\n").filter((l) => /ci: |Test Files|Tests |passed|PASS|FAIL|finished/.test(l)).join("\n"));

        // validate typechecked, linted and ran the copy's unit tests; preview found `local` alone.
        expect(output).toMatch(/Test Files\s+\d+ passed/);
        expect(output).toMatch(/Tests\s+\d+ passed/);
        expect(output).not.toMatch(/Tests\s+\d+ failed/);
        expect(output).toContain("ci: previewing local");
        expect(output).not.toMatch(/ci: previewing (dev|staging|prod)/);
        expect(output).toContain("ci: local preview exited with 0");

        // One note, created on the merge request with the token, holding local's counts.
        expect(gitlab.calls()).toEqual(["GET /api/v4/user", `GET ${NOTES_PATH}`, `POST ${NOTES_PATH}`]);
        const post = gitlab.requests[2];
        expect(post.headers["private-token"]).toBe(TOKEN);
        const body = (JSON.parse(post.body) as { body: string }).body;
        expect(body.startsWith(NOTE_MARKER)).toBe(true);
        expect(body).toMatch(/\| `local` \| ✅ ok \| \d{3} \| 0 \| 0 \| 0 \| 0 \|/);
        expect(body).toContain("database-encrypted-backed-up");
        expect(body).not.toContain(TOKEN);
    });
});
