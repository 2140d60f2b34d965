/**
 * Stack files (`stacks/Pulumi.<stack>.yaml`) as the scripts read them: the
 * one place TypeScript parses one, so that every reader (the template
 * registry, the stack settings, affected stacks, the benchmarks) sees a value
 * as the program does and reports a broken file the same way.
 *
 * - Config values are text, as Pulumi passes them to the program: a YAML
 *   number or boolean (`platform:nodeMin: 3`, `platform:protect: true`) is
 *   the text it is written as ("3", "true"; "0x10" stays "0x10"), and an
 *   empty value (`key:`, `~`) is "". Mappings (`secure:`) are kept as they are.
 * - A YAML error is a StackFileError naming the file and the line
 *   (`stacks/Pulumi.local.yaml: tabs are not allowed as indentation at line 5`),
 *   not the parser's stack trace.
 *
 * Imports nothing of the program: the scripts load it without Pulumi.
 */
import * as fs from "node:fs";
import * as path from "node:path";

import { isMap, isScalar, LineCounter, parseDocument, Scalar } from "yaml";

/** The stack file of `stack`, repository-relative. */
export function stackFilePath(stack: string): string {
    return `stacks/Pulumi.${stack}.yaml`;
}

/** A stack file that is not valid YAML. */
export class StackFileError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "StackFileError";
    }
}

/** What a parsed stack file holds; `config` values are text (or the mapping of a secret). */
export interface StackFile {
    secretsprovider?: string;
    encryptionsalt?: string;
    config?: Record<string, unknown>;
    [key: string]: unknown;
}

/** A scalar's value as Pulumi passes it: the text as written for numbers and booleans, "" for null. */
function scalarText(scalar: Scalar): string {
    if (typeof scalar.value === "string") {
        return scalar.value;
    }
    if (scalar.value === null || scalar.value === undefined) {
        return "";
    }
    return scalar.source ?? String(scalar.value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
    return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * Parses a stack file's text; `file` (repository-relative) names it in a
 * StackFileError. An empty file (or one of comments only) is `null`, as YAML
 * has it; anything else is the document with its config values as text.
 */
export function parseStackFile(text: string, file: string): unknown {
    const lineCounter = new LineCounter();
    const doc = parseDocument(text, { lineCounter, prettyErrors: false });
    const [error] = doc.errors;
    if (error !== undefined) {
        const reason = error.message.charAt(0).toLowerCase() + error.message.slice(1);
        throw new StackFileError(`${file}: ${reason} at line ${lineCounter.linePos(error.pos[0]).line}`);
    }
    const js = doc.toJS() as unknown;
    const configNode = isMap(doc.contents) ? doc.contents.get("config", true) : undefined;
    if (isRecord(js) && isRecord(js.config) && isMap(configNode)) {
        for (const pair of configNode.items) {
            if (isScalar(pair.key) && (pair.value === null || isScalar(pair.value))) {
                js.config[String(pair.key.value)] = pair.value === null ? "" : scalarText(pair.value);
            }
        }
    }
    return js;
}

/**
 * The stack file of `stack` in the project at `projectDir`, parsed
 * (parseStackFile); undefined when the stack has no file. A file that is not
 * a mapping (an empty one) reads as `{}`.
 */
export function readStackFile(projectDir: string, stack: string): StackFile | undefined {
    const file = stackFilePath(stack);
    const full = path.join(projectDir, file);
    if (!fs.existsSync(full)) {
        return undefined;
    }
    const doc = parseStackFile(fs.readFileSync(full, "utf8"), file);
    return isRecord(doc) ? doc : {};
}

/** A config value of a parsed stack file as text; undefined when it is unset, empty or not text (a secret's mapping). */
export function stackConfigText(stackFile: StackFile | undefined, key: string): string | undefined {
    const value = isRecord(stackFile?.config) ? stackFile.config[key] : undefined;
    return typeof value === "string" && value !== "" ? value : undefined;
}
