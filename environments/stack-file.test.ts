import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import { stackEntries } from "../scripts/affected-stacks";
import { loadEnvironmentConfig } from "./config";
import { parseStackFile, readStackFile, stackConfigText, StackFileError } from "./stack-file";
import { StackTemplateError, templateOfStack } from "./template-registry";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-file-"));
fs.mkdirSync(path.join(dir, "stacks"));
const stack = (name: string, text: string) => fs.writeFileSync(path.join(dir, "stacks", `Pulumi.${name}.yaml`), text);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A dev stack written with YAML numbers and booleans, as people write them. */
const TYPED_DEV = [
    "secretsprovider: hashivault://pulumi-dev",
    "config:",
    "  platform:template: dev",
    "  platform:description: Dev on Azure.",
    "  platform:owner: platform-team@example.com",
    "  platform:costCenter: PLT-0001",
    "  platform:repository: platform-gitops",
    "  platform:cloud: azure",
    "  platform:region: westeurope",
    "  platform:clusterAdmins: 7f3c2a10-5b1e-4d8a-9c3f-2e6b8a1d4f90",
    "  platform:ingressDomain: dev.example.com",
    "  platform:acmeEmail: platform-team@example.com",
    "  platform:nodeMin: 3",
    "  platform:nodeMax: 006",
    "  platform:protect: true",
    "",
].join("\n");

describe("stack file values, as Pulumi passes them to the program", () => {
    it("reads YAML numbers and booleans as the text they are written as", () => {
        const doc = parseStackFile("config:\n  a:b: true\n  a:c: 3\n  a:d: 0x10\n  a:e: 3.0\n  a:f: \"7\"\n  a:g:\n  a:h: ~\n  a:i:\n    secure: v1:abc\n", "f.yaml");
        expect(doc).toEqual({ config: { "a:b": "true", "a:c": "3", "a:d": "0x10", "a:e": "3.0", "a:f": "7", "a:g": "", "a:h": "", "a:i": { secure: "v1:abc" } } });
        expect(parseStackFile("", "f.yaml")).toBeNull();
    });

    it("gives the loader what Pulumi gives it: a stack of YAML numbers and booleans loads (nodeMin: 3, protect: true)", () => {
        stack("dev-typed", TYPED_DEV);
        const file = readStackFile(dir, "dev-typed");
        expect(file?.config).toMatchObject({ "platform:nodeMin": "3", "platform:nodeMax": "006", "platform:protect": "true" });
        expect(stackConfigText(file, "platform:protect")).toBe("true");
        const config = Object.fromEntries(Object.entries(file?.config ?? {}).filter((e): e is [string, string] => typeof e[1] === "string"));
        expect(loadEnvironmentConfig({ ...config, "platform:name": "dev-typed" })).toMatchObject({ nodeMin: 3, nodeMax: 6, protect: true });
        expect(templateOfStack(dir, "dev-typed")).toBe("dev");
    });

    it("reads a missing file as undefined, an empty one as {}", () => {
        stack("blank", "# nothing yet\n");
        expect(readStackFile(dir, "none")).toBeUndefined();
        expect(readStackFile(dir, "blank")).toEqual({});
        expect(stackConfigText(readStackFile(dir, "blank"), "platform:protect")).toBeUndefined();
    });
});

describe("a stack file that is not valid YAML", () => {
    stack("tabs", "config:\n  platform:template: local\n  platform:owner: a@example.com\n  platform:description: x\n\tplatform:costCenter: PLT-0001\n");
    stack("twice", "config:\n  platform:template: local\n  platform:template: dev\n");
    stack("unclosed", "config:\n  platform:template: local\n  platform:clusterAdmins: [a, b\n");

    it("is named with its file, the parser's reason and the line, not a stack trace", () => {
        expect(() => readStackFile(dir, "tabs")).toThrow(new StackFileError("stacks/Pulumi.tabs.yaml: tabs are not allowed as indentation at line 5"));
        expect(() => readStackFile(dir, "twice")).toThrow(new StackFileError("stacks/Pulumi.twice.yaml: map keys must be unique at line 3"));
        expect(() => readStackFile(dir, "unclosed")).toThrow(/^stacks\/Pulumi\.unclosed\.yaml: .+ at line \d+$/);
        const message = (() => {
            try {
                readStackFile(dir, "tabs");
            } catch (e) {
                return (e as Error).message;
            }
            return "";
        })();
        expect(message).not.toContain("\n");
    });

    it("is refused the same way where a stack's template or program is looked up", () => {
        expect(() => templateOfStack(dir, "tabs")).toThrow("stacks/Pulumi.tabs.yaml: tabs are not allowed as indentation at line 5");
        expect(() => templateOfStack(dir, "tabs")).not.toThrow(StackTemplateError);
        expect(() => stackEntries(dir, "tabs")).toThrow("stacks/Pulumi.tabs.yaml: tabs are not allowed as indentation at line 5");
    });
});
