/**
 * Leader election (manager/src/lease) against a real kube-apiserver
 * (test/helpers/test-cluster.ts), with short durations: two replicas, one
 * leader; graceful hand-over; a crashed leader; a leader cut off from the API
 * server; 409 conflicts; a skewed clock; the RBAC of rbac.ts with a real
 * service-account token. A sampler checks every 100 ms, over the whole file,
 * that no two replicas of one Lease report leading at once; the terms (from
 * onStartedLeading to its signal's abort) are checked for overlap too. Figures
 * are printed with a `[figure]` prefix.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { startTestCluster, TestCluster } from "../../test/helpers/test-cluster";
import { ApiConnection, httpsLeaseClient, Lease, LeaseApiError, LeaseClient, microTime } from "../src/lease/client";
import { LeaderElectionEvent, LeaderElector, LeaderElectorOptions } from "../src/lease/leader";
import { leaseRbac } from "../src/lease/rbac";

const NAMESPACE = "manager-lease-test";
const TIMING = { leaseDurationSeconds: 3, renewDeadlineSeconds: 2, retryPeriodSeconds: 0.4 } as const;
const LEASE_MS = TIMING.leaseDurationSeconds * 1000;
const DEADLINE_MS = TIMING.renewDeadlineSeconds * 1000;
const RETRY_MS = TIMING.retryPeriodSeconds * 1000;

let cluster: TestCluster;
let admin: ApiConnection;
let adminClient: LeaseClient;

function figure(text: string): void {
    console.log(`[figure] ${text}`);
}

interface Term {
    start: number;
    end?: number;
}

interface Replica {
    id: string;
    lease: string;
    elector: LeaderElector;
    terms: Term[];
    events: LeaderElectionEvent[];
}

/** Every replica of the file, by Lease, for the sampler and the overlap check. */
const replicas: Replica[] = [];
const overlaps: string[] = [];
let samples = 0;
let sampler: NodeJS.Timeout | undefined;

function replica(lease: string, id: string, extra: Partial<LeaderElectorOptions> = {}): Replica {
    const terms: Term[] = [];
    const events: LeaderElectionEvent[] = [];
    const elector = new LeaderElector({
        client: adminClient,
        namespace: NAMESPACE,
        leaseName: lease,
        identity: id,
        ...TIMING,
        // The work: runs until the signal aborts, then records when it stopped.
        onStartedLeading: (signal) =>
            new Promise<void>((resolve) => {
                const term: Term = { start: Date.now() };
                terms.push(term);
                signal.addEventListener("abort", () => {
                    term.end = Date.now();
                    resolve();
                });
            }),
        onStoppedLeading: () => undefined,
        onEvent: (e) => events.push(e),
        ...extra,
    });
    const r: Replica = { id, lease, elector, terms, events };
    replicas.push(r);
    return r;
}

function sample(): void {
    samples++;
    const leading = new Map<string, string[]>();
    for (const r of replicas) {
        if (r.elector.isLeader()) {
            leading.set(r.lease, [...(leading.get(r.lease) ?? []), r.id]);
        }
    }
    for (const [lease, ids] of leading) {
        if (ids.length > 1) {
            overlaps.push(`${new Date().toISOString()} ${lease}: ${ids.join(", ")}`);
        }
    }
}

