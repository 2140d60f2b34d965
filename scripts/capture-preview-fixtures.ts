/**
 * Captures real `pulumi` JSON output of this project's local stack as the test
 * fixtures in test/fixtures/preview/ (read by test/unit/preview-note.test.ts,
 * post-preview-note.test.ts and drift-report.test.ts). Re-run it when the
 * pulumi CLI, the kubernetes provider or the program changes, and commit the
 * result; the files are written as pulumi printed them, nothing is trimmed.
 *
 *   eval "$(./toolchain/ensure.sh)"       # pulumi 3.248.0 on PATH
 *   pnpm exec tsx scripts/capture-preview-fixtures.ts [output dir]
 *
 * Everything runs in a throwaway copy of the project (test/helpers/engine.ts:
 * its own file backend, the committed local passphrase, no kubeconfig) in
 * render mode, with the TEST DOUBLE chart mirror (test/helpers/chart-mirror.ts).
 * Each fixture is `<name>.json` (pulumi's stdout) and `<name>.exit` (its exit
 * code), the layout the merge request job writes (scripts/post-preview-note.ts).
 *
 * Previews use `PULUMI_ENABLE_STREAMING_JSON_PREVIEW=true pulumi preview --json`
 * (one engine event per line): the default `--json` digest drops every policy
 * event (pkg/backend/display/json.go, ShowPreviewDigest). One digest is kept
 * so the parser's digest path is tested on real output too.
 *
 *   local-create          a new local stack: every resource created (one advisory violation:
 *                         local's Postgres has no backups, advisory in policies/config/local.json)
 *   --- `pulumi up`, then each change below is previewed against that state and undone ---
 *   local-change          the mirror's kiali-server chart gains a selector label (Deployment
 *                         replaced) and loses its Service (deleted); jaeger's goes to 2 replicas (update)
 *   local-change.digest   the same preview as the plain `--json` digest
 *   local-policy          loki's chart image is `:latest`: a mandatory container-image-pinned
 *                         violation, so the preview fails
 *   local-bad-config      platform:owner=not-an-email: the program stops before any resource
 *   --- drift (scripts/drift-report.ts) ---
 *   drift-clean           `pulumi preview --refresh=false --json` of the deployed stack: no change
 *   drift                 the same after the state was changed as a refresh would record
 *                         changes made outside code: `stack export`, the kiali Deployment's
 *                         recorded live `spec.replicas` set to 3 (outputs only, as after a
 *                         `kubectl scale`), `stack import`; and the kiali Service removed from
 *                         the state with `pulumi state delete` (as after a `kubectl delete`).
 *                         The preview then proposes the update back to 1 replica and the
 *                         Service's creation. Render mode has no live objects, so a real
 *                         refresh cannot see drift here; see drift-refresh-error.
 *   drift-refresh-error   `pulumi refresh --preview-only --json` of one resource: in render mode
 *                         the provider cannot read it and the refresh fails (the error path)
 *
 * Before writing, every fixture is checked for secrets: no copy of the local
 * passphrase, of any secret value in the stack's state (from `stack export
 * --show-secrets`, plain or base64), and every secret in the JSON masked.
 * Exits 1 (writing nothing) when a check or a pulumi step fails.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";

import { createChartMirror, workloadTemplate } from "../test/helpers/chart-mirror";
import { createEngineProject, EngineProject, PulumiResult, REPO_ROOT } from "../test/helpers/engine";
import { writeLocalStacks } from "../test/helpers/local-stacks";
import { policyArgs } from "./parallel-stacks";

const STACK = "local";
/** Pulumi's marker key on a serialized secret value (sdk/go/common/resource/sig). */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const STREAMING = { PULUMI_ENABLE_STREAMING_JSON_PREVIEW: "true" };

interface Fixture {
    name: string;
    result: PulumiResult;
}

function log(message: string): void {
    process.stderr.write(`[capture] ${message}\n`);
}

function must(result: PulumiResult, what: string): PulumiResult {
    if (result.status !== 0) {
        throw new Error(`${what} failed (exit ${result.status}):\n${result.stderr || result.stdout}`);
    }
    return result;
}

/** Replaces chart doubles' workload templates for one scenario; returns the function that restores them. */
function patchCharts(mirror: string, templates: Record<string, string>): () => void {
    const originals = Object.keys(templates).map((chart) => {
        const file = path.join(mirror, chart, "templates", "workload.yaml");
        if (!fs.existsSync(file)) {
            throw new Error(`${file} is missing: test/helpers/chart-mirror.ts no longer writes templates/workload.yaml; update this script`);
        }
        return { file, text: fs.readFileSync(file, "utf8") };
    });
    for (const [chart, text] of Object.entries(templates)) {
        fs.writeFileSync(path.join(mirror, chart, "templates", "workload.yaml"), text);
    }
    return () => originals.forEach((o) => fs.writeFileSync(o.file, o.text));
}

