/**
 * The pipeline's jobs that change infrastructure (.gitlab-ci.yml `review:deploy`,
 * `review:stop` and `.apply`), run end to end under gitlab-ci-local in shell
 * mode, against local stand-ins for what a GitLab project provides:
 *
 *   review cluster    the throwaway API server (test/helpers/test-cluster.ts)
 *   team backend      Azurite, as `azblob://` (test/helpers/azurite.ts)
 *   secrets provider  `awskms://` against local-kms (test/helpers/local-kms.ts):
 *                     a real KMS protocol, never the passphrase
 *   charts            the mirror of the real upstream charts
 *
 * Each job runs in the same throwaway repository, and the test deletes the
 * review stack's file between jobs, as a fresh CI checkout would not have it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { backendVariables } from "../../scripts/stack-settings";
import { Azurite, startAzurite } from "../helpers/azurite";
import { CLUSTER_DEPLOY_SLOT_WAIT_MS, clusterDeploySlot } from "../helpers/cluster-deploy-slot";
import { parseStackExport, StackState } from "../helpers/cluster-objects";
import { PulumiResult, REPO_ROOT, runAsync } from "../helpers/engine";
import { createPipelineRepo, PipelineRepo } from "../helpers/gitlab-ci-local";
import { LocalKms, startLocalKms } from "../helpers/local-kms";
import { startTestCluster, TestCluster } from "../helpers/test-cluster";

const IID = "31";
const STACK = `review-${IID}`;
const CONTAINER = "review-state";

let repo: PipelineRepo;
let cluster: TestCluster;
let azurite: Azurite;
let kms: LocalKms;
let releaseSlot: (() => void) | undefined;

/** What every job gets: the project's CI/CD variables and the stand-ins' credentials. */
function projectVariables(): Record<string, string> {
    return {
        PLATFORM_REVIEW_STATE_BACKEND_URL: `azblob://${CONTAINER}`,
        PLATFORM_SECRETS_PROVIDER: kms.providerUrl,
        PLATFORM_REVIEW_KUBECONFIG: cluster.kubeconfigPath,
        PLATFORM_COST_CENTER: "PLT-0001",
        CI_PROJECT_PATH: "platform/platform-gitops",
        GITLAB_USER_EMAIL: "dev@example.com",
        // The toolchain this run already built, instead of the job's project-local cache.
        PLATFORM_CACHE_DIR: process.env.PLATFORM_CACHE_DIR ?? "",
    };
}

/** The stand-ins' credentials, as the runner's environment would hold the cloud's. */
function standInEnv(): NodeJS.ProcessEnv {
    return { ...azurite.env, ...kms.env };
}

function mergeRequestVariables(): Record<string, string> {
    return {
        ...projectVariables(),
        CI_PIPELINE_SOURCE: "merge_request_event",
        CI_MERGE_REQUEST_IID: IID,
        CI_MERGE_REQUEST_TITLE: "Try the review template",
    };
}

async function job(name: string, variables: Record<string, string>): Promise<PulumiResult & { output: string }> {
    // A fresh checkout has no review stack file: the jobs must not need one.
    for (const file of fs.readdirSync(path.join(repo.dir, "stacks")).filter((f) => f.startsWith("Pulumi.review-"))) {
        fs.rmSync(path.join(repo.dir, "stacks", file));
    }
    const result = await repo.run([name], variables, standInEnv());
    const output = result.stdout + result.stderr;
    console.log(output.split("\n").filter((l) => /ci: |Resources:|Duration:|^\s+[+~-]? ?\d+ (created|updated|unchanged|deleted|to )|error|refused|passed|failed|mandatory/.test(l)).slice(0, 40).join("\n"));
    return { ...result, output };
}

/** The pulumi CLI on the review stack, in the job's environment (team backend, KMS). */
async function pulumi(args: string[]): Promise<PulumiResult> {
    const settings = await runAsync("node", ["--import", "tsx", path.join(REPO_ROOT, "scripts", "stack-settings.ts"), STACK, repo.dir], {
        cwd: repo.dir,
        env: { ...process.env, PLATFORM_STATE_BACKEND_URL: `azblob://${CONTAINER}`, PLATFORM_SECRETS_PROVIDER: kms.providerUrl },
    });
    expect(settings.status, settings.stderr).toBe(0);
    const backendUrl = settings.stdout.split("\n")[0];
    return runAsync("pulumi", [...args, "--non-interactive", "--color", "never"], {
        cwd: repo.dir,
        env: { ...process.env, ...standInEnv(), ...backendVariables(backendUrl), PULUMI_SKIP_UPDATE_CHECK: "true", KUBECONFIG: cluster.kubeconfigPath },
    });
}

