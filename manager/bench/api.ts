/**
 * The manager's REST API under read load: p50/p99 of list, get and search
 * with 1,000 environments in the store, over real HTTP on loopback, with
 * bearer token verification, on both stores (the embedded Postgres and a
 * Postgres server started for the run). Targets on 2 cores: list and get
 * <= 10 ms, search <= 50 ms at p99. A missed target is printed, not fatal.
 *
 * Run: `pnpm bench` (BENCH_ONLY=manager), or `node --import tsx manager/bench/api.ts`.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { SignJWT } from "jose";

import { startPostgres } from "../../test/helpers/postgres";
import { createAuthenticator } from "../src/api/auth";
import { buildApi } from "../src/api/server";
import { selfServiceTemplates } from "../src/api/templates";
import { createLogger } from "../src/log";
import { createMetrics, instrumentStore } from "../src/metrics";
import { connectPostgres, openEmbeddedPostgres } from "../src/store/sql-store";
import type { EnvironmentEntry, Store } from "../src/store/store";

const ENVIRONMENTS = 1000;
const REQUESTS = Number(process.env.BENCH_API_REQUESTS ?? 400);
const TARGETS_MS = { list: 10, get: 10, search: 50 } as const;
const TEAMS = ["payments", "checkout", "search", "identity", "data", "platform", "mobile", "growth"];
const COMPONENTS = ["istiod", "ingress-gateway", "cert-manager", "prometheus", "grafana", "loki", "jaeger", "kiali", "rabbitmq", "vault", "consul", "postgres"];

function environment(i: number): EnvironmentEntry {
    const team = TEAMS[i % TEAMS.length];
    const name = `review-${team}-${i}`;
    const tags = { owner: `${team}@example.com`, environment: name, "cost-center": "PLT-0001", "managed-by": "pulumi", repository: "platform-gitops", team };
    return {
        name,
        template: "review",
        status: i % 10 === 0 ? "deployed-fail" : "deployed-ok",
        description: `Merge request ${i} of the ${team} team: feature ${randomUUID().slice(0, 8)}`,
        tags,
        createdAt: "2026-12-01T10:00:00.000Z",
        plannedDestructionAt: "2026-12-20",
        updatedAt: new Date().toISOString(),
        record: {
            id: randomUUID(),
            name,
            description: `Merge request ${i}`,
            tags,
            status: "deployed-ok",
            templates: [{ name: "review", version: "1", commit: "0".repeat(40) }],
            resources: COMPONENTS.map((c, j) => ({
                id: c,
                template: c,
                count: 1,
                status: "ok",
                links: { entrypoints: [`http://${c}.${name}.svc:80${j}`], statusEndpoints: [] },
                dependsOn: j > 0 ? [COMPONENTS[j - 1]] : [],
            })),
        },
    };
}

function percentile(sorted: number[], p: number): number {
    return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function measure(url: string, token: string, paths: () => string): Promise<{ p50: number; p99: number }> {
    const times: number[] = [];
    for (let i = 0; i < REQUESTS; i++) {
        const t0 = process.hrtime.bigint();
        const response = await fetch(url + paths(), { headers: { authorization: `Bearer ${token}` } });
        await response.arrayBuffer();
        if (response.status !== 200) {
            throw new Error(`${paths()}: HTTP ${response.status}`);
        }
        times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    times.sort((a, b) => a - b);
    return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

async function benchStore(label: string, store: Store): Promise<void> {
    await store.migrate();
    const t0 = Date.now();
    await store.replaceEnvironments(Array.from({ length: ENVIRONMENTS }, (_, i) => environment(i)));
    const loadMs = Date.now() - t0;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "manager-bench-"));
    const secret = randomUUID() + randomUUID();
    fs.writeFileSync(path.join(dir, "secret"), secret);
    const metrics = createMetrics();
    const api = buildApi({
        store: instrumentStore(store, metrics),
        health: async () => ({ store: "ok" }),
        submit: async (c) => ({ commandId: c.commandId }),
        auth: createAuthenticator({ keys: { kind: "hs256-file", path: path.join(dir, "secret") }, audience: "platform-manager", issuer: "platform" }),
        metrics,
        logger: createLogger({ level: "warn" }),
        templates: selfServiceTemplates(),
        role: "primary",
    });
    const address = await api.listen({ host: "127.0.0.1", port: 0 });
    const token = await new SignJWT({ scope: "environments:read" })
        .setProtectedHeader({ alg: "HS256" })
        .setSubject("bench")
        .setIssuer("platform")
        .setAudience("platform-manager")
        .setExpirationTime("1h")
        .sign(new TextEncoder().encode(secret));
    const random = (n: number) => Math.floor(Math.random() * n);
    // A warm-up pass: the first requests pay for JIT and the store's plan cache.
    await measure(address, token, () => `/api/v1/environments/review-${TEAMS[0]}-0`);
    const results = {
        list: await measure(address, token, () => `/api/v1/environments?limit=100&offset=${random(9) * 100}`),
        get: await measure(address, token, () => {
            const i = random(ENVIRONMENTS);
            return `/api/v1/environments/review-${TEAMS[i % TEAMS.length]}-${i}`;
        }),
        search: await measure(address, token, () => `/api/v1/search?q=${[TEAMS[random(TEAMS.length)], COMPONENTS[random(COMPONENTS.length)], "feature", "check"][random(4)]}`),
    };
    await api.close();
    fs.rmSync(dir, { recursive: true, force: true });
    console.log(`\n${label}: ${ENVIRONMENTS} environments loaded in ${loadMs} ms; ${REQUESTS} requests each, one at a time`);
    console.log("request   p50 ms   p99 ms   target p99");
    for (const [name, r] of Object.entries(results) as [keyof typeof TARGETS_MS, { p50: number; p99: number }][]) {
        const verdict = r.p99 <= TARGETS_MS[name] ? "met" : "MISSED";
        console.log(`${name.padEnd(8)}  ${r.p50.toFixed(2).padStart(6)}   ${r.p99.toFixed(2).padStart(6)}   <= ${TARGETS_MS[name]} ms ${verdict}`);
    }
}

async function main(): Promise<void> {
    console.log(`manager API, node ${process.version}, ${os.cpus().length} cores`);
    const embedded = await openEmbeddedPostgres();
    try {
        await benchStore("embedded Postgres (PGlite, in process)", embedded);
    } finally {
        await embedded.close();
    }
    const server = await startPostgres();
    try {
        const store = await connectPostgres(server.url);
        try {
            await benchStore("Postgres server (Debian postgres on loopback)", store);
        } finally {
            await store.close();
        }
    } finally {
        await server.stop();
    }
}

main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
});
