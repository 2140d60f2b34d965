/**
 * The three Lease calls leader election needs (read, create, replace), behind
 * one small interface, and two ways to make it:
 *
 * - `httpsLeaseClient(connection)`: node:https straight to the API server;
 *   `inClusterConnection()` gives the pod's service-account connection. No
 *   dependency beyond Node, so it works on every Node the repository supports.
 * - `kubeconfigConnection(file)`: the same client from a kubeconfig file
 *   (certificates or a token; @kubernetes/client-node 2.x needs Node 22.19+,
 *   so it is not used).
 *
 * Every call takes an AbortSignal (the elector's timeouts cancel the request
 * itself, not just the wait) and fails with a `LeaseApiError` carrying the HTTP
 * status (0: no answer), so the elector can tell a 409 conflict from an outage.
 */
import * as fs from "node:fs";
import * as https from "node:https";
import * as path from "node:path";

import { parse as parseYaml } from "yaml";

export interface LeaseSpec {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    /** RFC 3339 with microseconds, as the API server writes MicroTime. */
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
}

export interface Lease {
    apiVersion: "coordination.k8s.io/v1";
    kind: "Lease";
    metadata: {
        name: string;
        namespace: string;
        resourceVersion?: string;
        labels?: Record<string, string>;
        annotations?: Record<string, string>;
    };
    spec: LeaseSpec;
}

export interface LeaseClient {
    read(namespace: string, name: string, signal: AbortSignal): Promise<Lease>;
    /** Fails with 409 when the Lease exists already. */
    create(lease: Lease, signal: AbortSignal): Promise<Lease>;
    /** Optimistic: fails with 409 unless `lease.metadata.resourceVersion` is still current. */
    replace(lease: Lease, signal: AbortSignal): Promise<Lease>;
}

export class LeaseApiError extends Error {
    constructor(
        /** The HTTP status; 0 when the server did not answer (network, TLS, abort). */
        readonly status: number,
        message: string,
    ) {
        super(message);
        this.name = "LeaseApiError";
    }
}

/** Network failures, throttling and server errors: worth another try. */
export function isTransient(err: unknown): boolean {
    return err instanceof LeaseApiError && (err.status === 0 || err.status === 429 || err.status >= 500);
}

