/**
 * Which stacks a change can affect, from the paths it touches (repository-
 * relative, as `git diff --name-only --no-renames` prints them) and the import
 * graph of the program. Each path goes through these rules, first match wins:
 *
 * 1. A stack's own files affect that stack: `stacks/Pulumi.<s>.yaml`; the
 *    policy config of its template, `policies/config/<template>.json`
 *    (environments/template-registry.ts; prod.json affects prod and prod-eu,
 *    review.json every `review-*` stack given); `stacks/local.passphrase`
 *    (the stacks of a template whose state is in the repository: local). A
 *    stack whose template cannot be told gets every policy config and the
 *    passphrase (the safe side).
 * 2. Tests, docs, benchmarks, scripts and CI files (NO_STACK) affect none.
 * 3. The project file, dependencies, TypeScript settings, the toolchain and
 *    the policy pack (it runs on every stack) affect every stack (ALL_STACKS).
 * 4. A path that no longer exists (deleted, or the old side of a rename)
 *    affects every stack: its importers cannot be seen any more.
 * 5. A file in a stack's program affects that stack. A stack's program is
 *    the static import closure of `index.ts` plus its template's and cloud's
 *    entry points (TEMPLATE_ENTRIES, CLOUD_ENTRIES): `environments/index.ts`
 *    and `templates/cloud.ts` import those on demand, and which one a stack
 *    loads depends on its stack file (`platform:template`, `platform:cloud`),
 *    so a change to the AWS foundation leaves Azure stacks alone. A stack
 *    without a stack file gets the registry's template for it (`local`,
 *    `review-<id>`); a stack whose template or cloud cannot be told gets
 *    them all. A dynamic import the tables do not name is followed for every
 *    stack that reaches it. Shared
 *    code (in every closure) therefore affects every stack.
 * 6. Any other `.ts` file (a component no environment uses, the catalog CLI)
 *    affects none.
 * 7. A path no rule names affects every stack (the safe side).
 *
 * Imports are read with `ts.preProcessFile`; relative specifiers resolve to
 * `x.ts` or `x/index.ts`, package specifiers are left out (dependency changes
 * come through the lockfile rule). Nothing is cached on disk.
 */
import * as fs from "node:fs";
import * as path from "node:path";

import * as ts from "typescript";

import { readStackFile, stackConfigText, stackFilePath } from "../environments/stack-file";
import {
    ENVIRONMENT_TEMPLATES,
    EnvironmentTemplate,
    namePromotionRank,
    StackTemplateError,
    templateInStackFile,
    templateWithoutStackFile,
    TEMPLATES,
    TemplateKind,
} from "../environments/template-registry";

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

/** Paths every stack's run depends on without importing them. */
const ALL_STACKS = [
    /^Pulumi\.yaml$/,
    /^package\.json$/,
    /^pnpm-lock\.yaml$/,
    /^pnpm-workspace\.yaml$/,
    /^tsconfig[^/]*\.json$/,
    /^\.npmrc$/,
    /^toolchain\//,
    // The policy pack runs on every stack.
    /^policies\//,
];

export type Cloud = "azure" | "aws";

const LOCAL_ENTRIES = [
    "environments/templates/local.ts",
    // local.ts loads these only in apply mode with an address configured, which
    // only the run knows (a reachable cluster), so local and review both count them.
    "components/vault/configuration.ts",
    "components/consul/catalog.ts",
];
const CLOUD_TEMPLATE_ENTRIES = ["environments/templates/cloud.ts"];

/**
 * What each kind of template loads on demand (environments/index.ts switches
 * on the kind): local and review share templates/local.ts, the cloud
 * templates templates/cloud.ts.
 */
export const KIND_ENTRIES: Record<TemplateKind, readonly string[]> = {
    local: LOCAL_ENTRIES,
    review: LOCAL_ENTRIES,
    cloud: CLOUD_TEMPLATE_ENTRIES,
};

/**
 * What each template's program loads on demand, by its kind in the template
 * registry. Every dynamic import of the program must be an entry of this
 * table or of CLOUD_ENTRIES (test/unit/affected-stacks.test.ts checks).
 */
