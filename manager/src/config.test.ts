import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import { ConfigError, managerConfig, type ServerOptions, withAmqpPassword, withPassword } from "./config";

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

/** The database settings: a URL file, or a password-less URL file with --database-password-file (an in-cluster server's role Secret). */
describe("managerConfig: the database", () => {
    const serverBase: ServerOptions = { ...base, embeddedDatabase: undefined };
    const HOST = "platform-postgres-rw.postgres.svc.cluster.local";
    const passwordLess = file("db-url", `postgres://platform_manager@${HOST}:5432/platform_manager?sslmode=require&uselibpqcompat=true\n`);

    it("takes a whole URL from --database-url-file, as before", () => {
        const config = managerConfig({ ...serverBase, databaseUrlFile: file("db-whole", "postgres://app:pw@db.example.com:5432/app\n") }, dir);
        expect(config.database).toEqual({ kind: "server", url: "postgres://app:pw@db.example.com:5432/app" });
    });

    it("puts the --database-password-file password into a password-less URL, keeping host, database and parameters", () => {
        const config = managerConfig({ ...serverBase, databaseUrlFile: passwordLess, databasePasswordFile: file("db-password", "Abc123xyz\n") }, dir);
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
        expect(refused({ ...serverBase, embeddedDatabase: "memory", databasePasswordFile: file("db-p1", "x") })).toBe(
            "--database-password-file needs --database-url-file (the server's URL without the password)",
        );
        expect(refused({ ...serverBase, databaseUrlFile: file("db-with-pw", "postgres://app:old@db/app"), databasePasswordFile: file("db-p2", "new") })).toMatch(
            /^--database-url-file and --database-password-file: the URL holds a password already; allowed: a URL without one/,
        );
        expect(refused({ ...serverBase, databaseUrlFile: file("db-no-user", "postgres://db/app"), databasePasswordFile: file("db-p3", "x") })).toMatch(/^--database-url-file: the URL names no user/);
        expect(refused({ ...serverBase, databaseUrlFile: passwordLess, databasePasswordFile: file("db-empty", "\n") })).toBe(`--database-password-file: ${path.join(dir, "db-empty")} is empty`);
    });

    it("never puts the password in an error message", () => {
        const message = refused({ ...serverBase, databaseUrlFile: file("db-with-pw2", "postgres://app:hunter2@db/app"), databasePasswordFile: file("db-p4", "swordfish") });
        expect(message).not.toContain("hunter2");
        expect(message).not.toContain("swordfish");
    });
});

/**
 * The broker settings: a URL file with the credentials, or a password-less URL
 * file with --amqp-password-file (the broker's generated password, copied into
 * the manager's Secret beside the URL).
 */
describe("managerConfig: the broker", () => {
    const brokerBase: ServerOptions = { ...base, amqpUrlFile: undefined };
    const HOST = "platform-events.rabbitmq.svc.cluster.local";
    const passwordLess = file("amqp-url", `amqp://platform@${HOST}:5672/\n`);

    it("takes a whole URL from --amqp-url-file, as before", () => {
        const config = managerConfig({ ...brokerBase, amqpUrlFile: file("amqp-whole", "amqp://platform:pw@broker:5672/\n") }, dir);
        expect(config.amqpUrl).toBe("amqp://platform:pw@broker:5672/");
    });

    it("puts the --amqp-password-file password into a password-less URL, keeping host, port and vhost", () => {
        const config = managerConfig({ ...brokerBase, amqpUrlFile: passwordLess, amqpPasswordFile: file("amqp-password", "Abc123xyz\n") }, dir);
        expect(config.amqpUrl).toBe(`amqp://platform:Abc123xyz@${HOST}:5672/`);
        const vhost = managerConfig({ ...brokerBase, amqpUrlFile: file("amqp-vhost", "amqps://platform@broker:5671/events?heartbeat=30"), amqpPasswordFile: file("amqp-password2", "x") }, dir);
        expect(vhost.amqpUrl).toBe("amqps://platform:x@broker:5671/events?heartbeat=30");
    });

    it("percent-encodes a password with URL characters", () => {
        const url = withAmqpPassword("amqp://platform@broker:5672/", "p@ss:w/rd%");
        expect(url).toBe("amqp://platform:p%40ss%3Aw%2Frd%25@broker:5672/");
        expect(decodeURIComponent(new URL(url).password)).toBe("p@ss:w/rd%");
    });

    it("refuses a URL holding a password already, a URL without a user, a password file that cannot be read, and an empty one", () => {
        expect(refused({ ...brokerBase, amqpUrlFile: file("amqp-with-pw", "amqp://platform:old@broker:5672/"), amqpPasswordFile: file("amqp-p1", "new") })).toBe(
            "--amqp-url-file and --amqp-password-file: the URL holds a password already; allowed: a URL without one (amqp://user@host:5672/)",
        );
        expect(refused({ ...brokerBase, amqpUrlFile: file("amqp-no-user", "amqp://broker:5672/"), amqpPasswordFile: file("amqp-p2", "x") })).toBe(
            "--amqp-url-file: the URL names no user; allowed with --amqp-password-file: amqp://user@host:5672/",
        );
        expect(refused({ ...brokerBase, amqpUrlFile: passwordLess, amqpPasswordFile: path.join(dir, "missing") })).toBe(`--amqp-password-file: cannot read ${path.join(dir, "missing")} (ENOENT)`);
        expect(refused({ ...brokerBase, amqpUrlFile: passwordLess, amqpPasswordFile: file("amqp-empty", "\n") })).toBe(`--amqp-password-file: ${path.join(dir, "amqp-empty")} is empty`);
        expect(refused({ ...brokerBase, amqpUrlFile: file("amqp-bad", "amqp://[broker/"), amqpPasswordFile: file("amqp-p3", "x") })).toBe("--amqp-url-file: the file does not hold a valid amqp:// or amqps:// URL");
        // The scheme is checked first, whatever the password file.
        expect(refused({ ...brokerBase, amqpUrlFile: file("amqp-http", "http://platform@broker/"), amqpPasswordFile: file("amqp-p4", "x") })).toBe("--amqp-url-file: the file does not hold an amqp:// or amqps:// URL");
    });

    it("never puts the password in an error message", () => {
        for (const url of ["amqp://platform:hunter2@broker:5672/", "amqp://:hunter2@broker:5672/"]) {
            const message = refused({ ...brokerBase, amqpUrlFile: file("amqp-with-pw2", url), amqpPasswordFile: file("amqp-p5", "swordfish") });
            expect(message).not.toContain("hunter2");
            expect(message).not.toContain("swordfish");
        }
    });

    it("leaves the database settings to their own flags", () => {
        const config = managerConfig(
            { ...brokerBase, embeddedDatabase: undefined, amqpUrlFile: passwordLess, amqpPasswordFile: file("amqp-p6", "x"), databaseUrlFile: file("amqp-db", "postgres://app@db/app"), databasePasswordFile: file("amqp-dbpw", "y") },
            dir,
        );
        expect(config.amqpUrl).toBe(`amqp://platform:x@${HOST}:5672/`);
        expect(config.database).toEqual({ kind: "server", url: "postgres://app:y@db/app" });
    });
});