/** Every string in a JSON value, recursively. */
function strings(value: unknown, out: string[] = []): string[] {
    if (typeof value === "string") {
        out.push(value);
    } else if (Array.isArray(value)) {
        value.forEach((v) => strings(v, out));
    } else if (value && typeof value === "object") {
        Object.values(value).forEach((v) => strings(v, out));
    }
    return out;
}

/** The plaintext of every secret in the stack's state (`stack export --show-secrets`). */
function stateSecrets(project: EngineProject): string[] {
    const exported = JSON.parse(must(project.pulumi(["stack", "export", "--stack", STACK, "--show-secrets"]), "pulumi stack export --show-secrets").stdout) as unknown;
    const found: string[] = [];
    const walk = (value: unknown): void => {
        if (Array.isArray(value)) {
            value.forEach(walk);
        } else if (value && typeof value === "object") {
            const record = value as Record<string, unknown>;
            if (record[SECRET_SIG] !== undefined && typeof record.plaintext === "string") {
                // The plaintext is JSON: a string, or an object of credentials.
                let inner: unknown = record.plaintext;
                try {
                    inner = JSON.parse(record.plaintext);
                } catch {
                    // not JSON: the plaintext itself
                }
                found.push(...strings(inner));
            }
            Object.values(record).forEach(walk);
        }
    };
    walk(exported);
    // Short values (a fixed user name such as "admin") are not secrets of their own and occur elsewhere.
    return [...new Set(found.filter((s) => s.length >= 12))];
}

/** Problems found in one fixture: leaked values, or a secret not masked as pulumi masks it. */
function secretProblems(fixture: Fixture, secrets: string[], passphrase: string): string[] {
    const text = fixture.result.stdout + fixture.result.stderr;
    const problems: string[] = [];
    if (text.includes(passphrase)) {
        problems.push(`${fixture.name}: contains the local passphrase`);
    }
    for (const secret of secrets) {
        if (text.includes(secret) || text.includes(Buffer.from(secret).toString("base64"))) {
            problems.push(`${fixture.name}: contains a secret value of the state (${secret.length} characters)`);
        }
    }
    const values = fixture.result.stdout
        .split("\n")
        .filter((l) => l.trim().startsWith("{"))
        .flatMap((l) => {
            try {
                return [JSON.parse(l) as unknown];
            } catch {
                return [];
            }
        });
    if (values.length === 0 && fixture.result.stdout.trim() !== "") {
        values.push(JSON.parse(fixture.result.stdout) as unknown);
    }
    const walk = (value: unknown): void => {
        if (Array.isArray(value)) {
            value.forEach(walk);
        } else if (value && typeof value === "object") {
            const record = value as Record<string, unknown>;
            if (record[SECRET_SIG] !== undefined && (record.plaintext !== undefined || (record.ciphertext !== undefined && record.ciphertext !== "[secret]"))) {
                problems.push(`${fixture.name}: a secret value is not masked as "[secret]"`);
            }
            Object.values(record).forEach(walk);
        }
    };
    values.forEach(walk);
    return problems;
}

