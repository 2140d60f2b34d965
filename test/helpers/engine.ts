/**
 * Runs the real Pulumi CLI against a throwaway copy of the project, with its
 * own file backend and render directory, so the repository's stack files and
 * state are never touched.
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { backendVariables, fileBackendUrl } from "../../scripts/stack-settings";

export const REPO_ROOT = path.resolve(__dirname, "../..");

/** What a project copy needs; node_modules is linked, not copied. */
const PROJECT_ENTRIES = ["Pulumi.yaml", "package.json", "tsconfig.json", "tsconfig.base.json", "index.ts", "components", "environments", "stacks"];

export interface PulumiResult {
    status: number;
    stdout: string;
    stderr: string;
}

export interface EngineProject {
    dir: string;
    backendDir: string;
    renderDir: string;
    env: NodeJS.ProcessEnv;
    pulumi(args: string[], extraEnv?: NodeJS.ProcessEnv): PulumiResult;
    /**
     * The same, without blocking the test worker: use it for anything long
     * (`up`, `destroy`); a worker blocked for a minute loses its RPC with vitest.
     */
    pulumiAsync(args: string[], extraEnv?: NodeJS.ProcessEnv): Promise<PulumiResult>;
    /** Sets stack config in the copy's stack file. */
    setConfig(stack: string, key: string, value: string): void;
    cleanup(): void;
}

/** Fails with a clear message when the toolchain is not set up (run tests through ./platform test). */
export function requirePulumi(): void {
    const result = spawnSync("pulumi", ["version"], { encoding: "utf8" });
    if (result.status !== 0) {
        throw new Error("the pulumi CLI is not on PATH: run the tests with ./platform test (it builds the toolchain)");
    }
}

export interface EngineProjectOptions {
    /** Copy the policy pack too. Default: true. */
    withPolicies?: boolean;
    /** Run pulumi in this folder of the copy (a test program under test/fixtures). Default: the project root. */
    programDir?: string;
    /** State backend URL instead of the copy's own file backend (e.g. `azblob://` on an emulator). Default: `file://<backendDir>`. */
    backendUrl?: string;
    /** Extra environment for every pulumi run (a storage account's credentials, say). Default: none. */
    env?: NodeJS.ProcessEnv;
}

export function createEngineProject(options: EngineProjectOptions = {}): EngineProject {
    requirePulumi();
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "platform-engine-"));
    const dir = path.join(root, "project");
    fs.mkdirSync(dir);
    for (const entry of PROJECT_ENTRIES) {
        fs.cpSync(path.join(REPO_ROOT, entry), path.join(dir, entry), { recursive: true });
    }
    fs.symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(dir, "node_modules"));
    if (options.withPolicies ?? true) {
        fs.cpSync(path.join(REPO_ROOT, "policies"), path.join(dir, "policies"), {
            recursive: true,
            filter: (src) => !src.includes(`${path.sep}node_modules`),
        });
        fs.symlinkSync(path.join(REPO_ROOT, "policies", "node_modules"), path.join(dir, "policies", "node_modules"));
    }
    if (options.programDir) {
        fs.cpSync(path.join(REPO_ROOT, "test", "fixtures"), path.join(dir, "test", "fixtures"), { recursive: true });
    }
    const cwd = path.join(dir, options.programDir ?? ".");
    const backendDir = path.join(root, "state");
    const renderDir = path.join(root, "rendered");
    fs.mkdirSync(backendDir);
    const env: NodeJS.ProcessEnv = {
        ...process.env,
        // A team backend's URL gets its settings too (compressed state), as ./platform gives them.
        ...backendVariables(options.backendUrl ?? fileBackendUrl(backendDir)),
        // The local stack's committed passphrase matches its committed salt.
        PULUMI_CONFIG_PASSPHRASE_FILE: path.join(REPO_ROOT, "stacks", "local.passphrase"),
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        // No cluster: `auto` renders, and a render keeps no per-step checkpoints,
        // as ./platform up does (scripts/delivery-mode.ts). A test that gives a
        // KUBECONFIG applies, with checkpoints.
        KUBECONFIG: path.join(root, "no-kubeconfig"),
        ...(options.env?.KUBECONFIG ? {} : { PULUMI_SKIP_CHECKPOINTS: "true" }),
        NO_COLOR: "1",
    };
    // An empty PULUMI_CONFIG_PASSPHRASE would win over the file.
    delete env.PULUMI_CONFIG_PASSPHRASE;
    Object.assign(env, options.env);
    const pulumi = (args: string[], extraEnv: NodeJS.ProcessEnv = {}): PulumiResult => {
        const result = spawnSync("pulumi", [...args, "--non-interactive", "--color", "never"], {
            cwd,
            env: { ...env, ...extraEnv },
            encoding: "utf8",
            maxBuffer: 64 * 1024 * 1024,
        });
        return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
    };
    const pulumiAsync = (args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<PulumiResult> =>
        runAsync("pulumi", [...args, "--non-interactive", "--color", "never"], { cwd, env: { ...env, ...extraEnv } });
    return {
        dir,
        backendDir,
        renderDir,
        env,
        pulumi,
        pulumiAsync,
        setConfig(stack, key, value) {
            const r = pulumi(["config", "set", "--stack", stack, key, value]);
            if (r.status !== 0) {
                throw new Error(`pulumi config set ${key} failed: ${r.stderr}`);
            }
        },
        cleanup() {
            fs.rmSync(root, { recursive: true, force: true });
        },
    };
}

/** Every YAML file below a directory, relative path → contents. */
/** Runs a command to completion without blocking the event loop. */
export function runAsync(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; input?: string }): Promise<PulumiResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ["pipe", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
        child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
        child.on("error", reject);
        child.on("close", (code) => resolve({ status: code ?? -1, stdout, stderr }));
        child.stdin.end(options.input ?? "");
    });
}

export function readTree(dir: string): Map<string, string> {
    const files = new Map<string, string>();
    const walk = (d: string) => {
        for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
            const p = path.join(d, entry.name);
            if (entry.isDirectory()) {
                walk(p);
            } else {
                files.set(path.relative(dir, p), fs.readFileSync(p, "utf8"));
            }
        }
    };
    if (fs.existsSync(dir)) {
        walk(dir);
    }
    return files;
}
