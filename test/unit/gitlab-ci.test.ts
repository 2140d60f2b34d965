/**
 * The pipeline's security and gate rules, read from .gitlab-ci.yml itself,
 * and the small scripts its jobs call (.ci/*.sh), run for real on this
 * machine. Which jobs each pipeline plans is checked under gitlab-ci-local
 * by test/engine/gitlab-pipeline.test.ts.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";

const ROOT = path.resolve(__dirname, "..", "..");

interface Job {
    extends?: string | string[];
    stage?: string;
    needs?: (string | { job: string })[];
    rules?: { if?: string; when?: string }[];
    variables?: Record<string, string>;
    id_tokens?: Record<string, unknown>;
    before_script?: string[];
    resource_group?: string;
    environment?: { name?: string; action?: string } | string;
    artifacts?: { access?: string; paths?: string[] };
    cache?: { key?: { files?: string[] }; paths?: string[] }[];
    script?: string[];
}

const pipeline = parse(fs.readFileSync(path.join(ROOT, ".gitlab-ci.yml"), "utf8")) as Record<string, Job>;
const RESERVED = new Set(["workflow", "stages", "variables", "default", "include"]);
const jobNames = Object.keys(pipeline).filter((k) => !RESERVED.has(k) && !k.startsWith("."));

/** A job with its `extends` chain merged in (GitLab merges hashes deeply; one level is enough for this file). */
function resolved(name: string): Job {
    const job = pipeline[name];
    const parents = job.extends === undefined ? [] : Array.isArray(job.extends) ? job.extends : [job.extends];
    const merged: Job = {};
    for (const parent of parents) {
        Object.assign(merged, resolved(parent));
    }
    return { ...merged, ...job, variables: { ...merged.variables, ...job.variables } };
}

const needs = (name: string) => (resolved(name).needs ?? []).map((n) => (typeof n === "string" ? n : n.job));

/** The jobs that touch a cloud account or a stack's state, and the identity each uses. */
const IDENTITIES: Record<string, string> = {
    preview: "preview",
    "review:deploy": "review",
    "review:stop": "review",
    reaper: "review",
    "apply:dev": "deploy",
    "apply:staging": "deploy",
    "preview:prod": "deploy",
    "promote:prod": "deploy",
    drift: "deploy",
};

describe("the pipeline's identities", () => {
    it("gives no job GitLab's OIDC token by default", () => {
        expect(pipeline.default.id_tokens).toBeUndefined();
        expect(pipeline.default.before_script).toBeUndefined();
    });

    it("gives the token only to the jobs that log in, each with its own identity", () => {
        const withToken = jobNames.filter((j) => resolved(j).id_tokens !== undefined).sort();
        expect(withToken).toEqual(Object.keys(IDENTITIES).sort());
        for (const [job, identity] of Object.entries(IDENTITIES)) {
            expect(resolved(job).variables?.PLATFORM_IDENTITY, job).toBe(identity);
        }
        // The test jobs run a branch's code and need no cloud at all.
        for (const job of ["validate", "test:engine", "release:check", "schedule:refused"]) {
            expect(resolved(job).id_tokens, job).toBeUndefined();
        }
    });

    it("lets only default-branch and tag jobs use the deploy identity", () => {
        for (const [job, identity] of Object.entries(IDENTITIES)) {
            if (identity !== "deploy") {
                continue;
            }
            const conditions = (resolved(job).rules ?? []).map((r) => r.if ?? "");
            expect(conditions.length, job).toBeGreaterThan(0);
            for (const condition of conditions) {
                expect(condition, job).not.toContain("merge_request_event");
                expect(condition, job).toMatch(/CI_DEFAULT_BRANCH|CI_COMMIT_TAG|"schedule"/);
            }
        }
    });

    it("restricts the preview artifacts to developers", () => {
        expect(resolved("preview").artifacts).toMatchObject({ access: "developer", paths: ["previews/"] });
    });
});

