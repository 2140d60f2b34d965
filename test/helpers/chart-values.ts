/**
 * Checks that the Helm values a component passes exist in the real chart.
 * Helm ignores keys it does not know, so a misspelt or renamed value is
 * silently dropped. A leaf path of the values is a value of the chart when
 *
 * - values.yaml has it (Istio's charts: under `_internal_defaults_do_not_set`,
 *   which their templates/zzz_profile.yaml merges into the top level);
 * - its nearest ancestor in values.yaml is free-form: `{}`, null or a list, a
 *   map of user-chosen keys (`*annotations`, `*labels`, `*nodeSelector`,
 *   `*env`, `*selector`), or a Kubernetes object the chart copies into its
 *   pods as it is (`resources`, `affinity`, `securityContext`, `tolerations`…);
 * - the templates (templates/, files/, `_helpers.tpl`, subcharts') reference
 *   `.Values.<path>` (`$.Values`, `index .Values "a" "b"`, `((.Values.a).b)`),
 *   or a prefix of it that values.yaml leaves open, or pass a prefix of it on
 *   whole (`toYaml`, `toJson`, `omit`, merged last over the chart's settings);
 * - values.schema.json declares it (or an object of it without properties);
 * - it is under a subchart's key (alias or name) and a value of the subchart,
 *   or under `global` and a value of any chart of the release, or under a key
 *   the templates merge into the top level (istiod's `pilot.*`).
 */
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { isMap, isScalar, LineCounter, parseDocument, YAMLMap } from "yaml";

import { isSecretInput } from "./mocks";

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
interface RefNode {
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

const pathKey = (p: readonly string[]): string => p.join("\u0000");
const ISTIO_DEFAULTS = "_internal_defaults_do_not_set";

/** A path as users write it: `a.b.c`, with `["x.y"]` for keys that are not plain identifiers. */
export function showPath(p: readonly string[]): string {
    return p.map((seg, i) => (/^[A-Za-z0-9_-]+$/.test(seg) ? `${i === 0 ? "" : "."}${seg}` : `[${JSON.stringify(seg)}]`)).join("");
}

function isRecord(v: unknown): v is Record<string, unknown> {
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

function filesUnder(dir: string, base: string): string[] {
    if (!fs.existsSync(dir)) {
        return [];
    }
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const full = path.join(dir, e.name);
        return e.isDirectory() ? filesUnder(full, base) : [path.relative(base, full)];
    });
}

interface ChartYaml {
    name: string;
    version: string;
    dependencies?: { name: string; alias?: string }[];
}

/** Reads an unpacked chart directory (with its `charts/` subcharts) into `ChartSources`. */
export function readChartDirectory(dir: string): ChartSources {
    const meta = parseDocument(fs.readFileSync(path.join(dir, "Chart.yaml"), "utf8")).toJS() as ChartYaml;
    const read = (rel: string) => fs.readFileSync(path.join(dir, rel), "utf8");
    const templates: Record<string, string> = {};
    // files/ holds templates some charts render with `tpl` (istiod's injection templates read `.Values`).
    for (const rel of [...filesUnder(path.join(dir, "templates"), dir), ...filesUnder(path.join(dir, "files"), dir)]) {
        if (fs.statSync(path.join(dir, rel)).size < 4_000_000) {
            templates[rel] = read(rel);
        }
    }
    const subcharts: Record<string, ChartSources> = {};
    const chartsDir = path.join(dir, "charts");
    if (fs.existsSync(chartsDir)) {
        for (const entry of fs.readdirSync(chartsDir, { withFileTypes: true })) {
            let subDir = path.join(chartsDir, entry.name);
            if (!entry.isDirectory()) {
                if (!entry.name.endsWith(".tgz")) {
                    continue;
                }
                const into = `${subDir}.unpacked`;
                fs.mkdirSync(into, { recursive: true });
                execFileSync("tar", ["xzf", subDir, "-C", into]);
                subDir = path.join(into, fs.readdirSync(into)[0]);
            }
            const sub = readChartDirectory(subDir);
            const deps = (meta.dependencies ?? []).filter((d) => d.name === sub.name);
            for (const key of deps.length > 0 ? deps.map((d) => d.alias ?? d.name) : [sub.name]) {
                subcharts[key] = sub;
            }
        }
    }
    const valuesFile = path.join(dir, "values.yaml");
    const schemaFile = path.join(dir, "values.schema.json");
    return {
        name: meta.name,
        version: String(meta.version),
        valuesYaml: fs.existsSync(valuesFile) ? fs.readFileSync(valuesFile, "utf8") : "",
        templates,
        schemaJson: fs.existsSync(schemaFile) ? fs.readFileSync(schemaFile, "utf8") : undefined,
        subcharts,
    };
}