/** Pairs of terms of one Lease that overlap in time. */
function overlappingTerms(lease: string): string[] {
    const terms = replicas.filter((r) => r.lease === lease).flatMap((r) => r.terms.map((t) => ({ id: r.id, start: t.start, end: t.end ?? Infinity })));
    const found: string[] = [];
    for (const a of terms) {
        for (const b of terms) {
            if (a !== b && a.start <= b.start && b.start < a.end) {
                found.push(`${a.id} [${a.start}, ${a.end}) and ${b.id} from ${b.start}`);
            }
        }
    }
    return found;
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<number> {
    const started = Date.now();
    while (!(await check())) {
        if (Date.now() - started > timeoutMs) {
            throw new Error(`not within ${timeoutMs} ms: ${what}`);
        }
        await new Promise((r) => setTimeout(r, 20));
    }
    return Date.now();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const leaders = (...rs: Replica[]) => rs.filter((r) => r.elector.isLeader());
const conflicts = (r: Replica) => r.events.filter((e) => e.type === "conflict");

async function readLease(name: string): Promise<Lease> {
    return adminClient.read(NAMESPACE, name, AbortSignal.timeout(5000));
}

/** Read-modify-replace as another writer would, retrying its own 409s. */
async function editLease(name: string, edit: (l: Lease) => Lease): Promise<Lease> {
    for (let i = 0; ; i++) {
        try {
            return await adminClient.replace(edit(await readLease(name)), AbortSignal.timeout(5000));
        } catch (err) {
            if (!(err instanceof LeaseApiError && err.status === 409) || i >= 10) {
                throw err;
            }
        }
    }
}

/** A TCP proxy to the API server that can be cut: existing connections drop, new ones hang unanswered. */
function cuttableProxy(target: URL): Promise<{ server: string; cut(): void; close(): void }> {
    const sockets = new Set<net.Socket>();
    let open = true;
    const track = (s: net.Socket) => {
        sockets.add(s);
        s.on("close", () => sockets.delete(s));
        s.on("error", () => undefined);
    };
    const server = net.createServer((client) => {
        track(client);
        if (!open) {
            return;
        }
        const upstream = net.connect(Number(target.port), target.hostname);
        track(upstream);
        client.pipe(upstream).pipe(client);
    });
    return new Promise((resolve) => {
        server.listen(0, "127.0.0.1", () => {
            const port = (server.address() as net.AddressInfo).port;
            resolve({
                server: `https://127.0.0.1:${port}`,
                cut: () => {
                    open = false;
                    sockets.forEach((s) => s.destroy());
                },
                close: () => {
                    sockets.forEach((s) => s.destroy());
                    server.close();
                },
            });
        });
    });
}

beforeAll(async () => {
    cluster = await startTestCluster();
    const file = (name: string) => fs.readFileSync(path.join(cluster.dir, name));
    admin = { server: cluster.server, ca: file("ca.crt"), cert: file("admin.crt"), key: file("admin.key") };
    adminClient = httpsLeaseClient(admin);
    const ns = await cluster.kubectl(["create", "namespace", NAMESPACE]);
    expect(ns.status, ns.stderr).toBe(0);
    sampler = setInterval(sample, 100);
});

afterEach(async () => {
    await Promise.all(replicas.map((r) => r.elector.stop()));
});

afterAll(async () => {
    if (sampler) {
        clearInterval(sampler);
    }
    await Promise.all(replicas.map((r) => r.elector.stop()));
    await cluster?.stop();
    figure(`${samples} samples at 100 ms over the file, ${overlaps.length} with two leaders of one Lease`);
    expect(overlaps).toEqual([]);
});

describe("leader election over a Lease (real API server)", () => {
    it("of two replicas started together exactly one leads, and keeps leading", async () => {
        const [a, b] = [replica("together", "a"), replica("together", "b")];
        const t0 = Date.now();
        await Promise.all([a.elector.start(), b.elector.start()]);
        const first = await waitFor("a leader", () => leaders(a, b).length === 1);
        const leader = leaders(a, b)[0];
        figure(`first leader after ${first - t0} ms (the Lease did not exist; ${conflicts(a).length + conflicts(b).length} conflict(s) between the two)`);

        // Several renewals: the same one leads at every check, the other never.
        for (let i = 0; i < 20; i++) {
            await sleep(RETRY_MS / 2);
            expect(leaders(a, b)).toEqual([leader]);
        }
        const lease = await readLease("together");
        expect(lease.spec.holderIdentity).toBe(leader.id);
        expect(lease.spec.leaseDurationSeconds).toBe(TIMING.leaseDurationSeconds);
        expect(Date.now() - Date.parse(lease.spec.renewTime ?? "")).toBeLessThan(RETRY_MS + 1000);
        expect(a.terms.length + b.terms.length).toBe(1);
        expect(overlappingTerms("together")).toEqual([]);
    });

    it("a graceful stop releases the Lease and the other replica takes over at its next retry", async () => {
        const [a, b] = [replica("handover", "a"), replica("handover", "b")];
        await a.elector.start();
        await waitFor("a leads", () => a.elector.isLeader());
        await b.elector.start();
        await sleep(RETRY_MS * 2);
        expect(b.elector.isLeader()).toBe(false);

        const stopAt = Date.now();
        await a.elector.stop();
        const released = Date.now();
        expect(a.events.some((e) => e.type === "released")).toBe(true);
        const took = await waitFor("b leads", () => b.elector.isLeader());
        figure(`graceful hand-over: stop() took ${released - stopAt} ms, b led ${took - released} ms after the release (lease duration ${LEASE_MS} ms, retry period ${RETRY_MS} ms)`);
        // Well before the lease could have expired: the release made it free.
        expect(took - released).toBeLessThan(RETRY_MS * 1.2 + 1000);
        expect(took - released).toBeLessThan(LEASE_MS);
        expect(a.terms[0].end).toBeLessThanOrEqual(b.terms[0].start);
        const lease = await readLease("handover");
        expect(lease.spec.holderIdentity).toBe("b");
        expect(lease.spec.leaseTransitions).toBe(1);
        expect(overlappingTerms("handover")).toEqual([]);
    });

    it("a crashed leader (no release) is replaced only once its lease expired", async () => {
        const [a, b] = [replica("crash", "a"), replica("crash", "b")];
        await a.elector.start();
        await waitFor("a leads", () => a.elector.isLeader());
        await b.elector.start();
        await sleep(RETRY_MS * 3);

        await a.elector.stop({ release: false });
        await sleep(100);
        const last = await readLease("crash");
        expect(last.spec.holderIdentity).toBe("a");
        const lastRenew = Date.parse(last.spec.renewTime ?? "");
        const took = await waitFor("b leads", () => b.elector.isLeader(), LEASE_MS + 5000);
        figure(`crashed leader: b led ${took - lastRenew} ms after a's last renewal (lease duration ${LEASE_MS} ms)`);
        expect(took - lastRenew).toBeGreaterThanOrEqual(LEASE_MS);
        expect(took - lastRenew).toBeLessThan(LEASE_MS + RETRY_MS * 1.2 + 1500);
        expect(overlappingTerms("crash")).toEqual([]);
    });

    it("a leader cut off from the API server stops leading by its renew deadline, before the other may start", async () => {
        const proxy = await cuttableProxy(new URL(cluster.server));
        try {
            const a = replica("partition", "a", { client: httpsLeaseClient({ ...admin, server: proxy.server }) });
            const b = replica("partition", "b");
            await a.elector.start();
            await waitFor("a leads", () => a.elector.isLeader());
            await b.elector.start();
            await sleep(RETRY_MS * 3);

            proxy.cut();
            await sleep(200);
            const lastRenew = Date.parse((await readLease("partition")).spec.renewTime ?? "");
            await waitFor("a stops leading", () => a.terms[0].end !== undefined, DEADLINE_MS + 2000);
            const took = await waitFor("b leads", () => b.elector.isLeader(), LEASE_MS + 5000);
            const aStopped = a.terms[0].end as number;
            figure(
                `cut-off leader: a stopped ${aStopped - lastRenew} ms after its last renewal (deadline ${DEADLINE_MS} ms), ` +
                    `b started ${b.terms[0].start - aStopped} ms after that (${b.terms[0].start - lastRenew} ms after the renewal; lease ${LEASE_MS} ms)`,
            );
            expect(a.events.some((e) => e.type === "lost" && e.reason === "renew-deadline")).toBe(true);
            // The deadline counts from the start of the last renewal that succeeded, so at most renewDeadline plus timer slack.
            expect(aStopped - lastRenew).toBeLessThanOrEqual(DEADLINE_MS + 250);
            expect(b.terms[0].start - lastRenew).toBeGreaterThanOrEqual(LEASE_MS);
            expect(b.terms[0].start).toBeGreaterThan(aStopped);
            expect(took).toBeGreaterThan(aStopped);
            expect(a.events.filter((e) => e.type === "error").length).toBeGreaterThan(0);
            expect(overlappingTerms("partition")).toEqual([]);
        } finally {
            proxy.close();
        }
    });

    it("a 409 from another writer is handled: a foreign edit is absorbed, a foreign holder ends the term until its lease expires", async () => {
        const [a, b] = [replica("conflict", "a"), replica("conflict", "b")];
        await a.elector.start();
        await waitFor("a leads", () => a.elector.isLeader());
        await b.elector.start();
        await sleep(RETRY_MS * 2);

        // An edit that leaves the holder alone: a's cached resourceVersion goes stale.
        await editLease("conflict", (l) => ({ ...l, metadata: { ...l.metadata, annotations: { "test/touched": "yes" } } }));
        await waitFor("a meets a 409 renewing", () => conflicts(a).some((e) => e.type === "conflict" && e.during === "renew"), RETRY_MS * 5);
        await sleep(RETRY_MS * 3);
        expect(a.elector.isLeader()).toBe(true);
        expect(a.terms).toHaveLength(1);
        expect(a.terms[0].end).toBeUndefined();

        // Someone else takes the Lease (a fresh record naming "intruder", who never renews).
        let stolenAt = 0;
        await editLease("conflict", (l) => {
            stolenAt = Date.now();
            return { ...l, spec: { ...l.spec, holderIdentity: "intruder", renewTime: microTime(stolenAt), acquireTime: microTime(stolenAt), leaseTransitions: (l.spec.leaseTransitions ?? 0) + 1 } };
        });
        await waitFor("a stops leading", () => a.terms[0].end !== undefined, RETRY_MS * 5);
        const aStopped = a.terms[0].end as number;
        expect(a.events.some((e) => e.type === "lost" && e.reason === "taken")).toBe(true);
        const next = await waitFor("a or b leads again", () => leaders(a, b).length === 1, LEASE_MS + 5000);
        figure(
            `409: a renewal over a foreign edit recovered in one read (a kept its term); after a foreign takeover a stopped ${aStopped - stolenAt} ms later, ` +
                `and ${leaders(a, b)[0].id} led ${next - stolenAt} ms after the takeover (lease ${LEASE_MS} ms)`,
        );
        expect(aStopped - stolenAt).toBeLessThan(RETRY_MS * 1.2 + 1000);
        expect(next - stolenAt).toBeGreaterThanOrEqual(LEASE_MS);
        expect(overlappingTerms("conflict")).toEqual([]);
    });

    it("a replica whose clock runs an hour ahead does not take a live lease", async () => {
        const a = replica("skew", "a");
        const b = replica("skew", "b", { clock: { now: () => Date.now() + 3_600_000 } });
        await a.elector.start();
        await waitFor("a leads", () => a.elector.isLeader());
        await b.elector.start();
        await sleep(LEASE_MS * 2);
        expect(leaders(a, b)).toEqual([a]);
        expect(b.terms).toHaveLength(0);
        // And it still takes over a released lease.
        await a.elector.stop();
        await waitFor("b leads", () => b.elector.isLeader(), RETRY_MS * 1.2 + 2000);
    });

    it("the Role and RoleBinding of rbac.ts are enough for a service account to elect, and grant no other lease", async () => {
        const { role, roleBinding } = leaseRbac({ namespace: NAMESPACE, leaseName: "rbac", serviceAccountName: "manager" });
        const objects = { apiVersion: "v1", kind: "List", items: [{ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "manager", namespace: NAMESPACE } }, role, roleBinding] };
        const applied = await cluster.kubectl(["apply", "-f", "-"], JSON.stringify(objects));
        expect(applied.status, applied.stderr).toBe(0);
        const token = await cluster.kubectl(["create", "token", "manager", "-n", NAMESPACE, "--duration=10m"]);
        expect(token.status, token.stderr).toBe(0);
        const asManager = httpsLeaseClient({ server: cluster.server, ca: admin.ca, token: () => token.stdout.trim() });

        // Creates the missing Lease, renews it, releases it: create, get, update.
        // This case is about permissions, not timing: relaxed timing, so an API server slowed by the
        // suite's applies cannot time a renewal out, and any API error (a 403 above all) fails it.
        const relaxed = { leaseDurationSeconds: 15, renewDeadlineSeconds: 10, retryPeriodSeconds: 1 } as const;
        const r = replica("rbac", "manager-0", { client: asManager, ...relaxed });
        await r.elector.start();
        await waitFor("the service account leads", () => r.elector.isLeader(), 30_000);
        await sleep(relaxed.retryPeriodSeconds * 1000 * 3);
        expect(r.elector.isLeader()).toBe(true);
        await r.elector.stop();
        expect(r.events.filter((e) => e.type === "error")).toEqual([]);
        expect((await readLease("rbac")).spec.holderIdentity ?? "").toBe("");

        const forbidden = await asManager.read(NAMESPACE, "other", AbortSignal.timeout(5000)).then(
            () => 0,
            (err: unknown) => (err instanceof LeaseApiError ? err.status : -1),
        );
        expect(forbidden).toBe(403);
        const can = async (verb: string, resource: string) =>
            (await cluster.kubectl(["auth", "can-i", verb, resource, "-n", NAMESPACE, `--as=system:serviceaccount:${NAMESPACE}:manager`])).stdout.trim();
        expect(await can("update", "leases/rbac")).toBe("yes");
        expect(await can("update", "leases/other")).toBe("no");
        expect(await can("delete", "leases/rbac")).toBe("no");
        expect(await can("list", "leases")).toBe("no");
    });
});
