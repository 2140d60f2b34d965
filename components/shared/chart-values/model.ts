/** The checker's model of a chart: values.yaml, the `.Values` references of its templates, its schema and subcharts. */
import { isMap, isScalar, LineCounter, parseDocument, YAMLMap } from "yaml";

/** A JSON schema node, as far as the checker reads it. */
export type JsonSchema =
    | boolean
    | {
          $ref?: string;
          type?: string | string[];
          properties?: Record<string, JsonSchema>;
          patternProperties?: Record<string, JsonSchema>;
          additionalProperties?: JsonSchema;
          allOf?: JsonSchema[];
          anyOf?: JsonSchema[];
          oneOf?: JsonSchema[];
          [key: string]: unknown;
      };

/** `.Values` paths the templates reference, as a tree; a node that ends a reference records where. */
export interface RefNode {
    children: Map<string, RefNode>;
    where?: string;
    /** Where a template reads it whole into the application's configuration (toYaml, merge…). */
    serialized?: string;
}

export interface ChartModel {
    name: string;
    version: string;
    /** values.yaml, parsed (null when empty). */
    values: unknown;
    /** Line of each key of values.yaml, by `pathKey`. */
    lines: Map<string, number>;
    refs: RefNode;
    /** Keys whose values the templates merge into the top level (istiod copies `pilot.*` to `.`). */
    descoped: Set<string>;
    /** Where the templates pass all of `.Values` to the application (kiali-server's config.yaml), if they do. */
    passesAllValues?: string;
    schema?: JsonSchema;
    /** Subcharts by the key their values sit under in this chart (alias or name). */
    subcharts: Map<string, ChartModel>;
}

/** The sources of a chart, as files (for the checker's own tests) or read from an unpacked chart. */
export interface ChartSources {
    name: string;
    version: string;
    valuesYaml: string;
    /** Template and file contents by path relative to the chart (templates/…, files/…). */
    templates: Record<string, string>;
    schemaJson?: string;
    subcharts?: Record<string, ChartSources>;
}

export const pathKey = (p: readonly string[]): string => p.join("\u0000");
const ISTIO_DEFAULTS = "_internal_defaults_do_not_set";

/** A path as users write it: `a.b.c`, with `["x.y"]` for keys that are not plain identifiers. */
export function showPath(p: readonly string[]): string {
    return p.map((seg, i) => (/^[A-Za-z0-9_-]+$/.test(seg) ? `${i === 0 ? "" : "."}${seg}` : `[${JSON.stringify(seg)}]`)).join("");
}

