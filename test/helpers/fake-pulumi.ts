/**
 * A stand-in `pulumi` for tests of the command-line paths (`./platform`,
 * scripts/stacks.ts) that must not need the toolchain or touch any state: it
 * logs each call and answers the few commands those paths ask.
 *
 *   FAKE_PULUMI_LOG      the log: one line per call, PULUMI_SKIP_CHECKPOINTS, a tab, the arguments
 *   FAKE_PULUMI_STACKS   the stacks that exist, space-separated (`stack ls`, `stack select`)
 *   FAKE_PULUMI_HISTORY  what `stack history --json` prints (default [])
 *   FAKE_PULUMI_RECORD   what `stack output` prints (default {})
 * Every other command prints `fake pulumi: <args>` and succeeds.
 */
import * as fs from "node:fs";
import * as path from "node:path";

const SCRIPT = `#!/usr/bin/env bash
printf '%s\\t%s\\n' "\${PULUMI_SKIP_CHECKPOINTS:-}" "$*" >>"$FAKE_PULUMI_LOG"
exists() { [[ " \${FAKE_PULUMI_STACKS:-} " == *" $1 "* ]]; }
case "$1 \${2:-}" in
  "stack ls")
    sep=""; printf '['
    for s in \${FAKE_PULUMI_STACKS:-}; do printf '%s{"name":"%s"}' "$sep" "$s"; sep=","; done
    printf ']\\n' ;;
  "stack select") exists "$3" || { echo "error: no stack named '$3' found" >&2; exit 255; } ;;
  "stack init") ;;
  "stack history") printf '%s\\n' "\${FAKE_PULUMI_HISTORY:-[]}" ;;
  "stack output") record="\${FAKE_PULUMI_RECORD:-}"; printf '%s\\n' "\${record:-"{}"}" ;;
  *) echo "fake pulumi: $*" ;;
esac
`;

/** Writes the fake as `<dir>/pulumi` (put `dir` first on PATH). */
export function writeFakePulumi(dir: string): void {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "pulumi"), SCRIPT, { mode: 0o755 });
}

/** The calls the fake logged: the arguments, and whether PULUMI_SKIP_CHECKPOINTS was set. */
export function fakePulumiCalls(log: string): { args: string; skipCheckpoints: boolean }[] {
    if (!fs.existsSync(log)) {
        return [];
    }
    return fs
        .readFileSync(log, "utf8")
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => {
            const [skip, args] = l.split("\t", 2);
            return { args: args ?? "", skipCheckpoints: skip === "true" };
        });
}
