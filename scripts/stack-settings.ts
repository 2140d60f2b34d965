/**
 * Where a stack keeps its state and which secrets provider encrypts it (README
 * "State and secrets"). One place for both rules: `./platform` reads them
 * through this file's command line, `./platform stacks` imports them.
 *
 *   local template   (`local`, and throwaway copies of it) file backend in the
 *                    repository (PLATFORM_LOCAL_BACKEND_URL overrides), passphrase
 *                    provider: committed salt and passphrase, development secrets only
 *   every other      the team backend: PLATFORM_STATE_BACKEND_URL_<STACK>, else
 *                    PLATFORM_STATE_BACKEND_URL (azblob:// or s3://); the secrets
 *                    provider named by `secretsprovider:` in its stack file, else
 *                    PLATFORM_SECRETS_PROVIDER; never the passphrase provider
 *
 * Which rule a stack gets is its template's (environments/template-registry.ts,
 * `stateBackend`), from its stack file's platform:template, never from its
 * name; a stack file that names no known template is refused, naming the file.
 *
 * Usage: stack-settings.ts <stack> [project dir]  prints the backend URL and
 * the secrets provider, one per line, or names what is missing and exits 2.
 */
import * as path from "node:path";

import { backendEnv } from "../environments/state-backend";
import * as stackFiles from "../environments/stack-file";
import { EnvironmentTemplate, stackFilePath, StackTemplateError, templateInStackFile, templateWithoutStackFile, TEMPLATES } from "../environments/template-registry";

export type StackFile = stackFiles.StackFile;
// The state format of a backend lives beside the catalog, which needs it in a project copy without scripts/.
export { backendEnv, backendVariables } from "../environments/state-backend";

/** Self-managed backends whose locking the pinned CLI always uses (pkg/backend/diy/lock.go). */
export const BACKEND_SCHEMES = ["file", "azblob", "s3"] as const;
/** Cloud secrets providers for every stack but local. */
export const SECRETS_SCHEMES = ["azurekeyvault", "awskms", "hashivault"] as const;

export interface StackSettings {
    stack: string;
    backendUrl: string;
    /** `passphrase` (local only) or a provider URL. */
    secretsProvider: string;
}

export class StackSettingsError extends Error {}

