/**
 * Temporary directories that a test file removes when it ends, so that runs
 * leave nothing in the system's temp directory. Importing this module adds
 * one `afterAll` to the importing file: call `tempDir` from tests, hooks or
 * the file's top level alike.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll } from "vitest";

const made: string[] = [];

afterAll(() => {
    for (const dir of made.splice(0)) {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

/** A new empty directory under the system's temp directory, named `<prefix>XXXXXX`, removed after the file's tests. */
export function tempDir(prefix: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    made.push(dir);
    return dir;
}