describe("the pipeline's gates", () => {
    it("applies and promotes only after every test of the commit passed", () => {
        for (const job of ["apply:dev", "apply:staging", "preview:prod", "promote:prod"]) {
            expect(needs(job), job).toEqual(expect.arrayContaining(["validate", "test:engine"]));
        }
        expect(needs("apply:staging")).toContain("apply:dev");
        expect(needs("preview:prod")).toContain("release:check");
        expect(needs("promote:prod")).toEqual(expect.arrayContaining(["release:check", "preview:prod"]));
    });

    it("runs the tests in tag pipelines too", () => {
        for (const job of ["validate", "test:engine"]) {
            expect((resolved(job).rules ?? []).some((r) => r.if === "$CI_COMMIT_TAG"), job).toBe(true);
        }
    });

    it("refuses a schedule that names no known job instead of planning nothing", () => {
        const refused = resolved("schedule:refused");
        expect(refused.rules).toEqual([{ if: '$CI_PIPELINE_SOURCE == "schedule" && $PLATFORM_SCHEDULE != "drift" && $PLATFORM_SCHEDULE != "reaper"' }]);
        const script = (refused.script ?? []).join("\n");
        for (const schedule of ["", "drfit"]) {
            const run = spawnSync("bash", ["-c", script], { env: { ...process.env, PLATFORM_SCHEDULE: schedule }, encoding: "utf8" });
            expect(run.status).toBe(1);
            expect(run.stderr).toContain(`PLATFORM_SCHEDULE="${schedule}"; allowed values: drift, reaper`);
        }
    });

    it("serialises what acts on the same stack", () => {
        expect(resolved("drift").resource_group).toBe(resolved("apply:dev").resource_group);
        expect(resolved("drift").resource_group).toBe("stack-$PLATFORM_STACK");
        for (const job of ["review:deploy", "review:stop"]) {
            expect(resolved(job).resource_group, job).toBe(resolved("reaper").resource_group);
        }
        expect(resolved("preview:prod").resource_group).toBe("stack-prod");
        expect(resolved("promote:prod").resource_group).toBe("stack-prod");
    });

    it("keys its caches on files that exist", () => {
        for (const cache of pipeline.default.cache ?? []) {
            for (const file of cache.key?.files ?? []) {
                expect(fs.existsSync(path.join(ROOT, file)), file).toBe(true);
            }
        }
    });
});

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "platform-ci-scripts-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function git(cwd: string, args: string[]): string {
    return execFileSync("git", args, {
        cwd,
        encoding: "utf8",
        env: { ...process.env, GIT_AUTHOR_NAME: "ci", GIT_AUTHOR_EMAIL: "ci@example.com", GIT_COMMITTER_NAME: "ci", GIT_COMMITTER_EMAIL: "ci@example.com" },
    }).trim();
}

describe(".ci/release-check.sh", () => {
    it("accepts a commit of the default branch and refuses one that is not on it", () => {
        const origin = path.join(tmp, "origin");
        fs.mkdirSync(origin);
        git(origin, ["init", "-q", "-b", "main"]);
        git(origin, ["commit", "-q", "--allow-empty", "-m", "one"]);
        const merged = git(origin, ["rev-parse", "HEAD"]);
        git(origin, ["checkout", "-q", "-b", "feature"]);
        git(origin, ["commit", "-q", "--allow-empty", "-m", "unmerged"]);
        const unmerged = git(origin, ["rev-parse", "HEAD"]);
        git(origin, ["checkout", "-q", "main"]);

        // A tag pipeline's checkout: the repository with the tag, no branch fetched.
        const checkout = path.join(tmp, "checkout");
        git(tmp, ["clone", "-q", "--no-checkout", origin, checkout]);
        git(checkout, ["update-ref", "-d", "refs/remotes/origin/main"]);
        fs.mkdirSync(path.join(checkout, ".ci"));
        fs.copyFileSync(path.join(ROOT, ".ci", "release-check.sh"), path.join(checkout, ".ci", "release-check.sh"));

        const check = (commit: string) => spawnSync("bash", [path.join(checkout, ".ci", "release-check.sh"), commit, "main"], { cwd: checkout, encoding: "utf8" });
        const ok = check(merged);
        expect(ok.status, ok.stderr).toBe(0);
        expect(ok.stdout).toContain(`release commit ${merged} is on main`);
        const refused = check(unmerged);
        expect(refused.status).toBe(1);
        expect(refused.stderr).toContain(`release commit ${unmerged} is not on main`);
    });
});