/** The chart mirror the tests read: PLATFORM_CHART_MIRROR, else `../shared/charts` beside the repository. Throws if it is missing. */
export function chartMirrorDirectory(repoRoot: string): string {
    const dir = process.env.PLATFORM_CHART_MIRROR ?? path.resolve(repoRoot, "../shared/charts");
    if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
        throw new Error(
            `the chart mirror ${dir} does not exist: set PLATFORM_CHART_MIRROR to a directory of <name>-<version>.tgz charts ` +
                `(the real upstream charts the components pin), or put them in ${path.resolve(repoRoot, "../shared/charts")}`,
        );
    }
    return dir;
}

function mirroredArchive(mirror: string, name: string, version: string): string {
    const tgz = path.join(mirror, `${name}-${version}.tgz`);
    if (!fs.existsSync(tgz)) {
        throw new Error(`chart ${name} ${version} is not in the mirror ${mirror} (expected ${tgz})`);
    }
    return tgz;
}

/** Reads the chart `tar` unpacked into `into`, checking it is `name` `version`. */
function readUnpacked(tgz: string, into: string, name: string, version: string): ChartModel {
    const top = fs.readdirSync(into, { withFileTypes: true }).filter((e) => e.isDirectory());
    if (top.length !== 1) {
        throw new Error(`${tgz} does not hold one chart directory (found: ${top.map((e) => e.name).join(", ") || "none"})`);
    }
    const model = chartFromSources(readChartDirectory(path.join(into, top[0].name)));
    if (model.name !== name || model.version !== version) {
        throw new Error(`${tgz} holds chart ${model.name} ${model.version}, not ${name} ${version}`);
    }
    return model;
}

/** Unpacks `<mirror>/<name>-<version>.tgz` under `workDir` and reads it. Throws if the mirror lacks it. */
export function loadMirroredChart(mirror: string, name: string, version: string, workDir: string): ChartModel {
    const tgz = mirroredArchive(mirror, name, version);
    const into = fs.mkdtempSync(path.join(workDir, `${name}-`));
    execFileSync("tar", ["xzf", tgz, "-C", into]);
    return readUnpacked(tgz, into, name, version);
}

/**
 * `loadMirroredChart` in two steps: `tar` runs in the background (call this
 * early, its processes run beside the test's own work), the returned function
 * reads the unpacked chart once `tar` has finished.
 */
export async function unpackMirroredChart(mirror: string, name: string, version: string, workDir: string): Promise<() => ChartModel> {
    const tgz = mirroredArchive(mirror, name, version);
    const into = await fs.promises.mkdtemp(path.join(workDir, `${name}-`));
    await promisify(execFile)("tar", ["xzf", tgz, "-C", into]);
    return () => readUnpacked(tgz, into, name, version);
}

/** A recorded input with every secret wrapper removed, at any depth. */
export function unwrapSecrets(value: unknown): unknown {
    if (isSecretInput(value)) {
        return unwrapSecrets((value as { value: unknown }).value);
    }
    if (Array.isArray(value)) {
        return value.map(unwrapSecrets);
    }
    if (isRecord(value)) {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
    }
    return value;
}

