/**
 * Which stacks a change can affect, from the paths it touches: a stack's own
 * files affect that stack; code, the project file, dependencies and the
 * toolchain affect every stack; tests, docs, benchmarks and scripts none. A
 * path that no rule names affects every stack (the safe side).
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** Paths that never change what a stack deploys. */
const NO_STACK = [
    /\.md$/,
    /\.test\.ts$/,
    /^test\//,
    /^bench\//,
    /^scripts\//,
    /^\.ci\//,
    /^policies\/test\//,
    /^\.gitlab-ci\.yml$/,
    /^\.gitignore$/,
    /^eslint\.config\.mjs$/,
    /^vitest\.config\.ts$/,
    /^platform$/,
];

/** Promotion order first, then the rest by name. */
const ORDER = ["local", "dev", "staging", "prod"];

function byPromotion(a: string, b: string): number {
    const ia = ORDER.indexOf(a);
    const ib = ORDER.indexOf(b);
    if (ia !== ib && (ia >= 0 || ib >= 0)) {
        return ia < 0 ? 1 : ib < 0 ? -1 : ia - ib;
    }
    return a.localeCompare(b);
}

/** The stacks among `stacks` that the changed paths (repository-relative, `/`-separated) affect. */
export function affectedStacks(changed: string[], stacks: string[]): string[] {
    const affected = new Set<string>();
    for (const file of changed) {
        const stackFile = /^stacks\/Pulumi\.([^/]+)\.yaml$/.exec(file)?.[1];
        const policyConfig = /^policies\/config\/([^/]+)\.json$/.exec(file)?.[1];
        const own = stackFile ?? policyConfig ?? (file === "stacks/local.passphrase" ? "local" : undefined);
        if (own !== undefined) {
            // review.json belongs to review-* stacks, which are not listed here.
            if (stacks.includes(own)) {
                affected.add(own);
            }
            continue;
        }
        if (NO_STACK.some((re) => re.test(file))) {
            continue;
        }
        return [...stacks].sort(byPromotion);
    }
    return [...affected].sort(byPromotion);
}

/** The stacks that have a stack file in `<projectDir>/stacks`. */
export function knownStacks(projectDir: string): string[] {
    return fs
        .readdirSync(path.join(projectDir, "stacks"))
        .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined)
        .sort(byPromotion);
}
