/** Whether a path of values is a value of a chart, and for one that is not, the closest key the chart has. */
import { leafPaths } from "./sources";
import { ChartModel, isRecord, JsonSchema, pathKey, RefNode, showPath } from "./model";

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