/** Every leaf path of Helm values: objects are walked, anything else (lists, scalars, empty objects) is a leaf. */
export function leafPaths(values: unknown, prefix: string[] = []): string[][] {
    if (!isRecord(values) || (Object.keys(values).length === 0 && prefix.length > 0)) {
        return prefix.length > 0 ? [prefix] : [];
    }
    return Object.entries(values).flatMap(([k, v]) => (v === undefined ? [] : leafPaths(v, [...prefix, k])));
}

/**
 * Keys whose maps hold user-chosen keys even when values.yaml gives examples,
 * and Kubernetes objects charts copy into their pod specs as they are (the
 * API server, not the chart, says what goes below them).
 */
const FREE_FORM_KEY = /(annotations|labels|nodeselector|env|envvars|selector)$|^(resources|affinity|securitycontext|podsecuritycontext|containersecuritycontext|tolerations|topologyspreadconstraints)$/i;

/** A value under which any key may go: `{}`, null, a list, or a map named like annotations/labels. */
function isFreeForm(key: string | undefined, value: unknown): boolean {
    return value === null || Array.isArray(value) || (isRecord(value) && Object.keys(value).length === 0) || (key !== undefined && isRecord(value) && FREE_FORM_KEY.test(key));
}

/** How deep `p` goes into values.yaml, and the value there. */
function valuesDepth(values: unknown, p: readonly string[]): { depth: number; value: unknown } {
    let node = values;
    for (let i = 0; i < p.length; i++) {
        if (!isRecord(node) || !Object.hasOwn(node, p[i])) {
            return { depth: i, value: node };
        }
        node = node[p[i]];
    }
    return { depth: p.length, value: node };
}

function valuesAllow(chart: ChartModel, p: readonly string[]): string | undefined {
    const { depth, value } = valuesDepth(chart.values, p);
    const line = (q: readonly string[]) => chart.lines.get(pathKey(q)) ?? "?";
    if (depth === p.length) {
        return `values.yaml:${line(p)}`;
    }
    return depth > 0 && isFreeForm(p[depth - 1], value) ? `free-form ${showPath(p.slice(0, depth))} at values.yaml:${line(p.slice(0, depth))}` : undefined;
}

/** Whether values.yaml fixes what may go below `p` (a map of its own keys, or a scalar). */
function valuesFix(chart: ChartModel, p: readonly string[]): boolean {
    const { depth, value } = valuesDepth(chart.values, p);
    return depth === p.length && !isFreeForm(p[p.length - 1], value);
}

function refsDepth(chart: ChartModel, p: readonly string[]): number {
    let node = chart.refs;
    for (let i = 0; i < p.length; i++) {
        const next = node.children.get(p[i]);
        if (!next) {
            return i;
        }
        node = next;
    }
    return p.length;
}

function refsAllow(chart: ChartModel, p: readonly string[]): string | undefined {
    let node = chart.refs;
    for (let i = 0; i < p.length; i++) {
        const next = node.children.get(p[i]);
        if (!next) {
            return undefined;
        }
        node = next;
        // A template reading `.Values.a.b` whole (toYaml, tpl) takes any keys below it, unless values.yaml says what they are.
        if (node.serialized !== undefined && i + 1 < p.length) {
            return `templates pass ${showPath(p.slice(0, i + 1))} on whole at ${node.serialized}`;
        }
        if (node.where !== undefined && i + 1 < p.length && !valuesFix(chart, p.slice(0, i + 1))) {
            return `templates read ${showPath(p.slice(0, i + 1))} at ${node.where}`;
        }
    }
    return `templates read it at ${node.where ?? firstWhere(node)}`;
}

