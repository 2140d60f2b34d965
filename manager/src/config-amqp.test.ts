/**
 * The broker settings of managerConfig: a URL file with the credentials, or a
 * password-less URL file with --amqp-password-file (the broker's generated
 * password, copied into the manager's Secret beside the URL).
 * (config.test.ts has the other settings.)
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import { ConfigError, managerConfig, type ServerOptions, withAmqpPassword } from "./config";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "manager-config-amqp-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string): string {
    const p = path.join(dir, name);
    fs.writeFileSync(p, content);
    return p;
}

const base: ServerOptions = { tokenSecretFile: file("token", "k".repeat(32)), embeddedDatabase: "memory" };
const HOST = "platform-events.rabbitmq.svc.cluster.local";
const passwordLess = file("url", `amqp://platform@${HOST}:5672/\n`);

function refused(options: ServerOptions): string {
    try {
        managerConfig(options, dir);
    } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as Error).message;
    }
    throw new Error("the settings were accepted");
}

describe("managerConfig: the broker", () => {
    it("takes a whole URL from --amqp-url-file, as before", () => {
        const config = managerConfig({ ...base, amqpUrlFile: file("whole", "amqp://platform:pw@broker:5672/\n") }, dir);
        expect(config.amqpUrl).toBe("amqp://platform:pw@broker:5672/");
    });

    it("puts the --amqp-password-file password into a password-less URL, keeping host, port and vhost", () => {
        const config = managerConfig({ ...base, amqpUrlFile: passwordLess, amqpPasswordFile: file("password", "Abc123xyz\n") }, dir);
        expect(config.amqpUrl).toBe(`amqp://platform:Abc123xyz@${HOST}:5672/`);
        const vhost = managerConfig({ ...base, amqpUrlFile: file("vhost", "amqps://platform@broker:5671/events?heartbeat=30"), amqpPasswordFile: file("password2", "x") }, dir);
        expect(vhost.amqpUrl).toBe("amqps://platform:x@broker:5671/events?heartbeat=30");
    });

    it("percent-encodes a password with URL characters", () => {
        const url = withAmqpPassword("amqp://platform@broker:5672/", "p@ss:w/rd%");
        expect(url).toBe("amqp://platform:p%40ss%3Aw%2Frd%25@broker:5672/");
        expect(decodeURIComponent(new URL(url).password)).toBe("p@ss:w/rd%");
    });

    it("refuses a URL holding a password already, a URL without a user, a password file that cannot be read, and an empty one", () => {
        expect(refused({ ...base, amqpUrlFile: file("with-pw", "amqp://platform:old@broker:5672/"), amqpPasswordFile: file("p1", "new") })).toBe(
            "--amqp-url-file and --amqp-password-file: the URL holds a password already; allowed: a URL without one (amqp://user@host:5672/)",
        );
        expect(refused({ ...base, amqpUrlFile: file("no-user", "amqp://broker:5672/"), amqpPasswordFile: file("p2", "x") })).toBe(
            "--amqp-url-file: the URL names no user; allowed with --amqp-password-file: amqp://user@host:5672/",
        );
        expect(refused({ ...base, amqpUrlFile: passwordLess, amqpPasswordFile: path.join(dir, "missing") })).toBe(`--amqp-password-file: cannot read ${path.join(dir, "missing")} (ENOENT)`);
        expect(refused({ ...base, amqpUrlFile: passwordLess, amqpPasswordFile: file("empty", "\n") })).toBe(`--amqp-password-file: ${path.join(dir, "empty")} is empty`);
        expect(refused({ ...base, amqpUrlFile: file("bad", "amqp://[broker/"), amqpPasswordFile: file("p3", "x") })).toBe("--amqp-url-file: the file does not hold a valid amqp:// or amqps:// URL");
        // The scheme is checked first, whatever the password file.
        expect(refused({ ...base, amqpUrlFile: file("http", "http://platform@broker/"), amqpPasswordFile: file("p4", "x") })).toBe("--amqp-url-file: the file does not hold an amqp:// or amqps:// URL");
    });

    it("never puts the password in an error message", () => {
        for (const url of ["amqp://platform:hunter2@broker:5672/", "amqp://:hunter2@broker:5672/"]) {
            const message = refused({ ...base, amqpUrlFile: file("with-pw2", url), amqpPasswordFile: file("p5", "swordfish") });
            expect(message).not.toContain("hunter2");
            expect(message).not.toContain("swordfish");
        }
    });

    it("leaves the database settings to their own flags", () => {
        const config = managerConfig({ ...base, embeddedDatabase: undefined, amqpUrlFile: passwordLess, amqpPasswordFile: file("p6", "x"), databaseUrlFile: file("db", "postgres://app@db/app"), databasePasswordFile: file("dbpw", "y") }, dir);
        expect(config.amqpUrl).toBe(`amqp://platform:x@${HOST}:5672/`);
        expect(config.database).toEqual({ kind: "server", url: "postgres://app:y@db/app" });
    });
});
