/**
 * `./platform` itself, run by bash in a throwaway copy of the repository
 * root: a fake toolchain (toolchain/ensure.sh only records that setup ran and
 * puts a fake `pulumi` first on PATH), the real scripts/ and tsx linked in.
 * No toolchain, no state, no cluster.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { runCommand } from "../../scripts/stack-lifecycle";
import { REPO_ROOT } from "../helpers/engine";
import { fakePulumiCalls, writeFakePulumi } from "../helpers/fake-pulumi";

/** For the commands that start tsx (stack settings, policy arguments, events): seconds each on a busy machine. */
const TSX = { timeout: 180_000 };

let root: string;
let pulumiLog: string;
let setupLog: string;

beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "platform-cli-"));
    fs.copyFileSync(path.join(REPO_ROOT, "platform"), path.join(root, "platform"));
    const bin = path.join(root, "bin");
    writeFakePulumi(bin);
    fs.writeFileSync(path.join(bin, "pnpm"), "#!/usr/bin/env bash\nexit 0\n", { mode: 0o755 });
    fs.mkdirSync(path.join(root, "toolchain"));
    fs.writeFileSync(
        path.join(root, "toolchain", "ensure.sh"),
        `#!/usr/bin/env bash\necho setup >>"$FAKE_SETUP_LOG"\nprintf 'export PATH="%s:%s"\\n' ${JSON.stringify(bin)} "$PATH"\n`,
        { mode: 0o755 },
    );
    for (const file of ["pnpm-lock.yaml", "package.json", "policies/package.json"]) {
        fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
        fs.writeFileSync(path.join(root, file), "{}\n");
    }
    // The copy's own node_modules (setup writes its install stamp there), with tsx from the repository.
    fs.mkdirSync(path.join(root, "node_modules"));
    fs.symlinkSync(fs.realpathSync(path.join(REPO_ROOT, "node_modules", "tsx")), path.join(root, "node_modules", "tsx"));
    fs.symlinkSync(path.join(REPO_ROOT, "scripts"), path.join(root, "scripts"));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

beforeEach(() => {
    pulumiLog = path.join(root, `pulumi-${Math.random().toString(36).slice(2)}.log`);
    setupLog = path.join(root, `setup-${Math.random().toString(36).slice(2)}.log`);
});

/** Runs a command of the copy; async, as the tsx starts behind some take seconds on a loaded machine. */
async function platform(args: string[], env: NodeJS.ProcessEnv = {}) {
    const result = await runCommand("bash", [path.join(root, "platform"), ...args], {
        cwd: root,
        env: {
            PATH: process.env.PATH,
            HOME: process.env.HOME,
            FAKE_PULUMI_LOG: pulumiLog,
            FAKE_SETUP_LOG: setupLog,
            KUBECONFIG: path.join(root, "no-kubeconfig"),
            ...env,
        },
    });
    return {
        status: result.status,
        stdout: result.stdout,
        stderr: result.stderr,
        setupRan: fs.existsSync(setupLog),
        calls: fakePulumiCalls(pulumiLog).map((c) => c.args),
        log: fakePulumiCalls(pulumiLog),
    };
}

describe("./platform pulumi", () => {
    it.each([
        [["up", "--stack", "x"], "pulumi up", "./platform up x"],
        // cobra skips the value of -s (here "state") when it looks for the command: this is `state delete`.
        [["-s", "state", "-e", "state", "delete"], "pulumi state delete", "./platform up state"],
        // Every case: test/unit/pulumi-guard.test.ts, in-process.
    ])("refuses %j, naming %s and %s", TSX, async (args, command, instead) => {
        const run = await platform(["pulumi", ...args]);
        expect(run.status, run.stderr).toBe(2);
        // The first command of the copy installs its (fake) dependencies first.
        const lines = run.stderr
            .trimEnd()
            .split("\n")
            .filter((line) => !line.startsWith("[platform] installing dependencies"));
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(new RegExp(`^\\[platform\\] refused: ${command} `));
        expect(lines[0]).toContain(instead);
        expect(run.calls).toEqual([]);
    });

    it.each([
        [["config", "set", "platform:owner", "up"]],
        [["refresh", "--yes", "--preview-only", "--json"]],
        [["--color", "up", "version"]],
    ])("passes %j through to pulumi after setup", TSX, async (args) => {
        const run = await platform(["pulumi", ...args]);
        expect(run.status, run.stderr).toBe(0);
        expect(run.setupRan).toBe(true);
        expect(run.calls).toEqual([args.join(" ")]);
    });

    it("gives a named stack its backend before passing the command through", TSX, async () => {
        const run = await platform(["pulumi", "config", "refresh", "--stack", "local", "--force"]);
        expect(run.status, run.stderr).toBe(0);
        expect(run.calls).toEqual(["config refresh --stack local --force"]);
    });
});