function resolveRef(root: JsonSchema, node: JsonSchema, seen = 0): JsonSchema {
    if (typeof node === "boolean" || node.$ref === undefined || !node.$ref.startsWith("#/") || seen > 20) {
        return node;
    }
    let target: unknown = root;
    for (const part of node.$ref.slice(2).split("/")) {
        target = isRecord(target) ? target[part.replace(/~1/g, "/").replace(/~0/g, "~")] : undefined;
    }
    return target === undefined ? node : resolveRef(root, target as JsonSchema, seen + 1);
}

type SchemaStep = { kind: "node"; nodes: JsonSchema[] } | { kind: "free" } | { kind: "none" };

function schemaChild(root: JsonSchema, node: JsonSchema, key: string, depth: number): SchemaStep {
    const n = resolveRef(root, node);
    if (n === true) {
        return { kind: "free" };
    }
    if (n === false) {
        return { kind: "none" };
    }
    const nodes: JsonSchema[] = [];
    let free = false;
    if (n.properties && Object.hasOwn(n.properties, key)) {
        nodes.push(n.properties[key]);
    }
    for (const [pattern, sub] of Object.entries(n.patternProperties ?? {})) {
        if (new RegExp(pattern).test(key)) {
            nodes.push(sub);
        }
    }
    for (const sub of [...(n.allOf ?? []), ...(n.anyOf ?? []), ...(n.oneOf ?? [])]) {
        const step = schemaChild(root, sub, key, depth);
        if (step.kind === "node") {
            nodes.push(...step.nodes);
        } else if (step.kind === "free") {
            free = true;
        }
    }
    if (nodes.length > 0) {
        return { kind: "node", nodes };
    }
    const types = Array.isArray(n.type) ? n.type : n.type === undefined ? [] : [n.type];
    const explicitExtra = n.additionalProperties !== undefined && n.additionalProperties !== false;
    const bareObject = depth > 0 && types.includes("object") && n.properties === undefined && n.patternProperties === undefined && n.additionalProperties !== false;
    return free || explicitExtra || bareObject ? { kind: "free" } : { kind: "none" };
}

/** How deep `p` goes into the schema's declared properties; `free` when it reaches an object that takes any key. */
function schemaDepth(chart: ChartModel, p: readonly string[]): { depth: number; free: boolean; nodes: JsonSchema[] } {
    if (chart.schema === undefined) {
        return { depth: 0, free: false, nodes: [] };
    }
    let nodes: JsonSchema[] = [chart.schema];
    for (let i = 0; i < p.length; i++) {
        const next: JsonSchema[] = [];
        let free = false;
        for (const node of nodes) {
            const step = schemaChild(chart.schema, node, p[i], i);
            if (step.kind === "node") {
                next.push(...step.nodes);
            } else if (step.kind === "free") {
                free = true;
            }
        }
        if (next.length === 0) {
            return { depth: i, free, nodes };
        }
        nodes = next;
    }
    return { depth: p.length, free: false, nodes };
}

function schemaAllows(chart: ChartModel, p: readonly string[]): string | undefined {
    const { depth, free } = schemaDepth(chart, p);
    return depth === p.length ? "values.schema.json" : free ? `values.schema.json (free-form ${showPath(p.slice(0, depth))})` : undefined;
}

/** Why `p` (a path of values given to `chart`) is a value of the chart, or undefined when it is not. */
export function chartValueReason(chart: ChartModel, p: readonly string[]): string | undefined {
    if (p.length === 0) {
        return "root";
    }
    if (chart.descoped.has(p[0]) && p.length > 1) {
        // Its keys are the top level's (the template that merges it reads it whole, which makes nothing free-form).
        const inner = chartValueReason(chart, p.slice(1));
        return inner === undefined ? (valuesAllow(chart, p) ?? schemaAllows(chart, p)) : `${p[0]}.* is merged into the top level: ${inner}`;
    }
    const own = valuesAllow(chart, p) ?? refsAllow(chart, p) ?? schemaAllows(chart, p);
    if (own !== undefined) {
        return own;
    }
    const sub = chart.subcharts.get(p[0]);
    if (sub !== undefined) {
        const inner = p.length === 1 ? "the subchart" : chartValueReason(sub, p.slice(1));
        if (inner !== undefined) {
            return `charts/${sub.name}: ${inner}`;
        }
    }
    // Globals are shared by the chart and all its subcharts.
    if (p[0] === "global") {
        for (const s of chart.subcharts.values()) {
            const inner = chartValueReason(s, p);
            if (inner !== undefined) {
                return `charts/${s.name}: ${inner}`;
            }
        }
    }
    return undefined;
}