/** The per-stack variable that overrides PLATFORM_STATE_BACKEND_URL: `review-12` → PLATFORM_STATE_BACKEND_URL_REVIEW_12. */
export function stackBackendVariable(stack: string): string {
    return `PLATFORM_STATE_BACKEND_URL_${stack.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;
}

/**
 * The template of `stack`: its stack file's platform:template, or without a
 * file the registry's rule (`local`, a merge request's `review-<id>`;
 * undefined for any other). A file that names no known template is a
 * StackSettingsError naming the file.
 */
export function stackTemplate(stack: string, stackFile: StackFile | undefined): EnvironmentTemplate | undefined {
    if (!stackFile) {
        return templateWithoutStackFile(stack);
    }
    try {
        return templateInStackFile(stackFile, stackFilePath(stack));
    } catch (e) {
        throw e instanceof StackTemplateError ? new StackSettingsError(e.message) : e;
    }
}

/** A stack of a template that keeps its state in the repository (local): the file backend and the passphrase provider. */
export function isLocalTemplate(stack: string, stackFile: StackFile | undefined): boolean {
    const template = stackTemplate(stack, stackFile);
    return template !== undefined && TEMPLATES[template].stateBackend === "repository";
}

/**
 * A stack file's secrets settings; undefined when the stack has no file yet.
 * A file that is not valid YAML is a StackSettingsError naming the file and the line.
 */
export function readStackFile(projectDir: string, stack: string): StackFile | undefined {
    try {
        return stackFiles.readStackFile(projectDir, stack);
    } catch (e) {
        throw e instanceof stackFiles.StackFileError ? new StackSettingsError(e.message) : e;
    }
}

/**
 * A `file://` state backend in `dir`, crash-safe: gocloud's fileblob writes
 * a checkpoint to a temporary file and renames it into place, but by default
 * it also rewrites an `.attrs` sidecar in place, and a run killed during that
 * write leaves the stack unreadable ("failed to load checkpoint: EOF").
 * `metadata=skip` writes no sidecar; `no_tmp_dir` keeps the temporary file on
 * the same filesystem, so the rename is atomic.
 */
export function fileBackendUrl(dir: string): string {
    return `file://${dir}?metadata=skip&no_tmp_dir=true`;
}

function scheme(url: string): string {
    return /^([a-z0-9]+):\/\//.exec(url)?.[1] ?? "";
}

export function backendUrlFor(stack: string, localTemplate: boolean, projectDir: string, env: NodeJS.ProcessEnv): string {
    const url =
        localTemplate
            ? env.PLATFORM_LOCAL_BACKEND_URL || fileBackendUrl(path.join(projectDir, ".pulumi-state"))
            : env[stackBackendVariable(stack)] || env.PLATFORM_STATE_BACKEND_URL;
    if (!url) {
        throw new StackSettingsError(
            `stack ${stack} keeps its state in the team backend: set PLATFORM_STATE_BACKEND_URL ` +
                `(azblob://<container> or s3://<bucket>), or ${stackBackendVariable(stack)} for this stack alone`,
        );
    }
    if (!(BACKEND_SCHEMES as readonly string[]).includes(scheme(url))) {
        throw new StackSettingsError(`stack ${stack}: state backend "${url}" is not one of ${BACKEND_SCHEMES.map((s) => `${s}://`).join(", ")}`);
    }
    return url;
}

export function secretsProviderFor(stack: string, stackFile: StackFile | undefined, env: NodeJS.ProcessEnv): string {
    if (isLocalTemplate(stack, stackFile)) {
        return stackFile?.secretsprovider || "passphrase";
    }
    const where = stackFilePath(stack);
    if (stackFile?.encryptionsalt) {
        throw new StackSettingsError(`stack ${stack}: ${where} has an encryptionsalt, so it uses the passphrase provider; only the local template may`);
    }
    const provider = stackFile?.secretsprovider || env.PLATFORM_SECRETS_PROVIDER;
    if (!provider) {
        throw new StackSettingsError(
            `stack ${stack} has no secrets provider: add "secretsprovider: azurekeyvault://<vault>.vault.azure.net/keys/<key>" ` +
                `(or awskms://, hashivault://) to ${where}, or set PLATFORM_SECRETS_PROVIDER; only the local template uses the passphrase provider`,
        );
    }
    if (!(SECRETS_SCHEMES as readonly string[]).includes(scheme(provider))) {
        throw new StackSettingsError(
            `stack ${stack}: secrets provider "${provider}" is not one of ${SECRETS_SCHEMES.map((s) => `${s}://`).join(", ")}; only the local template uses the passphrase provider`,
        );
    }
    return provider;
}

export function stackSettings(stack: string, projectDir: string, env: NodeJS.ProcessEnv = process.env): StackSettings {
    const stackFile = readStackFile(projectDir, stack);
    return {
        stack,
        backendUrl: backendUrlFor(stack, isLocalTemplate(stack, stackFile), projectDir, env),
        secretsProvider: secretsProviderFor(stack, stackFile, env),
    };
}

/**
 * The environment a pulumi command for this stack runs with: its backend
 * (`backendEnv`) and, for the passphrase provider (local only), the committed
 * passphrase file unless a passphrase is already set.
 */
export function stackEnv(settings: StackSettings, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
    const out = backendEnv(settings.backendUrl, env);
    if (settings.secretsProvider === "passphrase" && !out.PULUMI_CONFIG_PASSPHRASE && !out.PULUMI_CONFIG_PASSPHRASE_FILE) {
        out.PULUMI_CONFIG_PASSPHRASE_FILE = path.join(__dirname, "..", "stacks", "local.passphrase");
    }
    return out;
}

if (require.main === module) {
    const [stack, projectDir = path.resolve(__dirname, "..")] = process.argv.slice(2);
    try {
        if (!stack) {
            throw new StackSettingsError("usage: stack-settings.ts <stack> [project dir]");
        }
        const settings = stackSettings(stack, projectDir);
        process.stdout.write(`${settings.backendUrl}\n${settings.secretsProvider}\n`);
    } catch (e) {
        process.stderr.write(`[platform] ${(e as Error).message}\n`);
        process.exit(2);
    }
}