async function state(): Promise<StackState> {
    const exported = await pulumi(["stack", "export", "--stack", STACK]);
    expect(exported.status, exported.stderr).toBe(0);
    return parseStackExport(exported.stdout);
}

async function historyLength(): Promise<number> {
    const history = await pulumi(["stack", "history", "--stack", STACK, "--json"]);
    expect(history.status, history.stderr).toBe(0);
    return (JSON.parse(history.stdout) as unknown[]).length;
}

/** The step lines of a `pulumi up` that changed something (gitlab-ci-local prefixes each job line with `<job> > `). */
function changes(output: string): string[] {
    return output
        .split("\n")
        .map((l) => l.replace(/^\S+ > /, ""))
        .filter((l) => /^\s+[+~-]{1,2}\s+\S+.* (created|updated|replaced|deleted) \(/.test(l));
}

/** A deploy or destroy of the whole platform on a loaded 2-core machine: a safety net, not a target. */
const LONG = 1_800_000;

beforeAll(async () => {
    releaseSlot = await clusterDeploySlot("delivery-jobs.test.ts");
    repo = createPipelineRepo("platform-delivery-");
    cluster = await startTestCluster();
    azurite = await startAzurite(path.join(repo.root, "azurite"));
    await azurite.createContainer(CONTAINER);
    kms = await startLocalKms(path.join(repo.root, "local-kms"));
}, CLUSTER_DEPLOY_SLOT_WAIT_MS + 600_000);

afterAll(async () => {
    await cluster?.stop();
    await azurite?.stop();
    await kms?.stop();
    repo?.remove();
    releaseSlot?.();
});

describe("the pipeline's deploying jobs under gitlab-ci-local", () => {
    it("review:deploy creates the review environment on the review cluster, with its record, in the team backend", async () => {
        const deploy = await job("review:deploy", mergeRequestVariables());
        expect(deploy.status, deploy.output.slice(-6000)).toBe(0);
        expect(deploy.output).toContain(`ci: deploying ${STACK}`);

        // The state is in the team backend, compressed, its secrets under the KMS key.
        const blobs = await azurite.listBlobs(CONTAINER, ".pulumi/stacks/");
        expect(blobs).toContain(`.pulumi/stacks/platform/${STACK}.json.zst`);
        expect(blobs).not.toContain(`.pulumi/stacks/platform/${STACK}.json`);
        const deployed = await state();
        expect(deployed.resources.length).toBeGreaterThan(400);
        const exported = await pulumi(["stack", "export", "--stack", STACK]);
        expect((JSON.parse(exported.stdout) as { deployment: { secrets_providers: { type: string; state: { url: string } } } }).deployment.secrets_providers).toMatchObject({
            type: "cloud",
            state: { url: kms.providerUrl },
        });

        // The record: a review environment of this merge request, deployed, with its planned destruction.
        const output = await pulumi(["stack", "output", "--stack", STACK, "--json", "environment"]);
        expect(output.status, output.stderr).toBe(0);
        const record = JSON.parse(output.stdout) as { name: string; description: string; status: string; plannedDestructionAt: string | null; templates: { name: string }[] };
        expect(record).toMatchObject({ name: STACK, description: `MR !${IID}: Try the review template`, templates: [{ name: "review" }] });
        expect(record.status).toMatch(/^deployed/);
        expect(record.plannedDestructionAt).toMatch(/^\d{4}-\d{2}-\d{2}/);

        // And it is on the review cluster.
        const recordConfigMap = await cluster.kubectl(["get", "configmap/platform-environment", "-n", "platform-system", "-o", "jsonpath={.metadata.labels.platform\\.example\\.com/environment}"]);
        expect(recordConfigMap.stdout).toBe(STACK);
        // The step lines are what the no-op check below reads: make sure they are there to read.
        expect(changes(deploy.output).length).toBeGreaterThan(400);
        console.log(`[figure] review:deploy: ${deployed.resources.length} resources in the azblob backend, secrets under awskms (local-kms)`);
    }, LONG);

    it("a second review:deploy changes nothing", async () => {
        const before = await historyLength();
        const again = await job("review:deploy", mergeRequestVariables());
        expect(again.status, again.output.slice(-6000)).toBe(0);
        expect(changes(again.output)).toEqual([]);
        expect(again.output).toMatch(/\d+ unchanged/);
        expect(await historyLength()).toBe(before + 1);
    }, LONG);

    it("an apply job runs the policy pack before changing anything, and refuses a change that violates a mandatory policy", async () => {
        // The change: a Service on a public load balancer, which only the ingress gateway may have.
        const template = path.join(repo.dir, "environments", "templates", "local.ts");
        const source = fs.readFileSync(template, "utf8");
        const anchor = "    const record = recordEnvironment({";
        expect(source).toContain(anchor);
        fs.writeFileSync(
            template,
            source.replace(
                anchor,
                '    new (require("@pulumi/kubernetes") as typeof import("@pulumi/kubernetes")).core.v1.Service("debug-lb", ' +
                    '{ metadata: { namespace: "platform-system" }, spec: { type: "LoadBalancer", selector: { app: "debug" }, ports: [{ port: 80 }] } }, ' +
                    "{ provider: cluster.provider });\n" +
                    anchor,
            ),
        );
        repo.git(["commit", "-q", "-am", "expose a debug load balancer"]);
        try {
            const before = await state();
            const historyBefore = await historyLength();
            // The stack's committed file, as apply stacks have: here from its deployed config.
            const config = await pulumi(["config", "refresh", "--stack", STACK, "--force"]);
            expect(config.status, config.stderr).toBe(0);
            const apply = await repo.run(
                ["apply:dev"],
                {
                    ...projectVariables(),
                    CI_PIPELINE_SOURCE: "push",
                    CI_COMMIT_BRANCH: "main",
                    CI_DEFAULT_BRANCH: "main",
                    PLATFORM_STACK: STACK,
                    PLATFORM_STATE_BACKEND_URL: `azblob://${CONTAINER}`,
                    KUBECONFIG: cluster.kubeconfigPath,
                },
                standInEnv(),
            );
            const output = apply.stdout + apply.stderr;
            expect(apply.status, output.slice(-4000)).not.toBe(0);
            expect(output).toContain(`ci: applying ${STACK}`);
            expect(output).toMatch(/mandatory.*no-loadbalancer-service|no-loadbalancer-service.*mandatory/s);
            expect(output).toContain("debug-lb");
            // Nothing changed: the preview failed, so no update ran (none in the history), the same resources.
            expect(changes(output)).toEqual([]);
            expect(await historyLength()).toBe(historyBefore);
            const after = await state();
            expect(after.resources.map((r) => r.urn).sort()).toEqual(before.resources.map((r) => r.urn).sort());
            const lb = await cluster.kubectl(["get", "service/debug-lb", "-n", "platform-system", "-o", "name"]);
            expect(lb.status).not.toBe(0);
        } finally {
            repo.git(["revert", "--no-edit", "HEAD"]);
            fs.rmSync(path.join(repo.dir, "stacks", `Pulumi.${STACK}.yaml`), { force: true });
        }
    }, LONG);

    it("review:stop destroys the environment and removes its stack; a second stop is harmless", async () => {
        const stop = await job("review:stop", mergeRequestVariables());
        expect(stop.status, stop.output.slice(-6000)).toBe(0);
        expect(stop.output).toContain(`ci: destroying ${STACK}`);
        // The backend keeps the removed checkpoint's backup (.json.zst.bak), not the stack.
        const left = await azurite.listBlobs(CONTAINER, `.pulumi/stacks/platform/${STACK}`);
        expect(left).not.toContain(`.pulumi/stacks/platform/${STACK}.json.zst`);
        expect(left).not.toContain(`.pulumi/stacks/platform/${STACK}.json`);
        const ls = await pulumi(["stack", "ls", "--json"]);
        expect(ls.status, ls.stderr).toBe(0);
        expect((JSON.parse(ls.stdout) as { name: string }[]).map((s) => s.name)).not.toContain(STACK);
        const namespaces = await cluster.kubectl(["get", "namespaces", "-l", `platform.example.com/environment=${STACK}`, "-o", "name"]);
        expect(namespaces.stdout.trim()).toBe("");

        const again = await job("review:stop", mergeRequestVariables());
        expect(again.status, again.output.slice(-4000)).toBe(0);
        expect(again.output).toContain(`ci: ${STACK} does not exist; nothing to stop`);
    }, LONG);

    it("review:stop removes a review stack whose first deploy never finished", async () => {
        // What a first deploy that failed before writing any deployment leaves: an empty stack.
        const created = await pulumi(["stack", "init", "review-32", "--secrets-provider", kms.providerUrl]);
        expect(created.status, created.stderr).toBe(0);
        const stop = await job("review:stop", { ...mergeRequestVariables(), CI_MERGE_REQUEST_IID: "32" });
        expect(stop.status, stop.output.slice(-4000)).toBe(0);
        expect(stop.output).toContain("ci: review-32 was never deployed; removing the empty stack");
        const ls = await pulumi(["stack", "ls", "--json"]);
        expect((JSON.parse(ls.stdout) as { name: string }[]).map((s) => s.name)).not.toContain("review-32");
    });
});
