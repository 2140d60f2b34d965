/**
 * Which AWS and Azure resource types take `tags`, decided from the provider
 * SDKs generated from the provider schemas: a type is taggable when its
 * `<Type>Args` input interface has a `tags` property. Writes
 * policies/generated/taggable-types.json (committed, so the pack needs no
 * cloud SDK at run time); a test fails when it is stale.
 *
 *   pnpm exec tsx policies/scripts/taggable-types.ts           # write
 *   pnpm exec tsx policies/scripts/taggable-types.ts --check   # compare only
 */
import * as fs from "node:fs";
import * as path from "node:path";

const SDK_ROOT = path.resolve(__dirname, "../../node_modules/@pulumi");
export const TAGGABLE_FILE = path.resolve(__dirname, "../generated/taggable-types.json");
export const PROVIDERS = ["aws", "azure-native"] as const;

export interface TaggableIndex {
    /** SDK versions the index was read from. */
    generatedFrom: Record<string, string>;
    /** Type tokens, sorted. */
    types: string[];
}

function argsTakeTags(dts: string, className: string): boolean {
    const start = dts.indexOf(`export interface ${className}Args {`);
    if (start < 0) {
        return false;
    }
    const block = dts.slice(start, dts.indexOf("\n}", start));
    return /\n {4}tags\?:/.test(block);
}

/** Reads one SDK: every module folder's resource classes whose args take tags. */
function taggableTypesOf(provider: string): string[] {
    const root = path.join(SDK_ROOT, provider);
    const types: string[] = [];
    const dirs = [root, ...fs.readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => path.join(root, d.name))];
    for (const dir of dirs) {
        for (const file of fs.readdirSync(dir)) {
            if (!file.endsWith(".js")) {
                continue;
            }
            const js = fs.readFileSync(path.join(dir, file), "utf8");
            const token = /static __pulumiType = '([^']+)'/.exec(js)?.[1];
            const dtsFile = path.join(dir, file.replace(/\.js$/, ".d.ts"));
            if (!token || !fs.existsSync(dtsFile)) {
                continue;
            }
            const className = token.slice(token.lastIndexOf(":") + 1);
            if (argsTakeTags(fs.readFileSync(dtsFile, "utf8"), className)) {
                types.push(token);
            }
        }
    }
    return types;
}

export function buildTaggableIndex(): TaggableIndex {
    const generatedFrom: Record<string, string> = {};
    const types: string[] = [];
    for (const provider of PROVIDERS) {
        const pkg = JSON.parse(fs.readFileSync(path.join(SDK_ROOT, provider, "package.json"), "utf8")) as { version: string };
        generatedFrom[`@pulumi/${provider}`] = pkg.version;
        types.push(...taggableTypesOf(provider));
    }
    return { generatedFrom, types: [...new Set(types)].sort() };
}

export function serialize(index: TaggableIndex): string {
    return `${JSON.stringify(index, null, 1)}\n`;
}

if (require.main === module) {
    const text = serialize(buildTaggableIndex());
    if (process.argv.includes("--check")) {
        const current = fs.existsSync(TAGGABLE_FILE) ? fs.readFileSync(TAGGABLE_FILE, "utf8") : "";
        if (current !== text) {
            console.error(`${path.relative(process.cwd(), TAGGABLE_FILE)} is stale: run pnpm exec tsx policies/scripts/taggable-types.ts`);
            process.exit(1);
        }
        console.log("taggable-types.json is up to date");
    } else {
        fs.writeFileSync(TAGGABLE_FILE, text);
        const index = JSON.parse(text) as TaggableIndex;
        console.log(`wrote ${index.types.length} taggable types from ${JSON.stringify(index.generatedFrom)}`);
    }
}
