/**
 * Malformed stack configuration through the REAL engine (`pulumi preview`):
 * every case is rejected with a message naming its `platform:<key>`, before
 * any resource is registered and without a stack trace.
 *
 * Each case is a valid base config (the committed local, dev or prod stack
 * file, or a review config derived from local) with some keys set or
 * removed, written to its own file and passed with `--config-file`, so one
 * project copy and one set of stacks serve every case. The previews run in a
 * small pool; each worker has its own stacks (`local`, `review-42`, `dev`,
 * `prod`, and `<name>-l<n>` for the next workers) so that no two runs share a
 * stack. The valid bases are run too, so that the table is relative to
 * configs that work.
 *
 * Three layers reject bad config, and each case says which one must:
 * - pulumi: the CLI itself, for a key Pulumi.yaml declares without a default;
 * - loader: environments/config.ts (zod schema and its superRefine rules);
 * - preflight: preflightCharts (components/shared/chart.ts), for the chart mirror.
 */
import * as fs from "node:fs";
import * as path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";

import { REVIEW_MAX_DAYS } from "../../environments/config";
import { defaultTestChartMirror } from "../helpers/real-charts";
import { createEngineProject, EngineProject, PulumiResult, REPO_ROOT } from "../helpers/engine";

/**
 * Workers running `pulumi preview` at once (MALFORMED_CONFIG_CONCURRENCY overrides). Measured on
 * the 2-core machine with other engine work running (load ~5), with an earlier 60-preview table:
 * 1 worker 308 s, 2 workers 181 s; 51 previews took ~150 s with 2, the current 61 took 215 s with 2
 * (load ~3; 229 s for the file). Keep the file under ~4 minutes: drop a redundant case before adding past that.
 */
const CONCURRENCY = Math.max(1, Number(process.env.MALFORMED_CONFIG_CONCURRENCY ?? "2"));

/** Which stack a case runs on, and which valid config it starts from. */
type Kind = "local" | "review" | "dev" | "prod";
type Layer = "pulumi" | "loader" | "preflight";

interface MalformedCase {
    name: string;
    /** The valid config the changes apply to. */
    base: Kind;
    /** The stack the preview runs on (its name is the environment name unless platform:name is set). Default: base. */
    stack?: Kind;
    /** Keys without the `platform:` prefix. */
    set?: Record<string, string>;
    remove?: string[];
    /** The key the message must name (without the prefix). */
    key: string;
    /** A fragment the message must carry on the line naming the key. */
    message: string;
    by: Layer;
}

const DAY_MS = 86_400_000;
const inDays = (days: number) => new Date(Date.now() + days * DAY_MS).toISOString().slice(0, 10);
const nextYear = new Date().getUTCFullYear() + 1;

// The cluster components' own lists (AKS_LOCATIONS, EKS_REGIONS), which the loader checks against.
const AZURE_REGIONS = "westeurope, northeurope, swedencentral, germanywestcentral, uksouth, eastus2, centralus";
const AWS_REGIONS = "eu-central-1, eu-west-1, eu-north-1, us-east-1, us-east-2, us-west-2";
const missing = (key: string) => `is missing configuration value 'platform:${key}'`;