describe(".ci/merge-request-base.sh", () => {
    const base = (env: Record<string, string>) =>
        spawnSync("bash", [path.join(ROOT, ".ci", "merge-request-base.sh")], { env: { PATH: process.env.PATH ?? "", ...env }, encoding: "utf8" });
    const shas = { CI_MERGE_REQUEST_DIFF_BASE_SHA: "aaaa", CI_MERGE_REQUEST_TARGET_BRANCH_SHA: "bbbb" };

    it("diffs a merge request pipeline against the merge base", () => {
        expect(base({ ...shas, CI_MERGE_REQUEST_EVENT_TYPE: "detached" }).stdout).toBe("aaaa\n");
        expect(base(shas).stdout).toBe("aaaa\n");
    });

    it("diffs merged-results and merge-train pipelines against the target branch's commit", () => {
        expect(base({ ...shas, CI_MERGE_REQUEST_EVENT_TYPE: "merged_result" }).stdout).toBe("bbbb\n");
        expect(base({ ...shas, CI_MERGE_REQUEST_EVENT_TYPE: "merge_train" }).stdout).toBe("bbbb\n");
    });

    it("names the missing variable", () => {
        const run = base({ CI_MERGE_REQUEST_EVENT_TYPE: "merge_train", CI_MERGE_REQUEST_DIFF_BASE_SHA: "aaaa" });
        expect(run.status).not.toBe(0);
        expect(run.stderr).toContain("CI_MERGE_REQUEST_TARGET_BRANCH_SHA is not set in a merge_train pipeline");
    });
});

describe(".ci/preview-merge-request.sh", () => {
    /**
     * A project with the real script and stack-lifecycle.ts, and stand-ins for
     * ./platform (logs its calls) and the note (prints its directory).
     */
    function project(): string {
        const dir = path.join(tmp, "merge-request-project");
        for (const sub of [".ci", "scripts", "environments", "stacks"]) {
            fs.mkdirSync(path.join(dir, sub), { recursive: true });
        }
        // The registry reads stack files through stack-file.ts.
        for (const file of [".ci/preview-merge-request.sh", ".ci/merge-request-base.sh", "scripts/stack-lifecycle.ts", "environments/template-registry.ts", "environments/stack-file.ts"]) {
            fs.copyFileSync(path.join(ROOT, file), path.join(dir, file));
        }
        fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
        fs.writeFileSync(path.join(dir, "scripts", "post-preview-note.ts"), 'console.log(`note from ${process.argv[2]}`);\n');
        const platform = [
            "#!/usr/bin/env bash",
            'echo "$*" >>"$(dirname "$0")/platform.log"',
            'if [ "$1" = stacks ]; then echo "dev prod prod-eu review-4 broken"; else echo "{}"; fi',
        ];
        fs.writeFileSync(path.join(dir, "platform"), `${platform.join("\n")}\n`, { mode: 0o755 });
        const stack = (name: string, template: string) => fs.writeFileSync(path.join(dir, "stacks", `Pulumi.${name}.yaml`), `config:\n  platform:template: ${template}\n`);
        stack("dev", "dev");
        stack("prod", "prod");
        stack("prod-eu", "prod");
        stack("broken", "qa");
        return dir;
    }

    it("leaves out every prod-template stack, whatever its name, previews the rest and shows an unreadable template as failed", () => {
        const dir = project();
        const env = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? tmp, CI_MERGE_REQUEST_DIFF_BASE_SHA: "aaaa" };
        const run = spawnSync("bash", [path.join(dir, ".ci", "preview-merge-request.sh"), "previews"], { cwd: dir, env, encoding: "utf8" });
        expect(run.status, run.stderr).toBe(0);
        const previews = path.join(dir, "previews");
        const read = (file: string) => fs.readFileSync(path.join(previews, file), "utf8");

        expect(fs.readFileSync(path.join(dir, "platform.log"), "utf8").split("\n").filter(Boolean)).toEqual([
            "stacks affected aaaa",
            "preview dev --json",
            "preview review-4 --json",
        ]);
        for (const stack of ["prod", "prod-eu"]) {
            expect(read(`${stack}.not-previewed`)).toMatch(/^template prod: its state and keys are for its own identity, which merge requests never get .*\n$/);
            expect(run.stdout).toContain(`ci: ${stack} is affected; not previewed in merge requests: template prod: `);
        }
        expect(fs.readdirSync(previews).filter((f) => f.startsWith("prod")).sort()).toEqual(["prod-eu.not-previewed", "prod.not-previewed"]);
        expect(read("dev.exit")).toBe("0\n");
        expect(read("review-4.json")).toBe("{}\n");
        // A stack file naming no template is a failed preview in the note, not a skipped one.
        expect(read("broken.exit")).toBe("2\n");
        expect(read("broken.stderr")).toContain('stacks/Pulumi.broken.yaml: platform:template: "qa" is not a template');
        expect(fs.existsSync(path.join(previews, "broken.not-previewed"))).toBe(false);
        expect(run.stdout).toContain("note from previews\n");
    });
});

