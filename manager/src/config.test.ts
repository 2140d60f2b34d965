import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import { ConfigError, managerConfig, type ServerOptions } from "./config";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "manager-config-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string): string {
    const p = path.join(dir, name);
    fs.writeFileSync(p, content);
    return p;
}

const base: ServerOptions = {
    amqpUrlFile: file("amqp", "amqp://manager:secret@localhost:5672/\n"),
    tokenSecretFile: file("token", "k".repeat(32)),
    embeddedDatabase: "memory",
};

function refused(options: ServerOptions): string {
    try {
        managerConfig(options, dir);
    } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as Error).message;
    }
    throw new Error("the settings were accepted");
}

describe("managerConfig", () => {
    it("reads credentials from files and applies the defaults", () => {
        const config = managerConfig(base, dir);
        expect(config.amqpUrl).toBe("amqp://manager:secret@localhost:5672/");
        expect(config).toMatchObject({ role: "secondary", host: "0.0.0.0", port: 8080, reconcileSeconds: 300, driftCheckSeconds: 3600, database: { kind: "embedded" } });
    });

    it("takes 0 (no drift checks) or 60 s to a week between drift checks", () => {
        expect(managerConfig({ ...base, driftCheckSeconds: "0" }, dir).driftCheckSeconds).toBe(0);
        expect(managerConfig({ ...base, driftCheckSeconds: "60" }, dir).driftCheckSeconds).toBe(60);
        for (const bad of ["30", "-1", "1h", "604801"]) {
            expect(refused({ ...base, driftCheckSeconds: bad })).toBe(
                `--drift-check-seconds: "${bad}" is not allowed; allowed: 0 (no drift checks) or a whole number from 60 to 604800`,
            );
        }
    });

    it("refuses bad settings naming the setting", () => {
        expect(refused({ ...base, amqpUrlFile: undefined })).toMatch(/^--amqp-url-file is required/);
        expect(refused({ ...base, amqpUrlFile: file("not-amqp", "http://x") })).toMatch(/^--amqp-url-file: the file does not hold an amqp/);
        expect(refused({ ...base, amqpUrlFile: path.join(dir, "missing") })).toBe(`--amqp-url-file: cannot read ${path.join(dir, "missing")} (ENOENT)`);
        expect(refused({ ...base, reconcileSeconds: "5" })).toBe('--reconcile-seconds: "5" is not allowed; allowed: a whole number from 10 to 86400');
        expect(refused({ ...base, listen: "0.0.0.0:99999" })).toMatch(/^--listen: "99999" is not allowed/);
        expect(refused({ ...base, jwksFile: file("jwks", "{}") })).toMatch(/^authentication: set exactly one of/);
    });

    it("never puts a credential in an error message", () => {
        const message = refused({ ...base, amqpUrlFile: file("bad-scheme", "redis://user:hunter2@host") });
        expect(message).not.toContain("hunter2");
    });
});