const MALFORMED_CASES: MalformedCase[] = [
    // Enum keys with a value outside their set.
    { name: "template outside its set", base: "local", set: { template: "qa" }, key: "template", message: 'allowed: local, review, dev, staging, prod (got "qa")', by: "loader" },
    { name: "kubernetesTarget outside its set", base: "local", set: { kubernetesTarget: "cloud" }, key: "kubernetesTarget", message: 'allowed: auto, apply, render (got "cloud")', by: "loader" },
    { name: "cloud outside its set", base: "dev", set: { cloud: "gcp" }, key: "cloud", message: 'allowed: azure, aws (got "gcp")', by: "loader" },
    { name: "protect outside its set", base: "local", set: { protect: "yes" }, key: "protect", message: 'allowed: true, false (got "yes")', by: "loader" },

    // Required keys Pulumi.yaml declares without a default: the CLI refuses before the program runs.
    { name: "template removed", base: "local", remove: ["template"], key: "template", message: missing("template"), by: "pulumi" },
    { name: "description removed", base: "local", remove: ["description"], key: "description", message: missing("description"), by: "pulumi" },
    { name: "owner removed", base: "local", remove: ["owner"], key: "owner", message: missing("owner"), by: "pulumi" },
    { name: "costCenter removed (dev)", base: "dev", remove: ["costCenter"], key: "costCenter", message: missing("costCenter"), by: "pulumi" },
    { name: "repository removed", base: "local", remove: ["repository"], key: "repository", message: missing("repository"), by: "pulumi" },
    // Set to "": Pulumi accepts it, the loader reads "" as "not set".
    { name: "template empty", base: "local", set: { template: "" }, key: "template", message: "allowed: local, review, dev, staging, prod (it is not set)", by: "loader" },
    { name: "description empty", base: "local", set: { description: "" }, key: "description", message: "it is required (it is not set)", by: "loader" },

    // What a cloud template requires (superRefine).
    ...(["cloud", "region", "clusterAdmins", "ingressDomain", "acmeEmail"] as const).map(
        (key): MalformedCase => ({ name: `${key} missing (dev)`, base: "dev", remove: [key], key, message: "it is required for the dev template (it is not set)", by: "loader" }),
    ),
    { name: "clusterAdmins with no name in it", base: "dev", set: { clusterAdmins: " , " }, key: "clusterAdmins", message: 'must name at least one administrator (comma-separated) (got " , ")', by: "loader" },

    // Formats.
    { name: "owner not an email", base: "local", set: { owner: "not-an-email" }, key: "owner", message: 'must be an email address (got "not-an-email")', by: "loader" },
    { name: "acmeEmail not an email", base: "dev", set: { acmeEmail: "letsencrypt" }, key: "acmeEmail", message: 'must be an email address (got "letsencrypt")', by: "loader" },
    { name: "costCenter not ABC-1234", base: "local", set: { costCenter: "marketing" }, key: "costCenter", message: "must look like ABC-1234 (2-5 capitals, '-', 3-6 digits) (got \"marketing\")", by: "loader" },
    { name: "plannedDestruction not a date", base: "local", set: { plannedDestruction: "next week" }, key: "plannedDestruction", message: 'must be a date as YYYY-MM-DD (got "next week")', by: "loader" },
    { name: "plannedDestruction an impossible date", base: "review", set: { plannedDestruction: `${nextYear}-02-30` }, key: "plannedDestruction", message: `must be a date as YYYY-MM-DD (got "${nextYear}-02-30")`, by: "loader" },
    { name: "vaultAddress without a scheme", base: "local", set: { vaultAddress: "127.0.0.1:8200" }, key: "vaultAddress", message: 'must be an http(s) URL such as http://127.0.0.1:8200 (got "127.0.0.1:8200")', by: "loader" },
    { name: "vaultAddress with another protocol", base: "local", set: { vaultAddress: "ftp://vault.example.com" }, key: "vaultAddress", message: 'must be an http(s) URL such as http://127.0.0.1:8200 (got "ftp://vault.example.com")', by: "loader" },
    { name: "consulAddress over plain http", base: "local", set: { consulAddress: "http://127.0.0.1:8500" }, key: "consulAddress", message: 'must be an https URL such as https://127.0.0.1:8501 (got "http://127.0.0.1:8500")', by: "loader" },
    { name: "networkCidr not a /16", base: "dev", set: { networkCidr: "10.40.0.0/24" }, key: "networkCidr", message: 'must be an IPv4 /16 network such as 10.40.0.0/16 (got "10.40.0.0/24")', by: "loader" },
    { name: "serviceCidr wider than /12", base: "dev", set: { serviceCidr: "10.0.0.0/8" }, key: "serviceCidr", message: 'must be an IPv4 network from /12 to /24 such as 10.0.0.0/16 (got "10.0.0.0/8")', by: "loader" },
    // Node counts: digits only, 1 to 100 (also "2.5", "500", "-2" in environments/config.test.ts).
    { name: "nodeMin below 1", base: "dev", set: { nodeMin: "0" }, key: "nodeMin", message: 'must be a whole number from 1 to 100 (got "0")', by: "loader" },
    { name: "nodeMax not a number", base: "dev", set: { nodeMax: "three" }, key: "nodeMax", message: 'must be a whole number from 1 to 100 (got "three")', by: "loader" },
    { name: "nodeMin in hex", base: "dev", set: { nodeMin: "0x10" }, key: "nodeMin", message: 'must be a whole number from 1 to 100 (got "0x10")', by: "loader" },
    { name: "nodeMax in exponent notation", base: "dev", set: { nodeMax: "1e1" }, key: "nodeMax", message: 'must be a whole number from 1 to 100 (got "1e1")', by: "loader" },
    { name: "nodeMin padded with spaces", base: "dev", set: { nodeMin: " 3 " }, key: "nodeMin", message: 'must be a whole number from 1 to 100 (got " 3 ")', by: "loader" },
    { name: "ingressDomain a URL", base: "dev", set: { ingressDomain: "https://dev.example.com" }, key: "ingressDomain", message: 'must be a DNS domain such as dev.example.com (got "https://dev.example.com")', by: "loader" },
    { name: "name not lower-case", base: "local", set: { name: "Local_Env" }, key: "name", message: "must be 3-32 lower-case letters, digits or '-', starting with a letter (got \"Local_Env\")", by: "loader" },
    { name: "description of spaces only", base: "local", set: { description: "   " }, key: "description", message: 'it is required (got "   ")', by: "loader" },
    { name: "repository of spaces only", base: "local", set: { repository: " " }, key: "repository", message: 'it is required (got " ")', by: "loader" },
    { name: "networkCidr with leading zeros", base: "dev", set: { networkCidr: "010.40.0.0/16" }, key: "networkCidr", message: 'must be an IPv4 /16 network such as 10.40.0.0/16, written without leading zeros (got "010.40.0.0/16")', by: "loader" },
    { name: "networkCidr in 0.0.0.0/8", base: "dev", set: { networkCidr: "0.0.0.0/16" }, key: "networkCidr", message: 'must be an IPv4 /16 network such as 10.40.0.0/16, outside 0.0.0.0/8 (reserved, not routable) (got "0.0.0.0/16")', by: "loader" },
    // Cluster administrators, per cloud: what AksCluster and EksCluster accept.
    { name: "clusterAdmins a group name (azure)", base: "dev", set: { clusterAdmins: "platform-admins" }, key: "clusterAdmins", message: '"platform-admins" is not an administrator on azure; allowed for azure: Entra ID object ids (GUIDs)', by: "loader" },
    { name: "cloud changed, Entra admins kept (aws)", base: "dev", set: { cloud: "aws", region: "eu-west-1" }, key: "clusterAdmins", message: '"7f3c2a10-5b1e-4d8a-9c3f-2e6b8a1d4f90" is not an administrator on aws; allowed for aws: IAM role ARNs, arn:aws:iam::<12-digit account>:role/<name>', by: "loader" },
    { name: "clusterAdmins an IAM user (aws)", base: "dev", set: { cloud: "aws", region: "eu-west-1", clusterAdmins: "arn:aws:iam::111122223333:user/alice" }, key: "clusterAdmins", message: '"arn:aws:iam::111122223333:user/alice" is not an administrator on aws', by: "loader" },
    { name: "description over 500 characters", base: "local", set: { description: "x".repeat(501) }, key: "description", message: "expected string to have <=500 characters", by: "loader" },

    // Keys the schema does not know: a misspelling is refused, not ignored.
    { name: "misspelt key costCentre", base: "local", set: { costCentre: "PLT-0001" }, key: "costCentre", message: "is not a setting; did you mean platform:costCenter? allowed: platform:template, platform:name, ", by: "loader" },
    { name: "misspelt key kubernetesTarge (dev)", base: "dev", set: { kubernetesTarge: "apply" }, key: "kubernetesTarge", message: "is not a setting; did you mean platform:kubernetesTarget? allowed: ", by: "loader" },

    // Rules across keys.
    { name: "nodeMin above nodeMax", base: "dev", set: { nodeMin: "6", nodeMax: "3" }, key: "nodeMin", message: 'must not exceed platform:nodeMax (3) (got "6")', by: "loader" },
    { name: "serviceCidr overlapping networkCidr", base: "dev", set: { networkCidr: "10.40.0.0/16", serviceCidr: "10.40.128.0/17" }, key: "serviceCidr", message: 'overlaps platform:networkCidr (10.40.0.0/16); the ranges must be disjoint (got "10.40.128.0/17")', by: "loader" },
    { name: "prod not protected", base: "prod", set: { protect: "false" }, key: "protect", message: 'prod must protect its stateful resources; allowed: true (or unset) (got "false")', by: "loader" },
    { name: "region of another cloud (azure)", base: "dev", set: { region: "eu-west-1" }, key: "region", message: `allowed for azure: ${AZURE_REGIONS} (got "eu-west-1")`, by: "loader" },
    { name: "cloud changed, region kept (aws)", base: "dev", set: { cloud: "aws" }, key: "region", message: `allowed for aws: ${AWS_REGIONS} (got "westeurope")`, by: "loader" },
    { name: "review without plannedDestruction", base: "review", remove: ["plannedDestruction"], key: "plannedDestruction", message: `it is required for the review template (a date within ${REVIEW_MAX_DAYS} days) (it is not set)`, by: "loader" },
    { name: "review plannedDestruction too far", base: "review", set: { plannedDestruction: inDays(REVIEW_MAX_DAYS + 15) }, key: "plannedDestruction", message: `is more than ${REVIEW_MAX_DAYS} days away; allowed: `, by: "loader" },
    { name: "plannedDestruction in the past", base: "review", set: { plannedDestruction: "2020-01-01" }, key: "plannedDestruction", message: 'is in the past (today is ', by: "loader" },
    { name: "name not allowed for local", base: "local", set: { name: "qa" }, key: "name", message: 'unknown environment name for the local template; allowed: local or local-<suffix> (got "qa")', by: "loader" },
    { name: "review template on a local stack", base: "review", stack: "local", key: "name", message: "unknown environment name for the review template; allowed: review-<id>", by: "loader" },
    { name: "prod config on the dev stack", base: "prod", stack: "dev", key: "name", message: "unknown environment name for the prod template; allowed: prod or prod-<suffix>", by: "loader" },
    { name: "render target for dev", base: "dev", set: { kubernetesTarget: "render" }, key: "kubernetesTarget", message: 'allowed for the dev template: auto, apply (a cloud cluster is always applied to) (got "render")', by: "loader" },

    // Valid config, but the chart mirror it names does not exist: the preflight stops.
    { name: "chartMirror directory missing", base: "local", set: { chartMirror: "/nonexistent/chart-mirror" }, key: "chartMirror", message: "(or PLATFORM_CHART_MIRROR) to a directory or an oci:// registry that mirrors them", by: "preflight" },
];

