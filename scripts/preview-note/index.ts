/**
 * Pure functions behind the merge request's preview note: parse the JSON
 * `pulumi preview --json` prints (./parse.ts, its shapes in ./pulumi-json.ts),
 * render one Markdown note for all the previewed stacks (./render.ts), and
 * decide whether the job fails (./parse.ts). No I/O here:
 * scripts/post-preview-note.ts reads the files and talks to GitLab.
 */
export * from "./pulumi-json";
export * from "./parse";
export * from "./render";