/** Whether `p` (a path of values given to `chart`) is a value of the chart. */
export function isChartValue(chart: ChartModel, p: readonly string[]): boolean {
    return chartValueReason(chart, p) !== undefined;
}

/** A key of the chart beside the unknown one, and where the chart declares it. */
interface Candidate {
    path: string[];
    where: string;
}

function editDistance(a: string, b: string): number {
    const row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        let prev = row[0];
        row[0] = i;
        for (let j = 1; j <= b.length; j++) {
            const cur = row[j];
            row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
            prev = cur;
        }
    }
    return row[b.length];
}

/** How alike two keys are (0: unrelated, 1: the same but for case and separators). */
function similarity(a: string, b: string): number {
    const x = a.toLowerCase().replace(/[-_]/g, "");
    const y = b.toLowerCase().replace(/[-_]/g, "");
    if (x === y) {
        return 1;
    }
    const contained = x.length >= 3 && y.length >= 3 && (x.includes(y) || y.includes(x)) ? 0.75 : 0;
    return Math.max(contained, 1 - editDistance(x, y) / Math.max(x.length, y.length));
}

interface Diagnosis {
    /** The path up to its first key the chart does not know. */
    unknown: string[];
    hint?: Candidate;
    /** How alike the hint's key is to the unknown one. */
    score: number;
}

function siblings(chart: ChartModel, parent: readonly string[], label: string): Candidate[] {
    const out: Candidate[] = [];
    const { depth, value } = valuesDepth(chart.values, parent);
    if (depth === parent.length && isRecord(value)) {
        for (const k of Object.keys(value)) {
            const p = [...parent, k];
            out.push({ path: p, where: `${label}values.yaml:${chart.lines.get(pathKey(p)) ?? "?"}` });
        }
    }
    let node: RefNode | undefined = chart.refs;
    for (const seg of parent) {
        node = node?.children.get(seg);
    }
    for (const [k, child] of node?.children ?? []) {
        out.push({ path: [...parent, k], where: `${label}${child.where ?? firstWhere(child)}` });
    }
    const schema = schemaDepth(chart, parent);
    if (schema.depth === parent.length && chart.schema !== undefined) {
        for (const n of schema.nodes) {
            const r = resolveRef(chart.schema, n);
            if (typeof r !== "boolean") {
                for (const k of Object.keys(r.properties ?? {})) {
                    out.push({ path: [...parent, k], where: `${label}values.schema.json` });
                }
            }
        }
    }
    return out;
}

function firstWhere(node: RefNode): string {
    for (const child of node.children.values()) {
        return child.where ?? firstWhere(child);
    }
    return "templates";
}

/** How deep `p` is known to the chart by any source. */
function knownDepth(chart: ChartModel, p: readonly string[]): number {
    return Math.max(valuesDepth(chart.values, p).depth, refsDepth(chart, p), schemaDepth(chart, p).depth);
}

