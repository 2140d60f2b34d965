/**
 * The manager's settings, from its command line and environment, checked
 * before anything connects: a bad value stops it naming the setting and what
 * is allowed. Credentials are read from files (mounted secrets), never taken
 * on the command line, where `ps` and logs would show them.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export class ConfigError extends Error {}

export interface ManagerConfig {
    /** `primary` (--primary) executes commands; a `secondary` (the default: a disaster-recovery cluster's manager) serves reads fed by the primary's notifications and refuses commands. */
    role: "primary" | "secondary";
    host: string;
    port: number;
    /** AMQP URL with credentials (from a file; the password possibly from a file of its own, --amqp-password-file). */
    amqpUrl: string;
    database: { kind: "server"; url: string } | { kind: "embedded"; dataDir?: string };
    /** The checkout of this repository whose program the manager runs. */
    projectDir: string;
    /** platform:* defaults of every environment it creates (where and how it deploys). */
    stackDefaults: Record<string, string>;
    repository: string;
    /** Commands executed at once (each is a whole pulumi run). */
    concurrency: number;
    /** Bearer token verification: an HS256 secret file or a JWKS file, with issuer and audience. */
    auth: { secretFile?: string; jwksFile?: string; issuer: string; audience: string };
    /** Leader election among replicas (in a cluster); none: this process is the only one. */
    lease?: { namespace: string; name: string; identity: string; kubeconfig?: string };
    /** Seconds between reconciles of the read model with the state backend. */
    reconcileSeconds: number;
    /** Seconds between drift checks of the deployed environments (by the manager that executes commands); 0: none. */
    driftCheckSeconds: number;
}

/** What the command line gives (commander's option names). */
export interface ServerOptions {
    primary?: boolean;
    listen?: string;
    amqpUrlFile?: string;
    amqpPasswordFile?: string;
    databaseUrlFile?: string;
    databasePasswordFile?: string;
    embeddedDatabase?: string;
    projectDir?: string;
    stackDefaults?: string;
    repository?: string;
    concurrency?: string;
    tokenSecretFile?: string;
    jwksFile?: string;
    issuer?: string;
    audience?: string;
    leaseNamespace?: string;
    leaseName?: string;
    kubeconfig?: string;
    reconcileSeconds?: string;
    driftCheckSeconds?: string;
}

function readSecretFile(setting: string, file: string): string {
    try {
        const value = fs.readFileSync(file, "utf8").trim();
        if (value === "") {
            throw new ConfigError(`${setting}: ${file} is empty`);
        }
        return value;
    } catch (e) {
        if (e instanceof ConfigError) {
            throw e;
        }
        throw new ConfigError(`${setting}: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? "error"})`);
    }
}

function wholeNumber(setting: string, value: string, min: number, max: number): number {
    const n = Number(value);
    if (!/^[0-9]+$/.test(value) || n < min || n > max) {
        throw new ConfigError(`${setting}: "${value}" is not allowed; allowed: a whole number from ${min} to ${max}`);
    }
    return n;
}

/** 0 turns the checks off; else at least a minute (each check is a refresh of every deployed environment). */
function driftCheckSeconds(value: string): number {
    const n = Number(value);
    if (!/^[0-9]+$/.test(value) || (n !== 0 && (n < 60 || n > 604_800))) {
        throw new ConfigError(`--drift-check-seconds: "${value}" is not allowed; allowed: 0 (no drift checks) or a whole number from 60 to 604800`);
    }
    return n;
}

/** How a password-less URL and its password file are named in messages. */
interface PasswordSettings {
    urlFile: string;
    passwordFile: string;
    /** What the URL file must hold, as messages say it. */
    kind: string;
    /** A password-less URL of that kind. */
    example: string;
}

const DATABASE_PASSWORD: PasswordSettings = {
    urlFile: "--database-url-file",
    passwordFile: "--database-password-file",
    kind: "postgres://",
    example: "postgres://user@host:5432/db",
};
const AMQP_PASSWORD: PasswordSettings = {
    urlFile: "--amqp-url-file",
    passwordFile: "--amqp-password-file",
    kind: "amqp:// or amqps://",
    example: "amqp://user@host:5672/",
};

/**
 * A password-less URL with the password of a password file put in
 * (percent-encoded): the password can come from another Secret than the URL
 * (a server's generated password, copied key by key). Messages never hold
 * the URL or the password.
 */
function insertPassword(url: string, password: string, s: PasswordSettings): string {
    let parsed: URL;
    try {
        parsed = new URL(url);
    } catch {
        throw new ConfigError(`${s.urlFile}: the file does not hold a valid ${s.kind} URL`);
    }
    if (parsed.password !== "") {
        throw new ConfigError(`${s.urlFile} and ${s.passwordFile}: the URL holds a password already; allowed: a URL without one (${s.example})`);
    }
    if (parsed.username === "") {
        throw new ConfigError(`${s.urlFile}: the URL names no user; allowed with ${s.passwordFile}: ${s.example}`);
    }
    parsed.password = encodeURIComponent(password);
    return parsed.toString();
}

