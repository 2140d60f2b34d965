/**
 * A small reader of packaged Helm charts (`<name>-<version>.tgz`): gunzip,
 * then the tar's 512-byte headers. No dependency beyond `yaml`, so the
 * preflight check and the mirror script can look inside a chart without
 * helm on the machine. Handles what `helm package` and GNU/BSD tar write:
 * ustar (with the 155-byte name prefix), GNU long names (`L`) and pax
 * extended headers (`x`, `g`).
 */
import * as fs from "node:fs";
import { gunzipSync } from "node:zlib";
import { parse as parseYaml } from "yaml";

/** The regular files of an archive, by path (leading `./` removed). */
export interface ChartArchive {
    files: Map<string, Buffer>;
}

/** A dependency as declared in Chart.yaml. */
export interface ChartDependency {
    name: string;
    version?: string;
    repository?: string;
    alias?: string;
    condition?: string;
}

/** The fields of Chart.yaml the platform checks, plus the whole document. */
export interface ChartMetadata {
    /** The archive's top-level directory holding Chart.yaml. */
    dir: string;
    apiVersion?: string;
    name: string;
    version: string;
    appVersion?: string;
    kubeVersion?: string;
    dependencies: ChartDependency[];
    /** Chart.yaml as parsed (helm's index entries carry all of it). */
    raw: Record<string, unknown>;
}

const BLOCK = 512;
// Charts are a few MiB unpacked; the cap keeps a hostile archive from filling memory.
const MAX_UNPACKED_BYTES = 512 * 1024 * 1024;

/** Reads a `.tgz` file or buffer. Throws on a damaged archive (bad gzip, bad header checksum, truncation). */
export function readChartArchive(source: string | Buffer): ChartArchive {
    const gz = typeof source === "string" ? fs.readFileSync(source) : source;
    let tar: Buffer;
    try {
        tar = gunzipSync(gz, { maxOutputLength: MAX_UNPACKED_BYTES });
    } catch (e) {
        throw new Error(`not a gzip archive: ${(e as Error).message}`);
    }
    return { files: readTar(tar) };
}

/** Parses an uncompressed tar stream into its regular files. */
export function readTar(tar: Buffer): Map<string, Buffer> {
    const files = new Map<string, Buffer>();
    let offset = 0;
    // Overrides for the next entry only, from a GNU `L` entry or a pax `x` header.
    let nextName: string | undefined;
    let nextSize: number | undefined;
    while (offset + BLOCK <= tar.length) {
        const header = tar.subarray(offset, offset + BLOCK);
        if (header.every((b) => b === 0)) {
            break; // end-of-archive marker
        }
        checkHeader(header, offset);
        const type = header[156] === 0 ? "0" : String.fromCharCode(header[156]);
        const size = nextSize ?? parseNumber(header.subarray(124, 136));
        const bodyStart = offset + BLOCK;
        if (bodyStart + size > tar.length) {
            throw new Error(`truncated tar: entry at byte ${offset} needs ${size} bytes`);
        }
        const body = tar.subarray(bodyStart, bodyStart + size);
        offset = bodyStart + Math.ceil(size / BLOCK) * BLOCK;

        if (type === "L") {
            nextName = cString(body);
            continue;
        }
        if (type === "x" || type === "g") {
            const pax = parsePax(body);
            // A global header's values would apply to every later entry; helm
            // archives never carry one with a path, so only per-entry ones are kept.
            if (type === "x") {
                nextName = pax.get("path") ?? nextName;
                const paxSize = pax.get("size");
                nextSize = paxSize !== undefined ? Number(paxSize) : undefined;
            }
            continue;
        }
        const name = nextName ?? ustarName(header);
        nextName = undefined;
        nextSize = undefined;
        if (type === "0" || type === "7") {
            files.set(name.replace(/^(\.\/)+/, ""), Buffer.from(body));
        }
        // Directories, links, devices and GNU `K` long link names carry no file content.
    }
    return files;
}

function checkHeader(header: Buffer, offset: number): void {
    const stored = parseNumber(header.subarray(148, 156));
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) {
        sum += i >= 148 && i < 156 ? 0x20 : header[i];
    }
    if (sum !== stored) {
        throw new Error(`damaged tar: bad header checksum at byte ${offset}`);
    }
}

/** Octal (NUL/space padded), or GNU base-256 when the high bit is set (sizes over 8 GiB). */
function parseNumber(field: Buffer): number {
    if (field[0] & 0x80) {
        let n = field[0] & 0x7f;
        for (let i = 1; i < field.length; i++) {
            n = n * 256 + field[i];
        }
        return n;
    }
    const text = cString(field).trim();
    return text === "" ? 0 : parseInt(text, 8);
}