export function isRecord(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

function lineMap(map: YAMLMap, prefix: string[], counter: LineCounter, out: Map<string, number>): void {
    for (const pair of map.items) {
        if (!isScalar(pair.key)) {
            continue;
        }
        const key = String(pair.key.value);
        const p = [...prefix, key];
        if (pair.key.range) {
            out.set(pathKey(p), counter.linePos(pair.key.range[0]).line);
        }
        if (isMap(pair.value)) {
            lineMap(pair.value, p, counter, out);
        }
    }
}

function addRef(root: RefNode, p: string[], where: string, serialized: boolean): void {
    let node = root;
    for (const seg of p) {
        let next = node.children.get(seg);
        if (!next) {
            next = { children: new Map() };
            node.children.set(seg, next);
        }
        node = next;
    }
    node.where ??= where;
    if (serialized) {
        node.serialized ??= where;
    }
}

/** One `.Values` reference of a template. */
export interface TemplateReference {
    path: string[];
    offset: number;
    /** Read whole by toYaml/toJson/omit/merge: its keys go to the application as they are. */
    serialized: boolean;
}

// Sticky (`y`) expressions, matched where a reference ends without copying the rest of the template.
const IDENT_CHAIN = /(?:\.[A-Za-z_][A-Za-z0-9_]*)*/y;
const INDEX_KEYS = /(?:\s+"[^"]*")+/y;
const NULL_SAFE_CHAIN = /\)+((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/y;
const LAST_ARGUMENT = /\s*(?:\)|-?\}\})/y;
const SERIALIZE_AFTER = /\s*\)?\s*\|\s*(?:default\s+[^|}]*\|\s*)?(?:toYaml|toJson|toPrettyJson|toRawJson)\b/y;
const SERIALIZE_BEFORE = /(?:toYaml|toJson|toPrettyJson|toRawJson|omit|tpl\s+\(\s*toYaml)\s+\(?\s*$/;
/** `mergeOverwrite $defaults .Values.x`: merged last, over the chart's own settings (istiod's meshConfig). */
const MERGED_BEFORE = /(?:must)?[mM]erge(?:Overwrite)?\s+[^{}|]*$/;

function stickyMatch(re: RegExp, text: string, at: number): RegExpExecArray | null {
    re.lastIndex = at;
    return re.exec(text);
}

/**
 * Every `.Values` reference of a template: `.Values.a.b` (also `$.Values`,
 * `$root.Values`), `index .Values "a" "b"`, and Istio's null-safe
 * `((.Values.a).b).c`.
 */
export function templateReferences(text: string): TemplateReference[] {
    const found: TemplateReference[] = [];
    for (const m of text.matchAll(/(\$[A-Za-z0-9_]*|\.[A-Za-z_][A-Za-z0-9_]*)?\.Values\b/g)) {
        const start = m.index ?? 0;
        let pos = start + m[0].length;
        const chain = stickyMatch(IDENT_CHAIN, text, pos)?.[0] ?? "";
        const path = chain === "" ? [] : chain.slice(1).split(".");
        pos += chain.length;
        // The text of this action before the reference.
        const window = text.slice(Math.max(0, start - 300), start);
        const before = window.slice(window.lastIndexOf("{{") + 1);
        const indexed = /index\s+\(?\s*$/.test(before) ? stickyMatch(INDEX_KEYS, text, pos) : null;
        if (indexed) {
            path.push(...[...indexed[0].matchAll(/"([^"]*)"/g)].map((q) => q[1]));
            pos += indexed[0].length;
        }
        for (let more = stickyMatch(NULL_SAFE_CHAIN, text, pos); more; more = stickyMatch(NULL_SAFE_CHAIN, text, pos)) {
            path.push(...more[1].slice(1).split("."));
            pos += more[0].length;
        }
        const serialized =
            !indexed &&
            (SERIALIZE_BEFORE.test(before) ||
                stickyMatch(SERIALIZE_AFTER, text, pos) !== null ||
                (MERGED_BEFORE.test(before) && stickyMatch(LAST_ARGUMENT, text, pos) !== null));
        found.push({ path, offset: start, serialized });
    }
    return found;
}

/** 1-based line of each offset, from the offsets where lines start. */
function lineOf(lineStarts: number[], offset: number): number {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (lineStarts[mid] <= offset) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    return lo + 1;
}

/** Builds the checker's model of a chart from its sources. */
export function chartFromSources(src: ChartSources): ChartModel {
    const counter = new LineCounter();
    const doc = parseDocument(src.valuesYaml, { lineCounter: counter, uniqueKeys: false });
    const lines = new Map<string, number>();
    if (isMap(doc.contents)) {
        lineMap(doc.contents, [], counter, lines);
    }
    let values = doc.toJS({ maxAliasCount: -1 }) as unknown;
    // Istio's charts keep their defaults under one key that templates/zzz_profile.yaml merges into the top level.
    const defaults = isRecord(values) ? values[ISTIO_DEFAULTS] : undefined;
    if (isRecord(values) && isRecord(defaults)) {
        const rest = { ...values };
        delete rest[ISTIO_DEFAULTS];
        values = { ...defaults, ...rest };
        for (const [key, line] of [...lines]) {
            if (key.startsWith(`${ISTIO_DEFAULTS}\u0000`)) {
                lines.set(key.slice(ISTIO_DEFAULTS.length + 1), line);
            }
        }
    }
    const refs: RefNode = { children: new Map() };
    const descoped = new Set<string>();
    let passesAllValues: string | undefined;
    for (const [file, text] of Object.entries(src.templates)) {
        const lineStarts = [0, ...[...text.matchAll(/\n/g)].map((m) => (m.index ?? 0) + 1)];
        for (const ref of templateReferences(text)) {
            const where = `${file}:${lineOf(lineStarts, ref.offset)}`;
            if (ref.path.length === 0) {
                if (ref.serialized && /(?:omit|toYaml)\s+\(?\s*\S*$/.test(text.slice(Math.max(0, ref.offset - 40), ref.offset))) {
                    passesAllValues ??= where;
                }
                continue;
            }
            // Globals are shared by every chart of a release: reading them whole says nothing about which exist.
            addRef(refs, ref.path, where, ref.serialized && !(ref.path.length === 1 && ref.path[0] === "global"));
        }
        for (const m of text.matchAll(/[mM]erge(?:Overwrite)?\s+\$?\.Values\s+\(\s*index\s+\$?\.Values\s+"([^"]+)"\s*\)/g)) {
            descoped.add(m[1]);
        }
    }
    const subcharts = new Map<string, ChartModel>();
    for (const [key, sub] of Object.entries(src.subcharts ?? {})) {
        subcharts.set(key, chartFromSources(sub));
    }
    return {
        name: src.name,
        version: src.version,
        values,
        lines,
        refs,
        descoped,
        passesAllValues,
        schema: src.schemaJson === undefined ? undefined : (JSON.parse(src.schemaJson) as JsonSchema),
        subcharts,
    };
}