/** The same key under a sibling of its parent (`global.proxy.resources` for `global.proxy_init.resources`). */
function cousin(chart: ChartModel, parent: readonly string[], missing: string, label: string): Candidate | undefined {
    if (parent.length === 0) {
        return undefined;
    }
    const grandparent = parent.slice(0, -1);
    const { depth, value } = valuesDepth(chart.values, grandparent);
    if (depth !== grandparent.length || !isRecord(value)) {
        return undefined;
    }
    const uncles = Object.keys(value)
        .filter((k) => k !== parent[parent.length - 1] && isRecord(value[k]) && Object.hasOwn(value[k] as Record<string, unknown>, missing))
        .sort((a, b) => similarity(parent[parent.length - 1], b) - similarity(parent[parent.length - 1], a));
    if (uncles.length === 0) {
        return undefined;
    }
    const p = [...grandparent, uncles[0], missing];
    return { path: p, where: `${label}values.yaml:${chart.lines.get(pathKey(p)) ?? "?"}` };
}

function diagnose(chart: ChartModel, p: readonly string[], label = ""): Diagnosis {
    if (chart.descoped.has(p[0]) && p.length > 1) {
        const inner = diagnose(chart, p.slice(1), label);
        return { ...inner, unknown: [p[0], ...inner.unknown] };
    }
    const depth = Math.min(knownDepth(chart, p), p.length - 1);
    const unknown = p.slice(0, depth + 1);
    const missing = unknown[depth];
    const parent = unknown.slice(0, depth);
    const scored = siblings(chart, parent, label)
        .filter((c) => c.path[depth] !== missing)
        .map((c) => ({ c, score: similarity(missing, c.path[depth]) }))
        .filter((s) => s.score >= 0.5)
        .sort((a, b) => b.score - a.score);
    const near = cousin(chart, parent, missing, label);
    const own: Diagnosis = scored[0] ? { unknown, hint: scored[0].c, score: scored[0].score } : { unknown, hint: near, score: near ? 0.5 : 0 };
    // Under a subchart's key: what the subchart knows, when it knows as much or more.
    const sub = chart.subcharts.get(p[0]);
    if (sub !== undefined && p.length > 1) {
        const found = diagnose(sub, p.slice(1), `${label}charts/${sub.name}/`);
        const inner: Diagnosis = { ...found, unknown: [p[0], ...found.unknown], hint: found.hint && { ...found.hint, path: [p[0], ...found.hint.path] } };
        if (inner.unknown.length > own.unknown.length || (inner.unknown.length === own.unknown.length && inner.score > own.score)) {
            return inner;
        }
    }
    return own;
}

export interface UnknownValue {
    /** The path up to its first key the chart does not know. */
    path: string[];
    /** Leaf paths of the values under it. */
    leaves: string[][];
    /** The closest key the chart has beside it, and where. */
    hint?: Candidate;
}

/**
 * The values (leaf paths grouped by their first unknown key) that are not
 * values of the chart. `applicationKeys`: paths (and what is below them) the
 * chart passes on to its application's configuration without listing them
 * (for charts whose `.Values` is the application's config, see `passesAllValues`).
 */
export function unknownValues(chart: ChartModel, values: unknown, applicationKeys: readonly (readonly string[])[] = []): UnknownValue[] {
    const byPath = new Map<string, UnknownValue>();
    for (const leaf of leafPaths(values)) {
        if (isChartValue(chart, leaf) || applicationKeys.some((k) => k.every((seg, i) => leaf[i] === seg))) {
            continue;
        }
        const d = diagnose(chart, leaf);
        const key = pathKey(d.unknown);
        const found = byPath.get(key) ?? { path: d.unknown, leaves: [], hint: d.hint };
        found.leaves.push(leaf);
        byPath.set(key, found);
    }
    return [...byPath.values()];
}

/** `vault 0.34.1: server.podAnnotations is not a value of the chart (values.yaml:746 has server.annotations)`. */
export function describeUnknown(chart: ChartModel, u: UnknownValue): string {
    const hint = u.hint ? `${u.hint.where} has ${showPath(u.hint.path)}` : "no similar key beside it";
    return `${chart.name} ${chart.version}: ${showPath(u.path)} is not a value of the chart (${hint})`;
}
