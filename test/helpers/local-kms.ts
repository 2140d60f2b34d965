/**
 * local-kms (toolchain/local-kms), the AWS KMS API on a free port, as the
 * key service of a real `awskms://` secrets provider: Pulumi's gocloud.dev
 * client encrypts each stack's data key with it, as it would with AWS KMS.
 * One symmetric key, seeded at start, under an alias.
 */
import { ChildProcess, spawn } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { stopWithProcess } from "./child-process";

export interface LocalKms {
    /** The secrets provider URL for the seeded key. */
    providerUrl: string;
    /** Credentials the AWS SDK needs to sign requests (local-kms does not check them). */
    env: NodeJS.ProcessEnv;
    stop(): Promise<void>;
}

const REGION = "eu-west-2";
const ALIAS = "alias/pulumi-review";

function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const port = (server.address() as net.AddressInfo).port;
            server.close(() => resolve(port));
        });
    });
}

async function waitForStart(logFile: string, child: ChildProcess): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
        const log = fs.readFileSync(logFile, "utf8");
        if (log.includes("Local KMS started")) {
            return;
        }
        if (child.exitCode !== null) {
            throw new Error(`local-kms exited with code ${child.exitCode}:\n${log}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`local-kms did not start within 30 s:\n${fs.readFileSync(logFile, "utf8")}`);
}

/** Starts local-kms from PLATFORM_TEST_CLUSTER_BIN (toolchain/ensure-test-cluster.sh builds it); its data and log go to `dir`. */
export async function startLocalKms(dir: string): Promise<LocalKms> {
    const bin = path.join(process.env.PLATFORM_TEST_CLUSTER_BIN ?? "", "local-kms");
    if (!fs.existsSync(bin)) {
        throw new Error(`local-kms is not at ${bin}: run the tests with ./platform test (toolchain/ensure-test-cluster.sh builds it)`);
    }
    fs.mkdirSync(dir, { recursive: true });
    const keyId = crypto.randomUUID();
    const seed = path.join(dir, "seed.yaml");
    fs.writeFileSync(
        seed,
        [
            "Keys:",
            "  Symmetric:",
            "    Aes:",
            "      - Metadata:",
            `          KeyId: ${keyId}`,
            "        BackingKeys:",
            `          - ${crypto.randomBytes(32).toString("hex")}`,
            "Aliases:",
            `  - AliasName: ${ALIAS}`,
            `    TargetKeyId: ${keyId}`,
            "",
        ].join("\n"),
    );
    const port = await freePort();
    const logFile = path.join(dir, "local-kms.log");
    // A file, not a pipe: nobody reads a pipe while a test waits on a job.
    const log = fs.openSync(logFile, "w");
    const child = spawn(bin, [], {
        env: { PORT: String(port), KMS_REGION: REGION, KMS_SEED_PATH: seed, KMS_DATA_PATH: path.join(dir, "data") },
        stdio: ["ignore", log, log],
    });
    fs.closeSync(log);
    const stop = stopWithProcess(child);
    await waitForStart(logFile, child).catch((e: unknown) => {
        child.kill("SIGKILL");
        throw e;
    });
    return {
        providerUrl: `awskms://${ALIAS}?region=${REGION}&endpoint=http://127.0.0.1:${port}`,
        env: { AWS_ACCESS_KEY_ID: "local-kms", AWS_SECRET_ACCESS_KEY: "local-kms", AWS_REGION: REGION },
        stop,
    };
}