/**
 * A password-less postgres:// URL with the password of --database-password-file
 * put in (percent-encoded): the password can come from another Secret than the
 * URL (an in-cluster server's role Secret, copied key by key).
 */
export function withPassword(url: string, password: string): string {
    return insertPassword(url, password, DATABASE_PASSWORD);
}

/**
 * A password-less amqp:// URL with the password of --amqp-password-file put in
 * (percent-encoded): the broker's generated password is copied key by key
 * into the manager's Secret, beside the URL.
 */
export function withAmqpPassword(url: string, password: string): string {
    return insertPassword(url, password, AMQP_PASSWORD);
}

export function managerConfig(options: ServerOptions, defaultProjectDir: string): ManagerConfig {
    const [host, portText] = (options.listen ?? "0.0.0.0:8080").split(/:(?=[0-9]*$)/);
    const port = wholeNumber("--listen", portText ?? "", 0, 65535);
    if (!options.amqpUrlFile) {
        throw new ConfigError("--amqp-url-file is required: a file holding the broker URL (amqp://user:password@host:5672/vhost, or amqp://user@host:5672/vhost with --amqp-password-file), e.g. a mounted secret");
    }
    let amqpUrl = readSecretFile("--amqp-url-file", options.amqpUrlFile);
    if (!/^amqps?:\/\//.test(amqpUrl)) {
        throw new ConfigError("--amqp-url-file: the file does not hold an amqp:// or amqps:// URL");
    }
    if (options.amqpPasswordFile) {
        amqpUrl = withAmqpPassword(amqpUrl, readSecretFile("--amqp-password-file", options.amqpPasswordFile));
    }
    if (options.databaseUrlFile && options.embeddedDatabase) {
        throw new ConfigError("--database-url-file and --embedded-database: choose one (a Postgres server, or the embedded one)");
    }
    const database: ManagerConfig["database"] = options.databaseUrlFile
        ? { kind: "server", url: readSecretFile("--database-url-file", options.databaseUrlFile) }
        : { kind: "embedded", dataDir: options.embeddedDatabase === "memory" ? undefined : (options.embeddedDatabase ?? path.join(os.homedir(), ".platform-manager", "db")) };
    if (database.kind === "server" && !/^postgres(ql)?:\/\//.test(database.url)) {
        throw new ConfigError("--database-url-file: the file does not hold a postgres:// URL");
    }
    if (options.databasePasswordFile) {
        if (database.kind !== "server") {
            throw new ConfigError("--database-password-file needs --database-url-file (the server's URL without the password)");
        }
        database.url = withPassword(database.url, readSecretFile("--database-password-file", options.databasePasswordFile));
    }
    if (!options.tokenSecretFile === !options.jwksFile) {
        throw new ConfigError("authentication: set exactly one of --token-secret-file (HS256 secret) and --jwks-file (public keys)");
    }
    let stackDefaults: Record<string, string> = {};
    if (options.stackDefaults) {
        const parsed: unknown = JSON.parse(readSecretFile("--stack-defaults", options.stackDefaults));
        if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed) || !Object.values(parsed).every((v) => typeof v === "string")) {
            throw new ConfigError("--stack-defaults: the file must hold a JSON object of platform settings to strings, e.g. {\"kubeContext\": \"kind-review\"}");
        }
        stackDefaults = parsed as Record<string, string>;
    }
    if ((options.leaseNamespace === undefined) !== (options.leaseName === undefined)) {
        throw new ConfigError("--lease-namespace and --lease-name go together (leader election among replicas), or neither (a single manager)");
    }
    return {
        role: options.primary ? "primary" : "secondary",
        host,
        port,
        amqpUrl,
        database,
        projectDir: path.resolve(options.projectDir ?? defaultProjectDir),
        stackDefaults,
        repository: options.repository ?? "platform-gitops",
        concurrency: wholeNumber("--concurrency", options.concurrency ?? "2", 1, 16),
        auth: { secretFile: options.tokenSecretFile, jwksFile: options.jwksFile, issuer: options.issuer ?? "platform", audience: options.audience ?? "platform-manager" },
        lease:
            options.leaseNamespace && options.leaseName
                ? { namespace: options.leaseNamespace, name: options.leaseName, identity: `${os.hostname()}-${process.pid}`, kubeconfig: options.kubeconfig }
                : undefined,
        reconcileSeconds: wholeNumber("--reconcile-seconds", options.reconcileSeconds ?? "300", 10, 86_400),
        driftCheckSeconds: driftCheckSeconds(options.driftCheckSeconds ?? "3600"),
    };
}