/** A Date as the API server's MicroTime (six fractional digits: it refuses fewer). */
export function microTime(ms: number): string {
    return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

export interface ApiConnection {
    /** https://host:port */
    server: string;
    ca?: string | Buffer;
    /** Client certificate authentication. */
    cert?: string | Buffer;
    key?: string | Buffer;
    /** Bearer token, asked for on every request (projected tokens rotate). */
    token?: () => string | undefined;
}

const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** The pod's own connection: KUBERNETES_SERVICE_HOST/PORT, the mounted CA and token. */
export function inClusterConnection(env: NodeJS.ProcessEnv = process.env, dir = SERVICE_ACCOUNT_DIR): ApiConnection {
    const host = env.KUBERNETES_SERVICE_HOST;
    const port = env.KUBERNETES_SERVICE_PORT ?? "443";
    if (!host) {
        throw new Error("not in a cluster: KUBERNETES_SERVICE_HOST is unset; pass a kubeconfig");
    }
    return {
        server: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
        ca: fs.readFileSync(path.join(dir, "ca.crt")),
        // Re-read each time: the kubelet rotates the projected token file.
        token: () => fs.readFileSync(path.join(dir, "token"), "utf8").trim(),
    };
}

export function httpsLeaseClient(connection: ApiConnection): LeaseClient {
    // Keep-alive: one TLS handshake instead of one per renewal.
    const agent = new https.Agent({ keepAlive: true, ca: connection.ca, cert: connection.cert, key: connection.key });
    const base = connection.server.replace(/\/+$/, "");
    const leasePath = (namespace: string, name?: string) =>
        `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases${name === undefined ? "" : `/${encodeURIComponent(name)}`}`;

    const call = (method: "GET" | "POST" | "PUT", urlPath: string, body: Lease | undefined, signal: AbortSignal) =>
        new Promise<Lease>((resolve, reject) => {
            const payload = body === undefined ? undefined : JSON.stringify(body);
            const headers: Record<string, string> = { accept: "application/json" };
            const token = connection.token?.();
            if (token) {
                headers.authorization = `Bearer ${token}`;
            }
            if (payload !== undefined) {
                headers["content-type"] = "application/json";
                headers["content-length"] = String(Buffer.byteLength(payload));
            }
            const req = https.request(`${base}${urlPath}`, { method, agent, headers, signal }, (res) => {
                const chunks: Buffer[] = [];
                res.on("data", (c: Buffer) => chunks.push(c));
                res.on("error", (err) => reject(new LeaseApiError(0, `${method} ${urlPath}: ${err.message}`)));
                res.on("end", () => {
                    const text = Buffer.concat(chunks).toString("utf8");
                    const status = res.statusCode ?? 0;
                    if (status >= 200 && status < 300) {
                        try {
                            resolve(JSON.parse(text) as Lease);
                        } catch {
                            reject(new LeaseApiError(0, `${method} ${urlPath}: not JSON`));
                        }
                        return;
                    }
                    reject(new LeaseApiError(status, `${method} ${urlPath}: ${status} ${statusMessage(text)}`));
                });
            });
            req.on("error", (err) => reject(new LeaseApiError(0, `${method} ${urlPath}: ${err.message}`)));
            req.end(payload);
        });

    return {
        read: (namespace, name, signal) => call("GET", leasePath(namespace, name), undefined, signal),
        create: (lease, signal) => call("POST", leasePath(lease.metadata.namespace), lease, signal),
        replace: (lease, signal) => call("PUT", leasePath(lease.metadata.namespace, lease.metadata.name), lease, signal),
    };
}

/** The message of a Kubernetes Status body, or the start of whatever came back. */
function statusMessage(text: string): string {
    try {
        const parsed = JSON.parse(text) as { message?: unknown };
        if (typeof parsed.message === "string") {
            return parsed.message;
        }
    } catch {
        // Not a Status: fall through.
    }
    return text.slice(0, 200);
}

/**
 * A connection from a kubeconfig file: its current context's server, CA and
 * client certificate or token (inline data or file paths). Exec plugins and
 * auth providers are not supported: in a cluster the manager uses its service
 * account (inClusterConnection); a kubeconfig is for tests and bootstrap.
 */
export function kubeconfigConnection(file: string): ApiConnection {
    const base = path.dirname(file);
    const doc = parseYaml(fs.readFileSync(file, "utf8")) as Kubeconfig | null;
    const contextName = doc?.["current-context"];
    const context = doc?.contexts?.find((c) => c.name === contextName)?.context;
    const cluster = doc?.clusters?.find((c) => c.name === context?.cluster)?.cluster;
    const user = doc?.users?.find((u) => u.name === context?.user)?.user ?? {};
    if (!context || !cluster?.server) {
        throw new Error(`${file}: no current context with a cluster server`);
    }
    if (user.exec || user["auth-provider"]) {
        throw new Error(`${file}: user ${context.user ?? ""} authenticates through an exec plugin or auth provider, which the manager does not run; use a client certificate or token`);
    }
    const read = (data: string | undefined, at: string | undefined): Buffer | undefined =>
        data ? Buffer.from(data, "base64") : at ? fs.readFileSync(path.resolve(base, at)) : undefined;
    const token = user.token ?? (user.tokenFile ? fs.readFileSync(path.resolve(base, user.tokenFile), "utf8").trim() : undefined);
    return {
        server: cluster.server,
        ca: read(cluster["certificate-authority-data"], cluster["certificate-authority"]),
        cert: read(user["client-certificate-data"], user["client-certificate"]),
        key: read(user["client-key-data"], user["client-key"]),
        token: token === undefined ? undefined : () => token,
    };
}

/** The parts of a kubeconfig file that kubeconfigConnection reads. */
interface Kubeconfig {
    "current-context"?: string;
    contexts?: { name: string; context?: { cluster?: string; user?: string } }[];
    clusters?: { name: string; cluster?: { server?: string; "certificate-authority"?: string; "certificate-authority-data"?: string } }[];
    users?: {
        name: string;
        user?: {
            token?: string;
            tokenFile?: string;
            "client-certificate"?: string;
            "client-certificate-data"?: string;
            "client-key"?: string;
            "client-key-data"?: string;
            exec?: unknown;
            "auth-provider"?: unknown;
        };
    }[];
}