function cString(b: Buffer): string {
    const end = b.indexOf(0);
    return b.subarray(0, end === -1 ? b.length : end).toString("utf8");
}

function ustarName(header: Buffer): string {
    const name = cString(header.subarray(0, 100));
    const isUstar = header.subarray(257, 262).toString("latin1") === "ustar";
    const prefix = isUstar ? cString(header.subarray(345, 500)) : "";
    return prefix === "" ? name : `${prefix}/${name}`;
}

/** Pax records: `<length> <key>=<value>\n`, the length counting the whole record. */
function parsePax(body: Buffer): Map<string, string> {
    const out = new Map<string, string>();
    let pos = 0;
    while (pos < body.length) {
        const space = body.indexOf(0x20, pos);
        if (space === -1) {
            break;
        }
        const length = parseInt(body.subarray(pos, space).toString("latin1"), 10);
        if (!Number.isFinite(length) || length <= 0) {
            break;
        }
        const record = body.subarray(space + 1, pos + length - 1).toString("utf8");
        const eq = record.indexOf("=");
        if (eq > 0) {
            out.set(record.slice(0, eq), record.slice(eq + 1));
        }
        pos += length;
    }
    return out;
}

/** The Chart.yaml at the top of the archive (`<dir>/Chart.yaml`), parsed. */
export function chartMetadata(source: string | Buffer | ChartArchive): ChartMetadata {
    const archive = isArchive(source) ? source : readChartArchive(source);
    const tops = [...archive.files.keys()].filter((p) => /^[^/]+\/Chart\.yaml$/.test(p));
    if (tops.length !== 1) {
        throw new Error(tops.length === 0 ? "no <chart>/Chart.yaml at the top of the archive" : `several charts at the top of the archive: ${tops.join(", ")}`);
    }
    const dir = tops[0].slice(0, -"/Chart.yaml".length);
    return parseChartYaml(archive.files.get(tops[0]) ?? Buffer.alloc(0), dir);
}

/** Parses a Chart.yaml document; `dir` is where it was found. */
export function parseChartYaml(text: Buffer | string, dir: string): ChartMetadata {
    const source = text.toString();
    const doc: unknown = parseYaml(source);
    // Fields are read as written: YAML 1.2 would make `version: 1.10` the number 1.1.
    const literal: unknown = parseYaml(source, { schema: "failsafe" });
    if (!isMapping(doc) || !isMapping(literal)) {
        throw new Error(`${dir}/Chart.yaml is not a mapping`);
    }
    const raw = literal;
    const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
    const name = str(raw.name);
    const version = str(raw.version);
    if (name === undefined || version === undefined) {
        throw new Error(`${dir}/Chart.yaml has no name or version`);
    }
    const dependencies: ChartDependency[] = Array.isArray(raw.dependencies)
        ? raw.dependencies
              .filter(isMapping)
              .map((d) => ({
                  name: str(d.name) ?? "",
                  version: str(d.version),
                  repository: str(d.repository),
                  alias: str(d.alias),
                  condition: str(d.condition),
              }))
        : [];
    return {
        dir,
        apiVersion: str(raw.apiVersion),
        name,
        version,
        appVersion: str(raw.appVersion),
        kubeVersion: str(raw.kubeVersion),
        dependencies,
        raw: doc,
    };
}

function isMapping(v: unknown): v is Record<string, unknown> {
    return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * A file of a bundled subchart: `<dir>/charts/<sub>/<file>`, or inside a
 * nested `<dir>/charts/<sub>-<version>.tgz` (how `helm dependency update`
 * leaves them). `sub` is the dependency's chart name, not its alias.
 * Undefined when the archive has no such file.
 */
export function readSubchartFile(source: string | Buffer | ChartArchive, sub: string, file = "values.yaml"): Buffer | undefined {
    const archive = isArchive(source) ? source : readChartArchive(source);
    const { dir } = chartMetadata(archive);
    const unpacked = archive.files.get(`${dir}/charts/${sub}/${file}`);
    if (unpacked !== undefined) {
        return unpacked;
    }
    for (const [p, content] of archive.files) {
        if (!p.startsWith(`${dir}/charts/`) || !/^[^/]+\.tgz$/.test(p.slice(`${dir}/charts/`.length))) {
            continue;
        }
        const nested = readChartArchive(content);
        const meta = chartMetadata(nested);
        if (meta.name === sub) {
            return nested.files.get(`${meta.dir}/${file}`);
        }
    }
    return undefined;
}

function isArchive(x: string | Buffer | ChartArchive): x is ChartArchive {
    return typeof x === "object" && !Buffer.isBuffer(x);
}
