/**
 * Reading a chart's sources for the checker: an unpacked chart directory or a
 * packaged `.tgz`, subcharts included (unpacked under `charts/` or nested
 * `.tgz`), all in-process (chart-archive.ts reads the archives: no `tar`, no
 * helm on the machine).
 */
import * as fs from "node:fs";
import * as path from "node:path";

import { chartMetadata, parseChartYaml, readChartArchive } from "../chart-archive";
import { chartFromSources, ChartModel, ChartSources, isRecord } from "./model";

/** Template files larger than this are not read (no chart's templates come near it; a generated blob would). */
const MAX_TEMPLATE_BYTES = 4_000_000;

/** A chart's files by path relative to the chart's own directory (`Chart.yaml`, `templates/…`, `charts/…`). */
type ChartFiles = ReadonlyMap<string, Buffer>;

/** The files of the archive's top-level chart, relative to its directory. */
function archiveChartFiles(archive: Buffer | string): ChartFiles {
    const read = readChartArchive(archive);
    const { dir } = chartMetadata(read);
    const files = new Map<string, Buffer>();
    for (const [p, content] of read.files) {
        if (p.startsWith(`${dir}/`)) {
            files.set(p.slice(dir.length + 1), content);
        }
    }
    return files;
}

/** Every regular file under `dir`, by path relative to it (with `/`). */
function directoryChartFiles(dir: string, rel = ""): Map<string, Buffer> {
    const files = new Map<string, Buffer>();
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
        const p = rel === "" ? entry.name : `${rel}/${entry.name}`;
        if (entry.isDirectory()) {
            for (const [k, v] of directoryChartFiles(dir, p)) {
                files.set(k, v);
            }
        } else if (entry.isFile()) {
            files.set(p, fs.readFileSync(path.join(dir, p)));
        }
    }
    return files;
}

/** The files under `prefix/`, relative to it. */
function filesUnder(files: ChartFiles, prefix: string): Map<string, Buffer> {
    const out = new Map<string, Buffer>();
    for (const [p, content] of files) {
        if (p.startsWith(`${prefix}/`)) {
            out.set(p.slice(prefix.length + 1), content);
        }
    }
    return out;
}

/** The sources of the chart whose files these are; `where` names it in errors. */
function sourcesFromFiles(files: ChartFiles, where: string): ChartSources {
    const chartYaml = files.get("Chart.yaml");
    if (chartYaml === undefined) {
        throw new Error(`${where} has no Chart.yaml`);
    }
    const meta = parseChartYaml(chartYaml, where);
    const text = (p: string) => files.get(p)?.toString("utf8");
    const templates: Record<string, string> = {};
    // files/ holds templates some charts render with `tpl` (istiod's injection templates read `.Values`).
    for (const p of [...files.keys()].sort()) {
        const content = files.get(p);
        if ((p.startsWith("templates/") || p.startsWith("files/")) && content !== undefined && content.length < MAX_TEMPLATE_BYTES) {
            templates[p] = content.toString("utf8");
        }
    }
    const subcharts: Record<string, ChartSources> = {};
    const bundled = new Set([...files.keys()].filter((p) => /^charts\/[^/]+\/Chart\.yaml$/.test(p) || /^charts\/[^/]+\.tgz$/.test(p)));
    for (const p of [...bundled].sort()) {
        const sub = p.endsWith(".tgz")
            ? sourcesFromFiles(archiveChartFiles(files.get(p) ?? Buffer.alloc(0)), `${where}/${p}`)
            : sourcesFromFiles(filesUnder(files, path.posix.dirname(p)), `${where}/${path.posix.dirname(p)}`);
        const deps = meta.dependencies.filter((d) => d.name === sub.name);
        for (const key of deps.length > 0 ? deps.map((d) => d.alias ?? d.name) : [sub.name]) {
            subcharts[key] = sub;
        }
    }
    return {
        name: meta.name,
        version: meta.version,
        valuesYaml: text("values.yaml") ?? "",
        templates,
        schemaJson: text("values.schema.json"),
        subcharts,
    };
}

/** Reads an unpacked chart directory (with its `charts/` subcharts, unpacked or packaged) into `ChartSources`. */
export function readChartDirectory(dir: string): ChartSources {
    return sourcesFromFiles(directoryChartFiles(dir), dir);
}

/** Reads a packaged chart (`<name>-<version>.tgz`, a path or its bytes) into `ChartSources`. */
export function readChartPackage(archive: string | Buffer): ChartSources {
    return sourcesFromFiles(archiveChartFiles(archive), typeof archive === "string" ? archive : "the chart archive");
}

/** The checker's model of the chart at `source`: a `.tgz` or an unpacked chart directory (what resolveChartSource gives for a directory mirror). */
export function loadChartModel(source: string): ChartModel {
    const stat = fs.statSync(source, { throwIfNoEntry: false });
    if (stat === undefined) {
        throw new Error(`${source} does not exist`);
    }
    return chartFromSources(stat.isDirectory() ? readChartDirectory(source) : readChartPackage(source));
}

/** Every leaf path of Helm values: objects are walked, anything else (lists, scalars, empty objects) is a leaf. */
export function leafPaths(values: unknown, prefix: string[] = []): string[][] {
    if (!isRecord(values) || (Object.keys(values).length === 0 && prefix.length > 0)) {
        return prefix.length > 0 ? [prefix] : [];
    }
    return Object.entries(values).flatMap(([k, v]) => (v === undefined ? [] : leafPaths(v, [...prefix, k])));
}
