/**
 * How pulumi keeps a stack's state in its backend (README "Team backends").
 * Used by scripts/stack-settings.ts (every `./platform` command on a stack),
 * the catalog and the environment manager.
 */

/**
 * The variables pulumi needs for a state backend: its URL and its format. A
 * team backend (a bucket, not `file://`) keeps checkpoints compressed with
 * zstd: an apply writes the whole state after every step (8.3 MB for local's
 * ~500 resources, about a thousand writes per deploy), and compressed each
 * write is about 0.2 MB to upload (the state repeats every object as inputs,
 * outputs and the provider's copy of the inputs). The file backend keeps
 * plain JSON. The format is the backend's, whatever a shell kept from another
 * stack's `./platform env`; the CLI reads either and converts a stack on its
 * next write.
 */
export function backendVariables(backendUrl: string): Record<string, string> {
    return { PULUMI_BACKEND_URL: backendUrl, PULUMI_DIY_BACKEND_ZSTD: backendUrl.startsWith("file://") ? "false" : "true" };
}

/** `env` with a state backend's variables (`backendVariables`). */
export function backendEnv(backendUrl: string, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
    return { ...env, ...backendVariables(backendUrl) };
}