export const TEMPLATE_ENTRIES = Object.fromEntries(ENVIRONMENT_TEMPLATES.map((t) => [t, KIND_ENTRIES[TEMPLATES[t].kind]])) as Record<
    EnvironmentTemplate,
    readonly string[]
>;

/** The foundation templates/cloud.ts loads for `platform:cloud`. */
export const CLOUD_ENTRIES: Record<Cloud, readonly string[]> = {
    azure: ["environments/clouds/azure.ts"],
    aws: ["environments/clouds/aws.ts"],
};

const PROGRAM_ROOT = "index.ts";

const isCloud = (v: unknown): v is Cloud => typeof v === "string" && Object.hasOwn(CLOUD_ENTRIES, v);

/** A module's relative imports, resolved to repository-relative paths. */
export interface ModuleImports {
    static: string[];
    dynamic: string[];
}

/**
 * The import graph of the repository's TypeScript, read lazily from the roots
 * asked about (a stack's program is a small part of the repository).
 */
export class ImportGraph {
    private readonly modules = new Map<string, ModuleImports>();

    constructor(readonly projectDir: string) {}

    /** The imports of `file` (repository-relative, `/`-separated); none for a file that is not TypeScript or cannot be read. */
    imports(file: string): ModuleImports {
        let found = this.modules.get(file);
        if (!found) {
            found = { static: [], dynamic: [] };
            const text = file.endsWith(".ts") ? this.read(file) : undefined;
            if (text !== undefined) {
                for (const ref of ts.preProcessFile(text, true, true).importedFiles) {
                    const target = this.resolve(file, ref.fileName);
                    if (target !== undefined) {
                        // preProcessFile does not say which imports are dynamic: the text before the quote (at pos) does.
                        const before = text.slice(Math.max(0, ref.pos - 200), ref.pos);
                        (/\bimport\s*\(\s*$/.test(before) ? found.dynamic : found.static).push(target);
                    }
                }
            }
            this.modules.set(file, found);
        }
        return found;
    }

    /**
     * The files `roots` load. Static imports are followed; dynamic ones only
     * when `followDynamic` says so: the entry tables decide those, and one
     * they do not name is followed (the safe side).
     */
    closure(roots: readonly string[], followDynamic: (target: string) => boolean = () => true): Set<string> {
        const seen = new Set<string>();
        const queue = roots.filter((r) => this.exists(r));
        for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
            if (seen.has(file)) {
                continue;
            }
            seen.add(file);
            const { static: fixed, dynamic } = this.imports(file);
            queue.push(...fixed, ...dynamic.filter(followDynamic));
        }
        return seen;
    }

    exists(file: string): boolean {
        return fs.existsSync(path.join(this.projectDir, file));
    }

    private read(file: string): string | undefined {
        try {
            return fs.readFileSync(path.join(this.projectDir, file), "utf8");
        } catch {
            return undefined;
        }
    }

    /** `./x` → x.ts or x/index.ts (or x itself when it names a file); packages and paths outside the project → undefined. */
    private resolve(from: string, specifier: string): string | undefined {
        if (!specifier.startsWith("./") && !specifier.startsWith("../")) {
            return undefined;
        }
        const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
        if (base.startsWith("../")) {
            return undefined;
        }
        return [`${base}.ts`, `${base}/index.ts`, base].find((f) => fs.statSync(path.join(this.projectDir, f), { throwIfNoEntry: false })?.isFile());
    }
}

/**
 * What a stack's file says it is: its template (the registry's for a stack
 * without a file; undefined when it cannot be told: no template, an unknown
 * one) and its cloud. Lenient where the registry is strict: here an unknown
 * template only means "the safe side".
 */
function stackFacts(projectDir: string, stack: string): { template?: EnvironmentTemplate; cloud?: Cloud } {
    // A file that is not valid YAML is refused (a StackFileError naming the file and the line): no stack can be told from it.
    const doc = readStackFile(projectDir, stack);
    if (doc === undefined) {
        return { template: templateWithoutStackFile(stack) };
    }
    const cloud = stackConfigText(doc, "platform:cloud");
    try {
        return { template: templateInStackFile(doc, stackFilePath(stack)), cloud: isCloud(cloud) ? cloud : undefined };
    } catch (e) {
        if (e instanceof StackTemplateError) {
            return { cloud: isCloud(cloud) ? cloud : undefined };
        }
        throw e;
    }
}

