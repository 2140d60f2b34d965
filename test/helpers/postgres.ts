/**
 * A throwaway Postgres server for tests: Debian's `initdb` and `postgres` run
 * as a child process (not the system cluster), with its data, socket and
 * password file in a temp dir and a random superuser password, listening on
 * 127.0.0.1 on a free port, so it never meets a server already on the machine
 * and leaves nothing behind.
 *
 * Postgres refuses to run as root: as root, initdb and postgres run as the
 * `postgres` system user (else `nobody`), which gets the temp dir.
 */
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { exited, killGroup, sleep, tailBuffer } from "./child-process";
import { freePorts } from "./rabbitmq";

export interface PostgresServer {
    /** postgres://user:password@127.0.0.1:port/postgres */
    url: string;
    host: string;
    port: number;
    user: string;
    password: string;
    /** The temp dir: data, socket (removed by stop()). */
    dir: string;
    /** A URL for another database on the same server. */
    urlFor(database: string): string;
    /** Fast shutdown (SIGINT), SIGKILL if it lingers, then removes the temp dir. */
    stop(): Promise<void>;
}

export interface PostgresServerOptions {
    /** How long initdb plus the first connection may take. Default: 60000. */
    startTimeoutMs?: number;
}

const INSTALL_HINT =
    "Postgres is not installed: the store tests need a real Postgres server (/usr/lib/postgresql/<version>/bin/postgres). " +
    "Install it with `apt-get install -y --no-install-recommends postgresql` (as root; toolchain/ensure-test-packages.sh does this), then run the tests again.";

/** The newest Debian Postgres: /usr/lib/postgresql/<version>/bin. */
function findBinaries(): { initdb: string; postgres: string; isready: string } {
    const base = "/usr/lib/postgresql";
    const versions = fs.existsSync(base)
        ? fs
              .readdirSync(base)
              .filter((v) => /^\d+$/.test(v))
              .sort((a, b) => Number(b) - Number(a))
        : [];
    for (const version of versions) {
        const bin = path.join(base, version, "bin");
        if (fs.existsSync(path.join(bin, "initdb")) && fs.existsSync(path.join(bin, "postgres"))) {
            return { initdb: path.join(bin, "initdb"), postgres: path.join(bin, "postgres"), isready: path.join(bin, "pg_isready") };
        }
    }
    throw new Error(INSTALL_HINT);
}

interface RunAs {
    uid: number;
    gid: number;
}

/** Who runs the server: this process, or (as root) an unprivileged system user. */
function runAs(): RunAs | undefined {
    if (process.getuid?.() !== 0) {
        return undefined;
    }
    const passwd = fs.readFileSync("/etc/passwd", "utf8").split("\n");
    for (const name of ["postgres", "nobody"]) {
        const fields = passwd.find((line) => line.startsWith(`${name}:`))?.split(":");
        if (fields && fields.length > 3) {
            return { uid: Number(fields[2]), gid: Number(fields[3]) };
        }
    }
    throw new Error("running as root, and there is neither a `postgres` nor a `nobody` user to run Postgres as (it refuses to run as root)");
}

/** The unprivileged user must reach the temp dir: TMPDIR may be under a private home. */
function tempBase(): string {
    const base = os.tmpdir();
    for (let dir = base; ; dir = path.dirname(dir)) {
        if ((fs.statSync(dir).mode & 0o001) === 0) {
            return "/tmp";
        }
        if (path.dirname(dir) === dir) {
            return base;
        }
    }
}

function run(command: string, args: string[], options: { cwd: string; user?: RunAs; env: NodeJS.ProcessEnv; timeoutMs: number }): Promise<void> {
    return new Promise((resolve, reject) => {
        const output = tailBuffer();
        const child = spawn(command, args, { cwd: options.cwd, env: options.env, uid: options.user?.uid, gid: options.user?.gid, stdio: ["ignore", "pipe", "pipe"] });
        child.stdout?.on("data", (chunk: Buffer) => output.push(chunk));
        child.stderr?.on("data", (chunk: Buffer) => output.push(chunk));
        const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs);
        child.once("error", (error) => {
            clearTimeout(timer);
            reject(error);
        });
        child.once("exit", (code, signal) => {
            clearTimeout(timer);
            if (code === 0) {
                resolve();
            } else {
                reject(new Error(`${path.basename(command)} exited (${code ?? signal}):\n${output.text()}`));
            }
        });
    });
}