/** What each layer prints when it refuses. */
const LAYER_MARK: Record<Layer, string> = {
    pulumi: "error: validating stack config:",
    loader: "error: invalid stack configuration:",
    preflight: "error: cannot read the Helm charts and manifests of this environment:",
};

/** A stack frame, named or anonymous. */
const STACK_TRACE = /\n\s+at .+\(.+:\d+:\d+\)|\n\s+at [^\s()]+:\d+:\d+/;
/** Resource type tokens (`platform:cluster:ExistingCluster`, `kubernetes:core/v1:Namespace`…); config keys never match. */
const TYPE_TOKEN = /\b[a-z][a-z0-9-]*:[A-Za-z0-9./-]+:[A-Z][A-Za-z0-9]*\b/g;
/** Node's warning for a rejection reported unhandled, then handled late (environments/index.ts). */
const NODE_WARNING = /PromiseRejectionHandledWarning|node --trace-warnings/;
/** The program's log line once config and charts are accepted (environments/index.ts). */
const PAST_VALIDATION = /\benvironment [a-z0-9-]+: (render|apply|dev|staging|prod) /;

/** Resources the output shows besides the stack itself: none may appear for a refused config. */
function resourcesShown(text: string): string[] {
    const types = new Set((text.match(TYPE_TOKEN) ?? []).filter((t) => t !== "pulumi:pulumi:Stack"));
    for (const m of text.matchAll(/\bpulumi:providers:[a-z0-9-]+/g)) {
        types.add(m[0]);
    }
    if (text.includes("kubernetes:")) {
        types.add("kubernetes:");
    }
    const toCreate = Number(/\+ (\d+) to create/.exec(text)?.[1] ?? "0");
    // The only step of a refused run is the stack resource the runtime registers itself.
    if (toCreate > 1) {
        types.add(`${toCreate} to create`);
    }
    return [...types];
}

