/**
 * A throwaway RabbitMQ broker for tests: Debian's `rabbitmq-server` run as a child
 * process (not the system service), with its own node name, ports, Erlang cookie,
 * epmd, config, data and logs in a temp dir, so it never meets a broker already on
 * the machine and leaves nothing behind.
 *
 * Variables below are the ones rabbitmq-server 3.10 (Debian 12) reads
 * (rabbit_common's rabbit_env); the shell wrapper /usr/sbin/rabbitmq-server is
 * bypassed because, run as root, it switches to the `rabbitmq` user and writes to
 * /var/log/rabbitmq.
 */
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { connect } from "amqplib";

import { exited, killGroup, sleep, tailBuffer } from "./child-process";

export interface RabbitBroker {
    /** amqp://user:password@127.0.0.1:port/ */
    url: string;
    host: string;
    port: number;
    user: string;
    password: string;
    nodeName: string;
    /** Stops the node (rabbitmqctl stop, then SIGKILL) and its epmd, and removes the temp dir. */
    stop(): Promise<void>;
    /** Stops the node as a broker restart would, keeping its data, ports and credentials (durable queues and persistent messages survive). */
    pause(): Promise<void>;
    /** Starts a paused node again on the same data and ports; resolves once it accepts AMQP connections. */
    resume(): Promise<void>;
}

export interface RabbitBrokerOptions {
    /** How long the broker may take to accept AMQP connections. Default: 60000. */
    startTimeoutMs?: number;
}

const INSTALL_HINT =
    "rabbitmq-server is not installed: the event tests need a real RabbitMQ broker. " +
    "Install it with `apt-get install -y --no-install-recommends rabbitmq-server` (as root; .ci/run does this), then run the tests again.";

/** Debian's real scripts first (see above); otherwise whatever is on PATH (e.g. the generic-unix tarball). */
function findScripts(): { server: string; ctl: string } {
    const debian = "/usr/lib/rabbitmq/bin";
    if (fs.existsSync(path.join(debian, "rabbitmq-server"))) {
        return { server: path.join(debian, "rabbitmq-server"), ctl: path.join(debian, "rabbitmqctl") };
    }
    for (const dir of (process.env.PATH ?? "").split(path.delimiter).filter(Boolean)) {
        if (fs.existsSync(path.join(dir, "rabbitmq-server")) && fs.existsSync(path.join(dir, "rabbitmqctl"))) {
            return { server: path.join(dir, "rabbitmq-server"), ctl: path.join(dir, "rabbitmqctl") };
        }
    }
    throw new Error(INSTALL_HINT);
}

/** Distinct free ports on 127.0.0.1: all are held open together so the kernel cannot hand out one twice. */
export async function freePorts(count: number): Promise<number[]> {
    const servers = await Promise.all(
        Array.from(
            { length: count },
            () =>
                new Promise<net.Server>((resolve, reject) => {
                    const server = net.createServer();
                    server.once("error", reject);
                    server.listen(0, "127.0.0.1", () => resolve(server));
                }),
        ),
    );
    const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    return ports;
}

function readTail(file: string, limit = 4096): string {
    try {
        return fs.readFileSync(file, "utf8").slice(-limit);
    } catch {
        return "";
    }
}