/**
 * The entry points of a stack's program besides index.ts, from its stack
 * file (stackFacts). A stack whose template or cloud cannot be told gets
 * every template's or cloud's (the safe side).
 */
export function stackEntries(projectDir: string, stack: string): string[] {
    const { template, cloud } = stackFacts(projectDir, stack);
    const templates = template !== undefined ? [template] : ENVIRONMENT_TEMPLATES;
    const clouds = cloud !== undefined ? [cloud] : (Object.keys(CLOUD_ENTRIES) as Cloud[]);
    const entries = templates.flatMap((t) => [...TEMPLATE_ENTRIES[t], ...(TEMPLATES[t].kind === "cloud" ? clouds.flatMap((c) => CLOUD_ENTRIES[c]) : [])]);
    return [...new Set(entries)];
}

/** Every file the entry tables name: dynamic imports of these are left to the tables. */
const TABLE_ENTRIES = new Set([...Object.values(TEMPLATE_ENTRIES), ...Object.values(CLOUD_ENTRIES)].flat());

/** The files `stack`'s program loads. */
export function stackProgram(graph: ImportGraph, stack: string): Set<string> {
    return graph.closure([PROGRAM_ROOT, ...stackEntries(graph.projectDir, stack)], (target) => !TABLE_ENTRIES.has(target));
}

/** Promotion order first (the templates' bare names: local, dev, staging, prod), then the rest by name. */
function byPromotion(a: string, b: string): number {
    const ia = namePromotionRank(a, "exact");
    const ib = namePromotionRank(b, "exact");
    if (ia !== ib && (ia >= 0 || ib >= 0)) {
        return ia < 0 ? 1 : ib < 0 ? -1 : ia - ib;
    }
    return a.localeCompare(b);
}

/**
 * The stacks among `stacks` that the changed paths (repository-relative,
 * `/`-separated) affect, for the project in `projectDir` as it is on disk (the
 * change's side).
 */
export function affectedStacks(changed: string[], stacks: string[], projectDir: string): string[] {
    const all = () => [...new Set(stacks)].sort(byPromotion);
    const graph = new ImportGraph(projectDir);
    const programs = new Map<string, Set<string>>();
    const programOf = (stack: string) => {
        let files = programs.get(stack);
        if (!files) {
            files = stackProgram(graph, stack);
            programs.set(stack, files);
        }
        return files;
    };

    const templates = new Map<string, EnvironmentTemplate | undefined>();
    const templateOf = (stack: string) => {
        if (!templates.has(stack)) {
            templates.set(stack, stackFacts(projectDir, stack).template);
        }
        return templates.get(stack);
    };
    // The stacks whose template (looked up, not read off the name) passes the test; unknown templates count (the safe side).
    const stacksWhose = (test: (t: EnvironmentTemplate) => boolean) =>
        stacks.filter((s) => {
            const t = templateOf(s);
            return t === undefined || test(t);
        });

    const affected = new Set<string>();
    for (const file of changed) {
        const stackFile = /^stacks\/Pulumi\.([^/]+)\.yaml$/.exec(file)?.[1];
        if (stackFile !== undefined) {
            stacks.filter((s) => s === stackFile).forEach((s) => affected.add(s));
            continue;
        }
        if (/^policies\/config\/[^/]+\.json$/.test(file)) {
            stacksWhose((t) => TEMPLATES[t].policyConfig === file).forEach((s) => affected.add(s));
            continue;
        }
        if (file === "stacks/local.passphrase") {
            // The committed passphrase of every stack whose state is in the repository.
            stacksWhose((t) => TEMPLATES[t].stateBackend === "repository").forEach((s) => affected.add(s));
            continue;
        }
        if (NO_STACK.some((re) => re.test(file))) {
            continue;
        }
        if (ALL_STACKS.some((re) => re.test(file)) || !graph.exists(file)) {
            return all();
        }
        const users = stacks.filter((s) => programOf(s).has(file));
        if (users.length === 0 && !file.endsWith(".ts")) {
            // Not code the program imports, and no rule names it.
            return all();
        }
        users.forEach((s) => affected.add(s));
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