describe(".ci/azure-login.sh", () => {
    /** Sources the script as a job's before_script would and prints what it exported. */
    const login = (env: Record<string, string>) =>
        spawnSync(
            "bash",
            ["-c", `. "${path.join(ROOT, ".ci", "azure-login.sh")}" || exit $?; printf 'client=%s\\nbackend=%s\\ntoken=%s\\n' "\${AZURE_CLIENT_ID:-}" "\${PLATFORM_STATE_BACKEND_URL:-}" "\${AZURE_ID_TOKEN:-}"; [ -n "\${AZURE_FEDERATED_TOKEN_FILE:-}" ] && printf 'file=%s\\n' "$(cat "$AZURE_FEDERATED_TOKEN_FILE")"; true`],
            { env: { PATH: process.env.PATH ?? "", TMPDIR: tmp, ...env }, encoding: "utf8" },
        );

    it("logs in with the job's identity and keeps the token only in a file", () => {
        const run = login({ PLATFORM_IDENTITY: "deploy", PLATFORM_DEPLOY_CLIENT_ID: "deploy-id", PLATFORM_PREVIEW_CLIENT_ID: "preview-id", AZURE_ID_TOKEN: "jwt" });
        expect(run.status, run.stderr).toBe(0);
        expect(run.stdout).toContain("client=deploy-id\n");
        expect(run.stdout).toContain("token=\n");
        expect(run.stdout).toContain("file=jwt");
    });

    it("gives review jobs the review identity and the review environments' backend", () => {
        const run = login({
            PLATFORM_IDENTITY: "review",
            PLATFORM_REVIEW_CLIENT_ID: "review-id",
            PLATFORM_DEPLOY_CLIENT_ID: "deploy-id",
            PLATFORM_STATE_BACKEND_URL: "azblob://state",
            PLATFORM_REVIEW_STATE_BACKEND_URL: "azblob://review-state",
            AZURE_ID_TOKEN: "jwt",
        });
        expect(run.stdout).toContain("client=review-id\n");
        expect(run.stdout).toContain("backend=azblob://review-state\n");
    });

    it("goes on without Azure when the identity is not there (a fork, an unprotected branch), saying why", () => {
        const run = login({ PLATFORM_IDENTITY: "deploy", PLATFORM_PREVIEW_CLIENT_ID: "preview-id", AZURE_ID_TOKEN: "jwt" });
        expect(run.status).toBe(0);
        expect(run.stdout).toContain("client=\n");
        expect(run.stdout).not.toContain("file=");
        expect(run.stderr).toContain("no Azure identity for this job (PLATFORM_DEPLOY_CLIENT_ID is not set here");
    });

    it("refuses an unknown identity", () => {
        const run = login({ PLATFORM_IDENTITY: "admin", AZURE_ID_TOKEN: "jwt" });
        expect(run.status).toBe(2);
        expect(run.stderr).toContain('PLATFORM_IDENTITY is "admin"; allowed values: preview, review, deploy');
    });
});
