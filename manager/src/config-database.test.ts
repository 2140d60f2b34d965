/**
 * The database settings of managerConfig: a URL file, or a password-less URL
 * file with --database-password-file (an in-cluster server's role Secret).
 * (config.test.ts has the other settings.)
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import { ConfigError, managerConfig, type ServerOptions, withPassword } from "./config";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "manager-config-db-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string): string {
    const p = path.join(dir, name);
    fs.writeFileSync(p, content);
    return p;
}

const base: ServerOptions = {
    amqpUrlFile: file("amqp", "amqp://manager:secret@localhost:5672/\n"),
    tokenSecretFile: file("token", "k".repeat(32)),
};
const HOST = "platform-postgres-rw.postgres.svc.cluster.local";
const passwordLess = file("url", `postgres://platform_manager@${HOST}:5432/platform_manager?sslmode=require&uselibpqcompat=true\n`);

function refused(options: ServerOptions): string {
    try {
        managerConfig(options, dir);
    } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as Error).message;
    }
    throw new Error("the settings were accepted");
}

describe("managerConfig: the database", () => {
    it("takes a whole URL from --database-url-file, as before", () => {
        const config = managerConfig({ ...base, databaseUrlFile: file("whole", "postgres://app:pw@db.example.com:5432/app\n") }, dir);
        expect(config.database).toEqual({ kind: "server", url: "postgres://app:pw@db.example.com:5432/app" });
    });

    it("puts the --database-password-file password into a password-less URL, keeping host, database and parameters", () => {
        const config = managerConfig({ ...base, databaseUrlFile: passwordLess, databasePasswordFile: file("password", "Abc123xyz\n") }, dir);
        expect(config.database).toEqual({
            kind: "server",
            url: `postgres://platform_manager:Abc123xyz@${HOST}:5432/platform_manager?sslmode=require&uselibpqcompat=true`,
        });
    });

    it("percent-encodes a password with URL characters", () => {
        const url = withPassword("postgres://app@db:5432/app", "p@ss:w/rd%");
        expect(url).toBe("postgres://app:p%40ss%3Aw%2Frd%25@db:5432/app");
        expect(decodeURIComponent(new URL(url).password)).toBe("p@ss:w/rd%");
    });

    it("refuses a password file without a URL file, a URL holding a password already, a URL without a user, and an empty password file", () => {
        expect(refused({ ...base, embeddedDatabase: "memory", databasePasswordFile: file("p1", "x") })).toBe(
            "--database-password-file needs --database-url-file (the server's URL without the password)",
        );
        expect(refused({ ...base, databaseUrlFile: file("with-pw", "postgres://app:old@db/app"), databasePasswordFile: file("p2", "new") })).toMatch(
            /^--database-url-file and --database-password-file: the URL holds a password already; allowed: a URL without one/,
        );
        expect(refused({ ...base, databaseUrlFile: file("no-user", "postgres://db/app"), databasePasswordFile: file("p3", "x") })).toMatch(/^--database-url-file: the URL names no user/);
        expect(refused({ ...base, databaseUrlFile: passwordLess, databasePasswordFile: file("empty", "\n") })).toBe(`--database-password-file: ${path.join(dir, "empty")} is empty`);
    });

    it("never puts the password in an error message", () => {
        const message = refused({ ...base, databaseUrlFile: file("with-pw2", "postgres://app:hunter2@db/app"), databasePasswordFile: file("p4", "swordfish") });
        expect(message).not.toContain("hunter2");
        expect(message).not.toContain("swordfish");
    });
});
