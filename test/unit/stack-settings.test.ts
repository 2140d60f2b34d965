import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";

import {
    backendEnv,
    backendUrlFor,
    backendVariables,
    fileBackendUrl,
    isLocalTemplate,
    readStackFile,
    SECRETS_SCHEMES,
    secretsProviderFor,
    stackBackendVariable,
    stackEnv,
    stackSettings,
    StackSettingsError,
} from "../../scripts/stack-settings";
import { REPO_ROOT } from "../helpers/engine";

const stackFiles = fs
    .readdirSync(path.join(REPO_ROOT, "stacks"))
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined);

/** What `pulumi` would use: a DIY backend's default is the passphrase provider, so no secretsprovider means passphrase. */
function usesPassphrase(stack: string): boolean {
    const file = readStackFile(REPO_ROOT, stack) ?? {};
    return !file.secretsprovider || file.secretsprovider === "passphrase" || file.secretsprovider === "default" || !!file.encryptionsalt;
}

describe("secrets providers of the committed stacks", () => {
    it("has stack files for local, dev, staging and prod", () => {
        expect(stackFiles).toEqual(expect.arrayContaining(["local", "dev", "staging", "prod"]));
    });

    it("configures no stack but local with the passphrase provider", () => {
        expect(stackFiles.filter(usesPassphrase)).toEqual(["local"]);
    });

    it("has one stack of the local template, the one the passphrase rule lets through", () => {
        expect(stackFiles.filter((s) => isLocalTemplate(s, readStackFile(REPO_ROOT, s)))).toEqual(["local"]);
    });

    it("gives local its committed salt, matching the committed passphrase file", () => {
        expect(readStackFile(REPO_ROOT, "local")?.encryptionsalt).toMatch(/^v1:/);
        expect(fs.readFileSync(path.join(REPO_ROOT, "stacks", "local.passphrase"), "utf8").trim()).not.toBe("");
    });

    it.each(stackFiles.filter((s) => s !== "local"))("gives %s a key of its own cloud (or Vault transit)", (stack) => {
        const file = parse(fs.readFileSync(path.join(REPO_ROOT, "stacks", `Pulumi.${stack}.yaml`), "utf8")) as {
            secretsprovider: string;
            config: Record<string, string>;
        };
        const provider = secretsProviderFor(stack, file, {});
        const cloud = file.config["platform:cloud"];
        // gocloud.dev's URL forms: azurekeyvault://<vault>.vault.azure.net/keys/<key>, awskms://<key id or alias>?region=, hashivault://<transit key>.
        const ownCloud = cloud === "azure" ? /^azurekeyvault:\/\/[a-z0-9-]{3,24}\.vault\.azure\.net\/keys\/[A-Za-z0-9-]+$/ : /^awskms:\/\/.+\?region=[a-z0-9-]+$/;
        expect(ownCloud.test(provider) || /^hashivault:\/\/[A-Za-z0-9_-]+$/.test(provider), provider).toBe(true);
        // One key per stack: a leaked key must not open another environment's secrets.
        expect(provider).toContain(stack);
    });
});