async function main(): Promise<void> {
    const outDir = path.resolve(process.argv[2] ?? path.join(REPO_ROOT, "test", "fixtures", "preview"));
    const project = createEngineProject();
    const fixtures: Fixture[] = [];
    const capture = (name: string, args: string[], env: NodeJS.ProcessEnv = {}): PulumiResult => {
        log(`${name}: pulumi ${args.join(" ")}`);
        const result = project.pulumi(args, env);
        log(`${name}: exit ${result.status}, ${result.stdout.length} characters`);
        fixtures.push({ name, result });
        return result;
    };
    try {
        const mirror = createChartMirror(path.join(project.dir, "..", "chart-mirror"));
        writeLocalStacks(project, [STACK], mirror);
        must(project.pulumi(["stack", "init", "--secrets-provider", "passphrase", STACK]), "pulumi stack init");
        const policies = policyArgs(project.dir, STACK);
        const preview = ["preview", "--json", "--stack", STACK, ...policies];

        if (capture("local-create", preview, STREAMING).status !== 0) {
            throw new Error("the preview of a new local stack failed");
        }
        log("pulumi up");
        must(await project.pulumiAsync(["up", "--yes", "--stack", STACK, ...policies]), "pulumi up");

        let restore = patchCharts(mirror, {
            "kiali-server": workloadTemplate({ extraSelector: { "app.kubernetes.io/component": "server" }, service: false }),
            jaeger: workloadTemplate({ replicas: 2 }),
        });
        capture("local-change", preview, STREAMING);
        capture("local-change.digest", preview);
        restore();

        restore = patchCharts(mirror, { loki: workloadTemplate({ tag: "latest" }) });
        capture("local-policy", preview, STREAMING);
        restore();

        project.setConfig(STACK, "platform:owner", "not-an-email");
        capture("local-bad-config", preview, STREAMING);
        project.setConfig(STACK, "platform:owner", "platform-team@example.com");

        const driftPreview = ["preview", "--refresh=false", "--json", "--stack", STACK];
        if (capture("drift-clean", driftPreview).status !== 0) {
            throw new Error("the drift preview of the deployed stack failed");
        }
        const stateFile = path.join(project.dir, "..", "state-export.json");
        must(project.pulumi(["stack", "export", "--stack", STACK, "--file", stateFile]), "pulumi stack export");
        const state = JSON.parse(fs.readFileSync(stateFile, "utf8")) as {
            deployment: { resources: { urn: string; outputs?: { spec?: { replicas?: number } } }[] };
        };
        const find = (suffix: string) => {
            const r = state.deployment.resources.find((x) => x.urn.endsWith(suffix));
            if (!r) {
                throw new Error(`no resource ending in ${suffix} in the state`);
            }
            return r;
        };
        const deployment = find("$kubernetes:apps/v1:Deployment::observability-kiali:observability/kiali-server");
        if (deployment.outputs?.spec?.replicas !== 1) {
            throw new Error(`the kiali Deployment's recorded spec.replicas is ${deployment.outputs?.spec?.replicas}, expected 1`);
        }
        deployment.outputs.spec.replicas = 3;
        fs.writeFileSync(stateFile, JSON.stringify(state, null, 4));
        must(project.pulumi(["stack", "import", "--stack", STACK, "--file", stateFile]), "pulumi stack import");
        const service = find("$kubernetes:core/v1:Service::observability-kiali:observability/kiali-server");
        must(project.pulumi(["state", "delete", "--stack", STACK, "--yes", service.urn]), "pulumi state delete");
        capture("drift", driftPreview);
        capture("drift-refresh-error", ["refresh", "--preview-only", "--json", "--stack", STACK, "--target", deployment.urn]);

        const secrets = stateSecrets(project);
        const passphrase = fs.readFileSync(path.join(REPO_ROOT, "stacks", "local.passphrase"), "utf8").trim();
        const problems = fixtures.flatMap((f) => secretProblems(f, secrets, passphrase));
        const masked = fixtures.reduce((n, f) => n + f.result.stdout.split('"[secret]"').length - 1, 0);
        if (masked === 0) {
            problems.push('no fixture shows a masked secret ("[secret]"): the secrets check would prove nothing');
        }
        if (problems.length > 0) {
            throw new Error(`secrets check failed, nothing written:\n  ${problems.join("\n  ")}`);
        }
        log(
            `secrets check: the passphrase and the ${secrets.length} secret value(s) of 12+ characters in the state appear in no fixture; ` +
                `${masked} secret(s) shown as "[secret]", none unmasked`,
        );

        fs.mkdirSync(outDir, { recursive: true });
        for (const f of fixtures) {
            // The streaming form runs to megabytes: kept gzipped (the tests read both).
            const large = f.result.stdout.length > 256 * 1024;
            fs.rmSync(path.join(outDir, `${f.name}.json${large ? "" : ".gz"}`), { force: true });
            fs.writeFileSync(path.join(outDir, `${f.name}.json${large ? ".gz" : ""}`), large ? zlib.gzipSync(f.result.stdout, { level: 9 }) : f.result.stdout);
            fs.writeFileSync(path.join(outDir, `${f.name}.exit`), `${f.result.status}\n`);
            const stderr = path.join(outDir, `${f.name}.stderr`);
            if (f.result.stderr.trim() !== "") {
                fs.writeFileSync(stderr, f.result.stderr);
            } else {
                fs.rmSync(stderr, { force: true });
            }
        }
        log(`wrote ${fixtures.length} fixture(s) to ${path.relative(process.cwd(), outDir) || "."}`);
    } finally {
        project.cleanup();
    }
}

main().catch((e: unknown) => {
    log((e as Error).message);
    process.exit(1);
});