export async function startPostgres(options: PostgresServerOptions = {}): Promise<PostgresServer> {
    const { initdb, postgres, isready } = findBinaries();
    const user = runAs();
    const startTimeoutMs = options.startTimeoutMs ?? 60_000;
    const root = fs.mkdtempSync(path.join(tempBase(), "platform-postgres-"));
    const data = path.join(root, "data");
    const passwordFile = path.join(root, "pwfile");
    const superuser = "platform-test";
    const password = `pw-${randomBytes(12).toString("hex")}`;
    fs.writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
    if (user) {
        fs.chownSync(root, user.uid, user.gid);
        fs.chownSync(passwordFile, user.uid, user.gid);
    }
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("PG")));
    // LC_ALL=C: the server's messages in English and no dependence on the machine's locales.
    const env: NodeJS.ProcessEnv = { ...inherited, HOME: root, LC_ALL: "C", LANG: "C" };

    try {
        await run(
            initdb,
            ["-D", data, "-U", superuser, `--pwfile=${passwordFile}`, "--auth=scram-sha-256", "--encoding=UTF8", "--no-locale", "--no-sync", "--no-instructions"],
            { cwd: root, user, env, timeoutMs: startTimeoutMs },
        );
    } catch (error) {
        fs.rmSync(root, { recursive: true, force: true });
        throw error;
    } finally {
        // Only initdb needs it: the password is in the cluster now.
        fs.rmSync(passwordFile, { force: true });
    }

    const [port] = await freePorts(1);
    const output = tailBuffer();
    const settings = {
        listen_addresses: "127.0.0.1",
        port: String(port),
        unix_socket_directories: root,
        // A test server: durability traded for speed, small memory.
        fsync: "off",
        synchronous_commit: "off",
        full_page_writes: "off",
        shared_buffers: "32MB",
        max_connections: "40",
        // /dev/shm is small in containers.
        dynamic_shared_memory_type: "mmap",
        logging_collector: "off",
    };
    const args = ["-D", data, ...Object.entries(settings).flatMap(([key, value]) => ["-c", `${key}=${value}`])];
    const child = spawn(postgres, args, { cwd: root, env, uid: user?.uid, gid: user?.gid, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout?.on("data", (chunk: Buffer) => output.push(chunk));
    child.stderr?.on("data", (chunk: Buffer) => output.push(chunk));
    // If the test process exits without stop() (a crash, a timeout), do not leave a server behind.
    const onExit = () => killGroup(child);
    process.once("exit", onExit);

    let stopped = false;
    const stop = async (): Promise<void> => {
        if (stopped) {
            return;
        }
        stopped = true;
        if (child.exitCode === null && child.signalCode === null) {
            // SIGINT: fast shutdown (open sessions are ended, then a clean checkpoint).
            child.kill("SIGINT");
            if (!(await exited(child, 15_000))) {
                killGroup(child);
                await exited(child, 5_000);
            }
        }
        process.removeListener("exit", onExit);
        fs.rmSync(root, { recursive: true, force: true });
    };

    const urlFor = (database: string) =>
        `postgres://${encodeURIComponent(superuser)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
    const url = urlFor("postgres");
    const deadline = Date.now() + startTimeoutMs;
    let lastError = "";
    while (Date.now() < deadline) {
        if (child.exitCode !== null || child.signalCode !== null) {
            const message = `postgres exited (${child.exitCode ?? child.signalCode}) before accepting connections:\n${output.text()}`;
            await stop();
            throw new Error(message);
        }
        // pg_isready: the root package has no Postgres client, and readiness needs no login.
        const probe = spawnSync(isready, ["-q", "-h", "127.0.0.1", "-p", String(port), "-d", "postgres", "-U", superuser, "-t", "2"], { env, timeout: 5_000 });
        if (probe.status === 0) {
            return { url, host: "127.0.0.1", port, user: superuser, password, dir: root, urlFor, stop };
        }
        lastError = `pg_isready exit ${probe.status ?? probe.signal}`;
        await sleep(200);
    }
    const message = `postgres did not accept connections on 127.0.0.1:${port} within ${startTimeoutMs} ms (last error: ${lastError}):\n${output.text()}`;
    await stop();
    throw new Error(message);
}
