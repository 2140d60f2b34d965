import * as fs from "node:fs";
import * as path from "node:path";

import { describe, expect, it } from "vitest";

/**
 * The project's own import graph: no cycles (a cycle makes load order decide
 * what is `undefined`, and keeps modules from being understood one at a time),
 * and components/shared/ builds on no component. Type-only imports count: a
 * type cycle is a design cycle too, even if the compiler erases it.
 */

const ROOT = path.resolve(__dirname, "../..");
const SCANNED = ["components", "environments", "scripts", "policies"];

/** Non-test TypeScript sources under `dir`, repository-relative with `/`. */
function sources(dir: string): string[] {
    const out: string[] = [];
    for (const entry of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
        const rel = `${dir}/${entry.name}`;
        if (entry.isDirectory()) {
            if (entry.name !== "node_modules" && !entry.name.startsWith(".")) {
                out.push(...sources(rel));
            }
        } else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts") && !entry.name.endsWith(".d.ts")) {
            out.push(rel);
        }
    }
    return out;
}

/** The .ts file a relative specifier names (`./x` is x.ts or x/index.ts), or undefined for other files. */
function resolve(from: string, specifier: string, files: ReadonlySet<string>): string | undefined {
    const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
    return [`${base}.ts`, `${base}/index.ts`, base].find((candidate) => files.has(candidate));
}

/**
 * Import specifiers: `import … from` and `export … from` (type-only too) at a
 * line's start, side-effect imports, dynamic `import()` and `require()`.
 * Regexes, not the compiler (loading it takes longer than the whole check);
 * they find what `ts.preProcessFile` finds in these sources, and a stray match
 * in a string would add an edge (a loud failure), never hide one.
 */
const IMPORT_PATTERNS = [
    /^\s*(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']/gm,
    /^\s*import\s*["']([^"']+)["']/gm,
    /\bimport\(\s*["']([^"']+)["']\s*\)/g,
    /\brequire\(\s*["']([^"']+)["']\s*\)/g,
];

/** Every file's relative imports, resolved to the scanned files. */
function importGraph(): Map<string, string[]> {
    const files = SCANNED.flatMap(sources);
    const known = new Set(files);
    const graph = new Map<string, string[]>();
    for (const file of files) {
        const text = fs.readFileSync(path.join(ROOT, file), "utf8");
        const targets = IMPORT_PATTERNS.flatMap((pattern) => [...text.matchAll(pattern)].map((m) => m[1]))
            .filter((s) => s.startsWith("./") || s.startsWith("../"))
            .map((s) => resolve(file, s, known))
            .filter((t): t is string => t !== undefined);
        graph.set(file, [...new Set(targets)]);
    }
    return graph;
}

/** The strongly connected components with a cycle (Tarjan), each as its files sorted. */
function cyclicGroups(graph: ReadonlyMap<string, string[]>): string[][] {
    let next = 0;
    const index = new Map<string, number>();
    const low = new Map<string, number>();
    const stack: string[] = [];
    const onStack = new Set<string>();
    const groups: string[][] = [];
    const visit = (v: string): void => {
        index.set(v, next);
        low.set(v, next);
        next++;
        stack.push(v);
        onStack.add(v);
        for (const w of graph.get(v) ?? []) {
            if (!index.has(w)) {
                visit(w);
                low.set(v, Math.min(low.get(v)!, low.get(w)!));
            } else if (onStack.has(w)) {
                low.set(v, Math.min(low.get(v)!, index.get(w)!));
            }
        }
        if (low.get(v) === index.get(v)) {
            const group: string[] = [];
            let w: string;
            do {
                w = stack.pop()!;
                onStack.delete(w);
                group.push(w);
            } while (w !== v);
            if (group.length > 1 || (graph.get(v) ?? []).includes(v)) {
                groups.push(group.sort());
            }
        }
    };
    for (const v of graph.keys()) {
        if (!index.has(v)) {
            visit(v);
        }
    }
    return groups;
}

/** One concrete cycle through `group`'s first file, as `a -> b -> a`, and the group's other files (what the failure prints). */
function describeCycle(graph: ReadonlyMap<string, string[]>, group: readonly string[]): string {
    const cycle = cyclePath(graph, group);
    const others = group.filter((f) => !cycle.includes(f));
    const shown = cycle.join(" -> ");
    return others.length === 0 ? shown : `${shown} (and cycles through ${others.join(", ")})`;
}

/** The shortest cycle from `group`'s first file back to it, staying inside the group. */
function cyclePath(graph: ReadonlyMap<string, string[]>, group: readonly string[]): string[] {
    const members = new Set(group);
    const start = group[0];
    const previous = new Map<string, string>();
    const queue = [start];
    while (queue.length > 0) {
        const v = queue.shift()!;
        for (const w of graph.get(v) ?? []) {
            if (w === start) {
                const chain = [v];
                while (chain[0] !== start) {
                    chain.unshift(previous.get(chain[0])!);
                }
                return [...chain, start];
            }
            if (members.has(w) && !previous.has(w)) {
                previous.set(w, v);
                queue.push(w);
            }
        }
    }
    return [...group];
}

describe("import graph", () => {
    const graph = importGraph();

    it("scans the project's sources", () => {
        // A wrong root would make every check below pass vacuously.
        expect(graph.size).toBeGreaterThan(50);
        expect(graph.get("components/shared/records.ts")).toBeDefined();
    });

    it("has no import cycles", () => {
        const cycles = cyclicGroups(graph).map((g) => describeCycle(graph, g));
        expect(cycles, `import cycles:\n${cycles.join("\n")}`).toEqual([]);
    });

    it("keeps components/shared free of imports from components", () => {
        const offending = [...graph]
            .filter(([file]) => file.startsWith("components/shared/"))
            .flatMap(([file, targets]) => targets.filter((t) => t.startsWith("components/") && !t.startsWith("components/shared/")).map((t) => `${file} -> ${t}`));
        expect(offending, `components/shared imports a component:\n${offending.join("\n")}`).toEqual([]);
    });
});