export async function startRabbitMQ(options: RabbitBrokerOptions = {}): Promise<RabbitBroker> {
    const { server, ctl } = findScripts();
    const startTimeoutMs = options.startTimeoutMs ?? 60_000;
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "platform-rabbitmq-"));
    const [port, distPort, epmdPort] = await freePorts(3);
    const nodeName = `platform-test-${randomBytes(4).toString("hex")}@localhost`;
    const user = "platform-test";
    const password = `pw-${randomBytes(12).toString("hex")}`;
    for (const dir of ["home", "mnesia", "log", "conf.d"]) {
        fs.mkdirSync(path.join(root, dir));
    }
    // Empty files instead of /etc/rabbitmq's: the machine's settings must not leak in.
    fs.writeFileSync(path.join(root, "rabbitmq-env.conf"), "");
    fs.writeFileSync(path.join(root, "rabbitmq.conf"), "log.console = false\nlog.file.level = info\n");
    // No plugins: the management plugin alone adds a few seconds to every start.
    fs.writeFileSync(path.join(root, "enabled_plugins"), "[].\n");

    const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("RABBITMQ_") && !key.startsWith("ERL_")));
    const env: NodeJS.ProcessEnv = {
        ...inherited,
        // Erlang writes a random cookie to $HOME/.erlang.cookie: private to this broker and its rabbitmqctl.
        HOME: path.join(root, "home"),
        RABBITMQ_NODENAME: nodeName,
        RABBITMQ_NODE_IP_ADDRESS: "127.0.0.1",
        RABBITMQ_NODE_PORT: String(port),
        RABBITMQ_DIST_PORT: String(distPort),
        RABBITMQ_MNESIA_BASE: path.join(root, "mnesia"),
        RABBITMQ_LOG_BASE: path.join(root, "log"),
        RABBITMQ_CONF_ENV_FILE: path.join(root, "rabbitmq-env.conf"),
        RABBITMQ_CONFIG_FILE: path.join(root, "rabbitmq.conf"),
        RABBITMQ_CONFIG_FILES: path.join(root, "conf.d", "*.conf"),
        RABBITMQ_ADVANCED_CONFIG_FILE: path.join(root, "advanced.config"),
        RABBITMQ_ENABLED_PLUGINS_FILE: path.join(root, "enabled_plugins"),
        RABBITMQ_DEFAULT_USER: user,
        RABBITMQ_DEFAULT_PASS: password,
        // A private epmd on loopback, stopped with the broker; distribution on loopback too.
        ERL_EPMD_PORT: String(epmdPort),
        ERL_EPMD_ADDRESS: "127.0.0.1",
        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: "-kernel inet_dist_use_interface {127,0,0,1}",
    };

    let output = tailBuffer();
    let child: ChildProcess;
    // If the test process exits without stop() (a crash, a timeout), do not leave a broker behind.
    const onExit = () => killGroup(child);
    const spawnNode = (): void => {
        output = tailBuffer();
        // Own process group, so stop() can kill erl and beam together.
        child = spawn(server, [], { env, cwd: root, detached: true, stdio: ["ignore", "pipe", "pipe"] });
        child.stdout?.on("data", (chunk: Buffer) => output.push(chunk));
        child.stderr?.on("data", (chunk: Buffer) => output.push(chunk));
    };
    spawnNode();
    process.once("exit", onExit);

    /** rabbitmqctl stop, then SIGKILL; the data stays. */
    const stopNode = async (): Promise<void> => {
        if (child.exitCode === null && child.signalCode === null) {
            spawnSync(ctl, ["-n", nodeName, "stop"], { env, cwd: root, stdio: "ignore", timeout: 30_000 });
            if (!(await exited(child, 15_000))) {
                killGroup(child);
                await exited(child, 5_000);
            }
        }
    };

    let stopped = false;
    const stop = async (): Promise<void> => {
        if (stopped) {
            return;
        }
        stopped = true;
        await stopNode();
        // epmd daemonises out of the process group; with no node left, -kill stops it.
        spawnSync("epmd", ["-kill"], { env, stdio: "ignore", timeout: 5_000 });
        process.removeListener("exit", onExit);
        fs.rmSync(root, { recursive: true, force: true });
    };

    const url = `amqp://${user}:${password}@127.0.0.1:${port}/`;
    const logFile = path.join(root, "log", `${nodeName}.log`);
    /** Waits until the node accepts AMQP connections; throws (the node left running) when it does not. */
    const waitForAmqp = async (): Promise<void> => {
        const deadline = Date.now() + startTimeoutMs;
        let lastError = "";
        while (Date.now() < deadline) {
            if (child.exitCode !== null || child.signalCode !== null) {
                throw new Error(`rabbitmq-server exited (${child.exitCode ?? child.signalCode}) before accepting connections:\n${output.text()}\n${readTail(logFile)}`);
            }
            try {
                const model = await connect(url, { timeout: 2_000 });
                await model.close();
                return;
            } catch (error) {
                lastError = error instanceof Error ? error.message : String(error);
                await sleep(250);
            }
        }
        throw new Error(`rabbitmq-server did not accept AMQP connections on 127.0.0.1:${port} within ${startTimeoutMs} ms (last error: ${lastError}):\n${output.text()}\n${readTail(logFile)}`);
    };
    const pause = async (): Promise<void> => {
        if (stopped) {
            throw new Error("the broker is stopped");
        }
        await stopNode();
    };
    const resume = async (): Promise<void> => {
        if (stopped) {
            throw new Error("the broker is stopped");
        }
        if (child.exitCode === null && child.signalCode === null) {
            return;
        }
        spawnNode();
        await waitForAmqp();
    };
    try {
        await waitForAmqp();
    } catch (error) {
        await stop();
        throw error;
    }
    return { url, host: "127.0.0.1", port, user, password, nodeName, stop, pause, resume };
}