describe("./platform refresh", TSX, () => {
    it("refreshes an existing stack with the flags given", async () => {
        const run = await platform(["refresh", "local", "--yes", "--clear-pending-creates"], { FAKE_PULUMI_STACKS: "local" });
        expect(run.status, run.stderr).toBe(0);
        expect(run.calls).toEqual(["stack select local", "refresh --stack local --yes --clear-pending-creates"]);
    });

    it("never creates a missing stack, naming the backend", async () => {
        const run = await platform(["refresh", "local", "--yes"], { PLATFORM_LOCAL_BACKEND_URL: "file:///nowhere/state" });
        expect(run.status).toBe(2);
        expect(run.stderr).toContain("stack local does not exist in file:///nowhere/state");
        expect(run.calls).toEqual(["stack select local"]);
    });

    it("needs a stack", async () => {
        const run = await platform(["refresh", "--yes"]);
        expect(run.status).toBe(2);
        expect(run.stderr).toContain("usage: ./platform refresh <stack>");
        expect(run.calls).toEqual([]);
    });
});

describe("./platform preview and up", TSX, () => {
    const shared = { PLATFORM_STATE_BACKEND_URL: "s3://test-bucket", PLATFORM_SECRETS_PROVIDER: "hashivault://pulumi-review" };

    it("a preview never creates a shared stack", async () => {
        const run = await platform(["preview", "dev"], shared);
        expect(run.status).toBe(2);
        expect(run.stderr).toContain("stack dev does not exist in s3://test-bucket");
        expect(run.calls).toEqual(["stack select dev"]);
    });

    it("a preview creates a review stack with its secrets provider, and runs with the policy pack", async () => {
        const run = await platform(["preview", "review-9", "--diff"], shared);
        expect(run.status, run.stderr).toBe(0);
        expect(run.calls).toEqual([
            "stack select review-9",
            "stack init --secrets-provider hashivault://pulumi-review review-9",
            `preview --stack review-9 --policy-pack ${REPO_ROOT}/policies --policy-pack-config ${REPO_ROOT}/policies/config/review.json --diff`,
        ]);
    });

    it("an up publishes its change event, and a failed publish only warns", async () => {
        const run = await platform(["up", "review-9"], {
            ...shared,
            FAKE_PULUMI_STACKS: "review-9",
            FAKE_PULUMI_HISTORY: JSON.stringify([{ kind: "update", result: "succeeded" }]),
            // Not a record: publish-event.ts fails at once, before any broker is contacted.
            FAKE_PULUMI_RECORD: "not json",
            PLATFORM_EVENTS_URL: "amqp://127.0.0.1:9/",
        });
        expect(run.status, run.stderr).toBe(0);
        // A render (no cluster answers here) keeps no per-step checkpoints.
        expect(run.log).toContainEqual({
            args: `up --stack review-9 --yes --policy-pack ${REPO_ROOT}/policies --policy-pack-config ${REPO_ROOT}/policies/config/review.json`,
            skipCheckpoints: true,
        });
        expect(run.calls).toContain("stack history --stack review-9 --json --non-interactive");
        expect(run.calls).toContain("stack output --stack review-9 --json environment --non-interactive");
        expect(run.stderr).toContain("[platform] warning: the change event of review-9 (environment.created) was not published");
    });
});

describe("./platform help", TSX, () => {
    it("lists every command with its summary, and the state and mirror notes", async () => {
        const run = await platform(["help"]);
        expect(run.status, run.stderr).toBe(0);
        for (const command of ["up", "preview", "refresh", "stacks", "destroy", "pulumi", "test", "test-cluster", "env", "backend", "catalog", "mirror", "ci-jobs"]) {
            expect(run.stdout).toMatch(new RegExp(`^  ${command}\\b`, "m"));
        }
        expect(run.stdout).toContain('Helm chart at a mirror (README "Charts and mirrors").');
        expect(run.calls).toEqual([]);
    });

    it("shows one command's usage", async () => {
        const run = await platform(["help", "destroy"]);
        expect(run.status, run.stderr).toBe(0);
        expect(run.stdout).toContain("Usage: ./platform destroy [options] <stack>");
        expect(run.stdout).toContain("--unprotect");
    });

    it("refuses an unknown command or option with exit 2, naming it", async () => {
        const unknown = await platform(["deploy", "local"]);
        expect(unknown.status).toBe(2);
        expect(unknown.stderr).toContain("unknown command 'deploy'");
        const option = await platform(["destroy", "review-1", "--force"]);
        expect(option.status).toBe(2);
        expect(option.stderr).toContain("unknown option '--force'");
        const workers = await platform(["stacks", "preview", "a", "--workers", "0"]);
        expect(workers.status).toBe(2);
        expect(workers.stderr).toContain('must be a whole number of at least 1 (got "0")');
        expect(workers.calls).toEqual([]);
    });
});
