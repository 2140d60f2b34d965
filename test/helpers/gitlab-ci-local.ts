/**
 * The pipeline (.gitlab-ci.yml) under gitlab-ci-local in shell mode, in a
 * throwaway git repository made from this checkout: the engine tests of the
 * merge request jobs (test/engine/gitlab-pipeline.test.ts) and of the jobs
 * that deploy (test/engine/delivery-jobs.test.ts).
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { PulumiResult, REPO_ROOT, runAsync } from "./engine";
import { defaultTestChartMirror } from "./real-charts";

const GITLAB_CI_LOCAL = path.join(REPO_ROOT, "node_modules", ".bin", "gitlab-ci-local");

export interface PipelineRepo {
    /** The temporary folder holding the repository (and anything else the test puts there). */
    root: string;
    /** The repository: this checkout's files, committed on `main`. */
    dir: string;
    /** The first commit. */
    baseSha: string;
    git(args: string[]): string;
    /** Runs gitlab-ci-local (`--list`, or job names) with the given CI/CD variables. */
    run(args: string[], variables: Record<string, string>, env?: NodeJS.ProcessEnv): Promise<PulumiResult>;
    remove(): void;
}

/**
 * The jobs' `./platform` reinstalls dependencies when the install stamp does
 * not match the lockfile, and would do it through the linked node_modules,
 * with links pointing into the throwaway clone: refuse to start instead.
 */
function requireCurrentInstall(): void {
    const key = createHash("sha256")
        .update(Buffer.concat(["pnpm-lock.yaml", "package.json", path.join("policies", "package.json")].map((f) => fs.readFileSync(path.join(REPO_ROOT, f)))))
        .digest("hex")
        .slice(0, 16);
    const stamp = path.join(REPO_ROOT, "node_modules", ".platform-install-stamp");
    if (!fs.existsSync(stamp) || fs.readFileSync(stamp, "utf8").trim() !== key) {
        throw new Error("dependencies are not installed for the current lockfile: run the tests with ./platform test");
    }
}

export interface PipelineRepoOptions {
    /**
     * The unit test files the copy keeps (paths from the repository root); the
     * others are left out. Unset, it keeps them all. The `validate` job runs the
     * copy's unit project: the outer run already runs every file, so the job
     * needs only enough of them to show that it runs them and reports them.
     */
    unitTests?: (file: string) => boolean;
}

/** Engine test files (test/engine, manager/test) are never the unit project's. */
const isUnitTestFile = (file: string) => file.endsWith(".test.ts") && !file.startsWith("test/engine/") && !file.startsWith("manager/test/");

/** A git repository with this checkout's files as they are (committed or not), without ignored ones. */
export function createPipelineRepo(prefix: string, options: PipelineRepoOptions = {}): PipelineRepo {
    requireCurrentInstall();
    const root = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    const dir = path.join(root, "repo");
    const keepUnitTest = options.unitTests ?? (() => true);
    const files = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: REPO_ROOT, encoding: "utf8" })
        .split("\0")
        .filter((f) => f !== "" && fs.existsSync(path.join(REPO_ROOT, f)))
        .filter((f) => !isUnitTestFile(f) || keepUnitTest(f));
    for (const file of files) {
        fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        fs.copyFileSync(path.join(REPO_ROOT, file), path.join(dir, file));
    }
    // Every workspace package's dependencies: the root, the policy pack, the environment manager.
    for (const pkg of [".", "policies", "manager"]) {
        fs.symlinkSync(path.join(REPO_ROOT, pkg, "node_modules"), path.join(dir, pkg, "node_modules"));
    }
    const git = (args: string[]) =>
        execFileSync("git", args, {
            cwd: dir,
            encoding: "utf8",
            env: { ...process.env, GIT_AUTHOR_NAME: "ci", GIT_AUTHOR_EMAIL: "ci@example.com", GIT_COMMITTER_NAME: "ci", GIT_COMMITTER_EMAIL: "ci@example.com" },
        }).trim();
    git(["init", "-q", "-b", "main"]);
    git(["add", "-A"]);
    git(["commit", "-q", "-m", "base"]);
    const baseSha = git(["rev-parse", "HEAD"]);
    return {
        root,
        dir,
        baseSha,
        git,
        run(args, variables, env = {}) {
            const vars = Object.entries(variables).flatMap(([k, v]) => ["--variable", `${k}=${v}`]);
            // Merge request pipelines have no CI_COMMIT_BRANCH (gitlab-ci-local sets the checked-out branch).
            const unset = "CI_COMMIT_BRANCH" in variables ? [] : ["--unset-variable", "CI_COMMIT_BRANCH"];
            return runAsync(GITLAB_CI_LOCAL, ["--force-shell-executor", "--no-color", ...unset, ...vars, ...args], {
                cwd: dir,
                env: {
                    ...process.env,
                    GCL_IGNORE_PREDEFINED_VARS: Object.keys(variables)
                        .filter((k) => k.startsWith("CI_"))
                        .join(","),
                    // The upstream chart repositories are not reachable here: the mirror of the real charts.
                    PLATFORM_CHART_MIRROR: defaultTestChartMirror(),
                    KUBECONFIG: path.join(root, "no-kubeconfig"),
                    NO_COLOR: "1",
                    ...env,
                },
            });
        },
        remove() {
            fs.rmSync(root, { recursive: true, force: true });
        },
    };
}