interface Verdict {
    rejected: boolean;
    namesKey: boolean;
    byLayer: boolean;
    stackTrace: boolean;
    nodeWarning: boolean;
    resources: string[];
    pastValidation: boolean;
}

function judge(c: MalformedCase, r: PulumiResult): Verdict {
    const text = r.stdout + r.stderr;
    const keyToken = `platform:${c.key}`;
    return {
        rejected: r.status !== 0,
        namesKey: text.split("\n").some((line) => line.includes(keyToken) && line.includes(c.message)),
        byLayer: text.includes(LAYER_MARK[c.by]),
        stackTrace: STACK_TRACE.test(text),
        nodeWarning: NODE_WARNING.test(text),
        resources: resourcesShown(text),
        pastValidation: PAST_VALIDATION.test(text),
    };
}

// ---------------------------------------------------------------------------
// Valid bases, stacks and the pool.

type Config = Record<string, string>;

function committedConfig(stack: string): Config {
    const file = parse(fs.readFileSync(path.join(REPO_ROOT, "stacks", `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> };
    return Object.fromEntries(Object.entries(file.config).map(([k, v]) => [k.replace(/^platform:/, ""), String(v)]));
}

/** Stack names of a worker: lane 0 has the real names, lane n adds `-l<n>` (still a valid name for each template). */
function stackName(kind: Kind, lane: number): string {
    const name = kind === "review" ? "review-42" : kind;
    return lane === 0 ? name : `${name}-l${lane}`;
}

interface Job {
    id: string;
    stack: Kind;
    config: Config;
}

interface Run {
    result: PulumiResult;
    stack: string;
    seconds: number;
}

function deferred<T>() {
    let resolve!: (v: T) => void;
    const promise = new Promise<T>((r) => (resolve = r));
    return { promise, resolve };
}

let project: EngineProject;
let bases: Record<Kind, Config>;
const jobs: Job[] = [];
const runs = new Map<string, ReturnType<typeof deferred<Run>>>();
let pool: Promise<void> | undefined;
let wallSeconds = 0;

function caseConfig(c: MalformedCase): Config {
    const config: Config = { ...bases[c.base], ...c.set };
    for (const key of c.remove ?? []) {
        delete config[key];
    }
    return config;
}

async function runPool(salts: Map<string, string>): Promise<void> {
    const configDir = path.join(project.dir, "..", "configs");
    fs.mkdirSync(configDir, { recursive: true });
    let next = 0;
    const started = performance.now();
    const worker = async (lane: number) => {
        while (next < jobs.length) {
            const index = next++;
            const job = jobs[index];
            const stack = stackName(job.stack, lane);
            const file = path.join(configDir, `${index}.yaml`);
            const config = Object.fromEntries(Object.entries(job.config).map(([k, v]) => [`platform:${k}`, v]));
            // Quoted: every value is a string to Pulumi, as `pulumi config set` writes it.
            fs.writeFileSync(file, stringify({ config, encryptionsalt: salts.get(stack) }, { defaultStringType: "QUOTE_DOUBLE", defaultKeyType: "PLAIN" }));
            const t0 = performance.now();
            let result: PulumiResult;
            try {
                // PLATFORM_CHART_MIRROR would override the stack's mirror: not here.
                result = await project.pulumiAsync(["preview", "--stack", stack, "--config-file", file], { PLATFORM_CHART_MIRROR: "" });
            } catch (err) {
                result = { status: -1, stdout: "", stderr: `could not run pulumi: ${String(err)}` };
            }
            runs.get(job.id)!.resolve({ result, stack, seconds: (performance.now() - t0) / 1000 });
        }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, (_, lane) => worker(lane)));
    wallSeconds = (performance.now() - started) / 1000;
}

const BASE_JOBS: Kind[] = ["local", "review", "dev", "prod"];

beforeAll(async () => {
    project = createEngineProject({ withPolicies: false });
    // The real upstream charts, from the offline mirror (../shared/charts or PLATFORM_CHART_MIRROR).
    const mirror = defaultTestChartMirror();
    const local = { ...committedConfig("local"), renderDirectory: project.renderDir, chartMirror: mirror };
    bases = {
        local,
        review: { ...local, template: "review", description: "Review environment of a merge request.", plannedDestruction: inDays(7) },
        dev: { ...committedConfig("dev"), chartMirror: mirror },
        prod: { ...committedConfig("prod"), chartMirror: mirror },
    };
    // The long runs first: the valid bases go through the whole program.
    for (const kind of BASE_JOBS) {
        jobs.push({ id: `base:${kind}`, stack: kind, config: bases[kind] });
    }
    for (const c of MALFORMED_CASES) {
        jobs.push({ id: c.name, stack: c.stack ?? c.base, config: caseConfig(c) });
    }
    for (const job of jobs) {
        runs.set(job.id, deferred<Run>());
    }

    // Every stack a worker uses; `stack init` writes the passphrase salt to the copy's stack file.
    const salts = new Map<string, string>();
    for (let lane = 0; lane < CONCURRENCY; lane++) {
        for (const kind of BASE_JOBS) {
            const stack = stackName(kind, lane);
            const init = await project.pulumiAsync(["stack", "init", stack]);
            expect(init.status, init.stdout + init.stderr).toBe(0);
            const file = parse(fs.readFileSync(path.join(project.dir, "stacks", `Pulumi.${stack}.yaml`), "utf8")) as { encryptionsalt?: string };
            expect(file.encryptionsalt, stack).toBeDefined();
            salts.set(stack, file.encryptionsalt!);
        }
    }
    // Not awaited: each test waits for its own run, and the first ones report while the rest go on.
    pool = runPool(salts);
});

afterAll(async () => {
    await pool;
    if (pool) {
        const verdicts = MALFORMED_CASES.map(async (c) => judge(c, (await runs.get(c.name)!.promise).result));
        const all = await Promise.all(verdicts);
        const n = all.length;
        const rejected = all.filter((v) => v.rejected).length;
        const naming = all.filter((v) => v.namesKey).length;
        const traces = all.filter((v) => v.stackTrace).length;
        const warnings = all.filter((v) => v.nodeWarning).length;
        const registering = all.filter((v) => v.resources.length > 0 || v.pastValidation).length;
        const times = await Promise.all(jobs.map(async (j) => (await runs.get(j.id)!.promise).seconds));
        console.log(
            `[timing] ${jobs.length} previews (${BASE_JOBS.length} valid bases + ${n} malformed), concurrency ${CONCURRENCY}: ` +
                `${wallSeconds.toFixed(1)} s wall, ${times.reduce((a, b) => a + b, 0).toFixed(1)} s summed, slowest ${Math.max(...times).toFixed(1)} s`,
        );
        console.log(
            `[figure] malformed configs: ${rejected} rejected of ${n}, ${naming === n ? "all" : `${naming} of ${n}`} naming their key, ` +
                `${traces} with a stack trace, ${warnings} with a Node warning, ${registering} registering a resource`,
        );
    }
    project?.cleanup();
});

const runOf = (id: string): Promise<Run> => runs.get(id)!.promise;

describe("valid bases through the real engine (the table is relative to them)", () => {
    for (const kind of ["local", "review"] as const) {
        it(`the ${kind} base previews successfully`, async () => {
            const { result } = await runOf(`base:${kind}`);
            const text = result.stdout + result.stderr;
            expect(result.status, text).toBe(0);
            expect(text).toContain("platform:cluster:ExistingCluster");
            expect(Number(/\+ (\d+) to create/.exec(text)?.[1])).toBeGreaterThan(100);
        });
    }
    for (const kind of ["dev", "prod"] as const) {
        // The cloud templates then need the azure-native plugin, which this machine has not: the
        // point is that config validation and the chart preflight accept the base.
        it(`the ${kind} base passes config validation and the chart preflight`, async () => {
            const { result, stack } = await runOf(`base:${kind}`);
            const text = result.stdout + result.stderr;
            expect(text).toContain(`environment ${stack}: ${kind} on azure (westeurope)`);
            expect(text).not.toContain(LAYER_MARK.pulumi);
            expect(text).not.toContain(LAYER_MARK.loader);
            expect(text).not.toContain(LAYER_MARK.preflight);
        });
    }
});

describe(`malformed stack configs through the real engine (${MALFORMED_CASES.length} cases)`, () => {
    it("covers at least 30 cases, each named once", () => {
        expect(MALFORMED_CASES.length).toBeGreaterThanOrEqual(30);
        expect(new Set(MALFORMED_CASES.map((c) => c.name)).size).toBe(MALFORMED_CASES.length);
    });

    it("has checks that see what they look for (resources, a run past validation, a stack frame, a Node warning)", async () => {
        const { result } = await runOf("base:local");
        const v = judge(MALFORMED_CASES[0], result);
        expect(v.resources).toContain("platform:cluster:ExistingCluster");
        expect(v.pastValidation).toBe(true);
        expect("error: boom\n    at loadEnvironmentConfig (/p/environments/config.ts:190:11)\n").toMatch(STACK_TRACE);
        expect("error: boom\n    at file:///p/index.ts:4:1\n").toMatch(STACK_TRACE);
        expect(
            "(node:4242) PromiseRejectionHandledWarning: Promise rejection was handled asynchronously (rejection id: 1)\n" +
                "(Use `node --trace-warnings ...` to show where the warning was created)",
        ).toMatch(NODE_WARNING);
    });

    it.each(MALFORMED_CASES)("$name: refused by the $by, naming platform:$key", async (c) => {
        const { result } = await runOf(c.name);
        const text = result.stdout + result.stderr;
        const v = judge(c, result);
        expect(result.status, text).not.toBe(0);
        expect(text, "the layer that must refuse it").toContain(LAYER_MARK[c.by]);
        expect(v.namesKey, `a line naming platform:${c.key} with: ${c.message}\n${text}`).toBe(true);
        expect(text).not.toMatch(STACK_TRACE);
        expect(text, "no PromiseRejectionHandledWarning").not.toMatch(NODE_WARNING);
        expect(v.resources, text).toEqual([]);
        expect(v.pastValidation, text).toBe(false);
    });
});