describe("stack settings", () => {
    const repo = "/repo";

    it("keeps local in the repository's file backend unless PLATFORM_LOCAL_BACKEND_URL says otherwise", () => {
        expect(backendUrlFor("local", true, repo, {})).toBe("file:///repo/.pulumi-state?metadata=skip&no_tmp_dir=true");
        expect(backendUrlFor("local", true, repo, { PLATFORM_LOCAL_BACKEND_URL: "file:///tmp/s", PLATFORM_STATE_BACKEND_URL: "azblob://team" })).toBe("file:///tmp/s");
    });

    it("puts every other stack in the team backend, with a per-stack override", () => {
        const env = { PLATFORM_STATE_BACKEND_URL: "azblob://pulumi-state", PLATFORM_STATE_BACKEND_URL_PROD: "azblob://pulumi-state-prod" };
        expect(backendUrlFor("dev", false, repo, env)).toBe("azblob://pulumi-state");
        expect(backendUrlFor("prod", false, repo, env)).toBe("azblob://pulumi-state-prod");
        expect(backendUrlFor("review-42", false, repo, { PLATFORM_STATE_BACKEND_URL: "s3://state?region=eu-west-1" })).toBe("s3://state?region=eu-west-1");
        expect(stackBackendVariable("review-42")).toBe("PLATFORM_STATE_BACKEND_URL_REVIEW_42");
    });

    it("names the variable when the team backend is not set, and refuses other backends", () => {
        expect(() => backendUrlFor("dev", false, repo, {})).toThrow(/stack dev keeps its state in the team backend: set PLATFORM_STATE_BACKEND_URL/);
        expect(() => backendUrlFor("dev", false, repo, { PLATFORM_STATE_BACKEND_URL: "https://api.pulumi.com" })).toThrow(/is not one of file:\/\/, azblob:\/\/, s3:\/\//);
    });

    it("refuses the passphrase provider outside local and names what to set", () => {
        expect(secretsProviderFor("local", undefined, {})).toBe("passphrase");
        // Throwaway copies of the local template (tests, benchmarks) keep its provider.
        expect(secretsProviderFor("local-2", { config: { "platform:template": "local" } }, {})).toBe("passphrase");
        expect(() => secretsProviderFor("local-2", { config: { "platform:template": "dev" } }, {})).toThrow(/has no secrets provider/);
        const dev = { config: { "platform:template": "dev" } };
        expect(() => secretsProviderFor("dev", dev, {})).toThrow(/stack dev has no secrets provider: add "secretsprovider: azurekeyvault:/);
        expect(() => secretsProviderFor("dev", { ...dev, encryptionsalt: "v1:abc" }, {})).toThrow(/encryptionsalt.*only the local template may/);
        expect(() => secretsProviderFor("review-1", undefined, { PLATFORM_SECRETS_PROVIDER: "passphrase" })).toThrow(/only the local template uses the passphrase provider/);
        expect(secretsProviderFor("review-1", undefined, { PLATFORM_SECRETS_PROVIDER: "hashivault://pulumi-review" })).toBe("hashivault://pulumi-review");
        for (const scheme of SECRETS_SCHEMES) {
            expect(secretsProviderFor("x", { ...dev, secretsprovider: `${scheme}://k` }, {})).toBe(`${scheme}://k`);
        }
    });

    it("is what ./platform uses", () => {
        // The command ./platform hands over to, without the toolchain setup in front of it
        // (toolchain/ensure.sh builds or waits for the Pulumi toolchain, then pnpm install):
        // a unit test does no such work. test/unit/platform-cli.test.ts runs the front door itself.
        const backend = (env: NodeJS.ProcessEnv) =>
            spawnSync(process.execPath, ["--import", "tsx", path.join(REPO_ROOT, "scripts", "cli", "main.ts"), "backend", "dev"], { encoding: "utf8", cwd: REPO_ROOT, env });
        const env: NodeJS.ProcessEnv = { ...process.env, PLATFORM_STATE_BACKEND_URL: "azblob://pulumi-state" };
        delete env.PLATFORM_STATE_BACKEND_URL_DEV;
        const ok = backend(env);
        expect(ok.status, ok.stderr).toBe(0);
        expect(ok.stdout).toBe("azblob://pulumi-state\n");
        delete env.PLATFORM_STATE_BACKEND_URL;
        const missing = backend(env);
        expect(missing.status).toBe(2);
        expect(missing.stderr).toContain("set PLATFORM_STATE_BACKEND_URL");
    });
});

describe("the state format of a backend", () => {
    it("compresses a team backend's checkpoints and keeps the file backend's plain JSON", () => {
        expect(backendVariables("azblob://pulumi-state")).toEqual({ PULUMI_BACKEND_URL: "azblob://pulumi-state", PULUMI_DIY_BACKEND_ZSTD: "true" });
        expect(backendVariables("s3://state?region=eu-west-1").PULUMI_DIY_BACKEND_ZSTD).toBe("true");
        expect(backendVariables(fileBackendUrl("/tmp/x")).PULUMI_DIY_BACKEND_ZSTD).toBe("false");
    });

    it("takes the format from the backend, not from a shell that last set up another stack", () => {
        const shell = { PATH: "/bin", PULUMI_DIY_BACKEND_ZSTD: "true", PULUMI_BACKEND_URL: "azblob://pulumi-state" };
        expect(backendEnv(fileBackendUrl("/tmp/x"), shell)).toEqual({ PATH: "/bin", PULUMI_BACKEND_URL: fileBackendUrl("/tmp/x"), PULUMI_DIY_BACKEND_ZSTD: "false" });
        expect(stackEnv({ stack: "dev", backendUrl: "s3://state", secretsProvider: "awskms://alias/x" }, { PULUMI_DIY_BACKEND_ZSTD: "false" }).PULUMI_DIY_BACKEND_ZSTD).toBe("true");
    });

    it("is what ./platform env prints for a team stack and for local", () => {
        const env = (stack: string) =>
            spawnSync(process.execPath, ["--import", "tsx", path.join(REPO_ROOT, "scripts", "cli", "main.ts"), "env", stack], {
                encoding: "utf8",
                cwd: REPO_ROOT,
                env: { ...process.env, PLATFORM_STATE_BACKEND_URL: "azblob://pulumi-state", PLATFORM_STATE_BACKEND_URL_DEV: "" },
            });
        const dev = env("dev");
        expect(dev.status, dev.stderr).toBe(0);
        expect(dev.stdout).toContain('export PULUMI_BACKEND_URL="azblob://pulumi-state"\nexport PULUMI_DIY_BACKEND_ZSTD="true"\n');
        const local = env("local");
        expect(local.status, local.stderr).toBe(0);
        expect(local.stdout).toMatch(/export PULUMI_BACKEND_URL="file:\/\/.*"\nexport PULUMI_DIY_BACKEND_ZSTD="false"\n/);
    });
});

/** A project with only stack files: `name` → the file's text. */
function projectWith(files: Record<string, string>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-settings-"));
    fs.mkdirSync(path.join(dir, "stacks"));
    for (const [stack, text] of Object.entries(files)) {
        fs.writeFileSync(path.join(dir, "stacks", `Pulumi.${stack}.yaml`), text);
    }
    return dir;
}

describe("stack settings by the stack file's template, not the stack's name", () => {
    const dir = projectWith({
        "prod-eu": "secretsprovider: azurekeyvault://kv-prod-eu.vault.azure.net/keys/pulumi-prod-eu\nconfig:\n  platform:template: prod\n",
        "dev-x": "secretsprovider: awskms://alias/pulumi-dev-x?region=eu-west-1\nconfig:\n  platform:template: dev\n",
        "staging-2": "secretsprovider: hashivault://pulumi-staging-2\nconfig:\n  platform:template: staging\n",
        "local-copy": "config:\n  platform:template: local\n",
        "qa": "secretsprovider: hashivault://pulumi-qa\nconfig:\n  platform:template: qa\n",
        empty: "",
        "no-template": "secretsprovider: hashivault://pulumi-x\nconfig:\n  platform:description: forgot the template\n",
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
    const team = { PLATFORM_STATE_BACKEND_URL: "azblob://pulumi-state", PLATFORM_STATE_BACKEND_URL_PROD_EU: "azblob://pulumi-state-prod-eu" };

    it("gives prod-eu, dev-x and staging-2 their template's backend rule (the team backend) and their own key", () => {
        expect(stackSettings("prod-eu", dir, team)).toEqual({
            stack: "prod-eu",
            backendUrl: "azblob://pulumi-state-prod-eu",
            secretsProvider: "azurekeyvault://kv-prod-eu.vault.azure.net/keys/pulumi-prod-eu",
        });
        expect(stackSettings("dev-x", dir, team).backendUrl).toBe("azblob://pulumi-state");
        expect(stackSettings("staging-2", dir, team).secretsProvider).toBe("hashivault://pulumi-staging-2");
        // A copy of the local template keeps the repository's backend, whatever its name.
        expect(stackSettings("local-copy", dir, team).backendUrl).toBe(`file://${dir}/.pulumi-state?metadata=skip&no_tmp_dir=true`);
    });

    it("refuses an unknown template, naming the file, the key and the allowed values (not the team backend)", () => {
        const error = () => stackSettings("qa", dir, {});
        expect(error).toThrow(StackSettingsError);
        expect(error).toThrow('stacks/Pulumi.qa.yaml: platform:template: "qa" is not a template; allowed: local, review, dev, staging, prod');
        expect(error).not.toThrow(/team backend/);
    });

    it("refuses an empty stack file, or one without platform:template, naming the file", () => {
        expect(() => stackSettings("empty", dir, {})).toThrow(/^stacks\/Pulumi\.empty\.yaml: platform:template is missing \(the file is empty\)/);
        expect(() => stackSettings("no-template", dir, team)).toThrow(/^stacks\/Pulumi\.no-template\.yaml: platform:template is missing: set the stack.s template; allowed: local, review/);
        // `local` with an empty file is not "local in the team backend".
        const local = projectWith({ local: "" });
        expect(() => stackSettings("local", local, {})).toThrow(/^stacks\/Pulumi\.local\.yaml: platform:template is missing/);
        fs.rmSync(local, { recursive: true, force: true });
    });

    it("keeps the rules for stacks without a stack file: local in the repository, any other in the team backend", () => {
        expect(stackSettings("local", dir, {}).backendUrl).toBe(`file://${dir}/.pulumi-state?metadata=skip&no_tmp_dir=true`);
        expect(stackSettings("review-9", dir, { ...team, PLATFORM_SECRETS_PROVIDER: "hashivault://pulumi-review" }).backendUrl).toBe("azblob://pulumi-state");
        expect(() => stackSettings("sandbox", dir, {})).toThrow(/stack sandbox keeps its state in the team backend/);
    });

    it("prints the clear error from its command line, exit 2", () => {
        const run = spawnSync(process.execPath, ["--import", "tsx", path.join(REPO_ROOT, "scripts", "stack-settings.ts"), "qa", dir], { encoding: "utf8", cwd: REPO_ROOT });
        expect(run.status).toBe(2);
        expect(run.stderr).toBe('[platform] stacks/Pulumi.qa.yaml: platform:template: "qa" is not a template; allowed: local, review, dev, staging, prod\n');
    });

    it("names a stack file that is not valid YAML, its line and the parser's reason, without a stack trace", () => {
        const broken = projectWith({ "dev-tabs": "secretsprovider: hashivault://pulumi-x\nconfig:\n  platform:template: dev\n\tplatform:owner: a@example.com\n" });
        const message = "stacks/Pulumi.dev-tabs.yaml: tabs are not allowed as indentation at line 4";
        expect(() => stackSettings("dev-tabs", broken, team)).toThrow(new StackSettingsError(message));
        const run = spawnSync(process.execPath, ["--import", "tsx", path.join(REPO_ROOT, "scripts", "stack-settings.ts"), "dev-tabs", broken], { encoding: "utf8", cwd: REPO_ROOT });
        expect(run.status).toBe(2);
        expect(run.stderr).toBe(`[platform] ${message}\n`);
        fs.rmSync(broken, { recursive: true, force: true });
    });

    it("reads a template written as YAML would type it, as Pulumi does", () => {
        const typed = projectWith({ "prod-2": "secretsprovider: hashivault://pulumi-prod-2\nconfig:\n  platform:template: \"prod\"\n  platform:protect: true\n  platform:nodeMin: 3\n" });
        expect(stackSettings("prod-2", typed, team).secretsProvider).toBe("hashivault://pulumi-prod-2");
        fs.rmSync(typed, { recursive: true, force: true });
    });
});
