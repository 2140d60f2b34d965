/**
 * Azurite, the Azure Storage emulator (npm package `azurite`), as a throwaway
 * `azblob://` state backend for engine tests: a child process listening on
 * loopback, its data in a folder of the test's temp dir.
 *
 * It runs in its own process because the engine tests block the event loop on
 * spawnSync("pulumi"): an in-process server would never answer.
 */
import { ChildProcess, spawn } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

import { REPO_ROOT } from "./engine";
import { stopWithProcess } from "./child-process";

/** Azurite's well-known development account and key (public, the same in every Azurite). */
export const AZURITE_ACCOUNT = "devstoreaccount1";
export const AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
const API_VERSION = "2021-12-02";

export interface Azurite {
    /** `http://127.0.0.1:<port>/devstoreaccount1`. */
    endpoint: string;
    /**
     * What the pulumi CLI needs to reach the emulator. gocloud.dev's azureblob
     * driver reads the AZURE_STORAGE_* variables; a real account needs only
     * AZURE_STORAGE_ACCOUNT and a credential, so the backend URL is the same.
     */
    env: NodeJS.ProcessEnv;
    createContainer(container: string): Promise<void>;
    /** Blob names in a container, optionally below a prefix. */
    listBlobs(container: string, prefix?: string): Promise<string[]>;
    stop(): Promise<void>;
}

/** Shared Key authorization (https://learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key). */
function sign(method: string, urlPath: string, query: Record<string, string>, headers: Record<string, string>): string {
    const msHeaders = Object.keys(headers)
        .filter((h) => h.startsWith("x-ms-"))
        .sort()
        .map((h) => `${h}:${headers[h]}\n`)
        .join("");
    const params = Object.keys(query)
        .sort()
        .map((k) => `\n${k.toLowerCase()}:${query[k]}`)
        .join("");
    // Path-style emulator URLs already start with the account, which the resource names again.
    const resource = `/${AZURITE_ACCOUNT}${urlPath}${params}`;
    // VERB, then eleven standard headers (all empty here: no body, no conditions).
    const stringToSign = `${method}\n${"\n".repeat(11)}${msHeaders}${resource}`;
    const signature = crypto.createHmac("sha256", Buffer.from(AZURITE_KEY, "base64")).update(stringToSign, "utf8").digest("base64");
    return `SharedKey ${AZURITE_ACCOUNT}:${signature}`;
}

async function request(endpoint: string, method: string, container: string, query: Record<string, string>): Promise<string> {
    const url = new URL(`${endpoint}/${container}`);
    for (const [k, v] of Object.entries(query)) {
        url.searchParams.set(k, v);
    }
    const headers: Record<string, string> = { "x-ms-date": new Date().toUTCString(), "x-ms-version": API_VERSION };
    headers.authorization = sign(method, url.pathname, query, headers);
    const response = await fetch(url, { method, headers });
    const body = await response.text();
    if (!response.ok) {
        throw new Error(`azurite: ${method} ${url.pathname} answered ${response.status}: ${body}`);
    }
    return body;
}

async function waitForPort(logFile: string, child: ChildProcess): Promise<number> {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
        const log = fs.readFileSync(logFile, "utf8");
        const match = /listens on http:\/\/127\.0\.0\.1:(\d+)/.exec(log);
        if (match) {
            return Number(match[1]);
        }
        if (child.exitCode !== null) {
            throw new Error(`azurite exited with code ${child.exitCode}:\n${log}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`azurite did not start within 30 s:\n${fs.readFileSync(logFile, "utf8")}`);
}

/** Starts the blob service on 127.0.0.1 with a free port; its data and log go to `dir`. */
export async function startAzurite(dir: string): Promise<Azurite> {
    fs.mkdirSync(dir, { recursive: true });
    const logFile = path.join(dir, "azurite.log");
    // A file, not a pipe: nobody reads a pipe while the test blocks on pulumi.
    const log = fs.openSync(logFile, "w");
    const main = path.join(REPO_ROOT, "node_modules", "azurite", "dist", "src", "blob", "main.js");
    const child = spawn(
        process.execPath,
        // Port 0: the kernel picks a free one, printed in the log. The Go SDK in the
        // CLI speaks a newer API version than the emulator knows; the calls it makes are old ones.
        [main, "--blobHost", "127.0.0.1", "--blobPort", "0", "--location", dir, "--silent", "--disableTelemetry", "--skipApiVersionCheck"],
        { stdio: ["ignore", log, log] },
    );
    fs.closeSync(log);
    const stop = stopWithProcess(child);
    const port = await waitForPort(logFile, child).catch((e: unknown) => {
        child.kill("SIGKILL");
        throw e;
    });
    const endpoint = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
    return {
        endpoint,
        env: {
            AZURE_STORAGE_ACCOUNT: AZURITE_ACCOUNT,
            AZURE_STORAGE_KEY: AZURITE_KEY,
            // A domain starting with 127.0.0.1 makes the driver use path-style URLs (account in the path).
            AZURE_STORAGE_DOMAIN: `127.0.0.1:${port}`,
            AZURE_STORAGE_PROTOCOL: "http",
        },
        async createContainer(container) {
            await request(endpoint, "PUT", container, { restype: "container" });
        },
        async listBlobs(container, prefix) {
            const xml = await request(endpoint, "GET", container, { restype: "container", comp: "list", ...(prefix ? { prefix } : {}) });
            return [...xml.matchAll(/<Name>([^<]*)<\/Name>/g)].map((m) => m[1]);
        },
        stop,
    };
}
