/**
 * Whether a resource type takes `tags`, read from the installed SDK's typings
 * (the `<Type>Args` interface), so tests never rely on a hand-kept list.
 */
import * as fs from "node:fs";
import * as path from "node:path";

const SDK_ROOT = path.resolve(__dirname, "../../node_modules/@pulumi");

function argsHaveTags(dtsFile: string, resource: string): boolean {
    if (!fs.existsSync(dtsFile)) {
        return false;
    }
    const dts = fs.readFileSync(dtsFile, "utf8");
    const start = dts.indexOf(`export interface ${resource}Args {`);
    if (start < 0) {
        return false;
    }
    const block = dts.slice(start);
    return /\n {4}tags\?:/.test(block.slice(0, block.indexOf("\n}")));
}

/** `aws:<module>/<file>:<Type>` or `azure-native:<module>:<Type>`; other providers take no cloud tags. */
export function takesTags(type: string): boolean {
    const aws = /^aws:([^/]+)\/([^:]+):(.+)$/.exec(type);
    if (aws) {
        return argsHaveTags(path.join(SDK_ROOT, "aws", aws[1], `${aws[2]}.d.ts`), aws[3]);
    }
    const azure = /^azure-native:([^:]+):(.+)$/.exec(type);
    if (azure) {
        const file = `${azure[2][0].toLowerCase()}${azure[2].slice(1)}.d.ts`;
        return argsHaveTags(path.join(SDK_ROOT, "azure-native", azure[1], file), azure[2]);
    }
    return false;
}
