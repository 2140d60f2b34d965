/**
 * The drift check's rules against the embedded Postgres (the real store, in
 * process), with the stand-in executor saying what each refresh found. That
 * the real executor reads drift from a real refresh is tested against the
 * throwaway API server (test/engine/test-cluster.test.ts).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { buildNotification, type NotificationInput, type Notifier } from "./bus/notifier";
import { silentLogger } from "./bus/logger";
import type { Notification } from "./commands/schema";
import { checkDriftOfAll, driftErrorReason, driftReason } from "./drift";
import type { DriftResult } from "./executor/executor";
import { StandInExecutor } from "./executor/stand-in";
import { createMetrics } from "./metrics";
import { applyNotification } from "./read-model";
import { openEmbeddedPostgres, SqlStore } from "./store/sql-store";
import type { EnvironmentEntry } from "./store/store";

class RecordingNotifier implements Notifier {
    readonly sent: Notification[] = [];
    async notify(input: NotificationInput): Promise<Notification> {
        const n = buildNotification(input);
        this.sent.push(n);
        return n;
    }
    async close(): Promise<void> {}
}

const DRIFTED: DriftResult = {
    state: "drifted",
    resources: [
        { urn: "urn:pulumi:review-1::platform-gitops::kubernetes:apps/v1:Deployment::grafana", type: "kubernetes:apps/v1:Deployment", name: "grafana", change: "changed", paths: ["spec.replicas"] },
        { urn: "urn:pulumi:review-1::platform-gitops::kubernetes:core/v1:ConfigMap::dashboards", type: "kubernetes:core/v1:ConfigMap", name: "dashboards", change: "deleted", paths: [] },
    ],
};

let store: SqlStore;
let clock = 0;
const now = () => new Date(Date.UTC(2026, 11, 7, 10, 0, 0) + clock++ * 1000);

function entry(name: string, status: EnvironmentEntry["status"]): EnvironmentEntry {
    return { name, template: "review", status, description: name, tags: {}, updatedAt: now().toISOString() };
}

beforeAll(async () => {
    store = await openEmbeddedPostgres();
    await store.migrate();
});
afterAll(() => store.close());
beforeEach(async () => {
    await store.replaceEnvironments([]);
});

describe("the drift check", () => {
    it("marks a drifted deployed-ok environment deployed-fail, keeps what drifted, and announces both", async () => {
        await store.putEnvironment(entry("review-1", "deployed-ok"));
        await store.putEnvironment(entry("review-2", "deployed-ok"));
        const executor = new StandInExecutor({ driftFor: (env) => (env === "review-1" ? DRIFTED : { state: "clean", resources: [] }) });
        const notifier = new RecordingNotifier();
        const metrics = createMetrics({ defaultMetrics: false });
        const summary = await checkDriftOfAll({ store, executor, notifier, logger: silentLogger, now, metrics });
        expect(summary).toEqual({ checked: ["review-1", "review-2"], drifted: ["review-1"], statusChanged: ["review-1"], failed: [] });
        const { body } = await metrics.render();
        expect(body).toContain('platform_manager_drift_checks_total{result="drifted"} 1');
        expect(body).toContain('platform_manager_drift_checks_total{result="clean"} 1');
        expect(body).toContain("platform_manager_drifted_environments 1");
        const drifted = await store.getEnvironment("review-1");
        expect(drifted?.status).toBe("deployed-fail");
        expect(drifted?.drift).toMatchObject({ state: "drifted", resources: DRIFTED.resources });
        expect((await store.getEnvironment("review-2"))?.status).toBe("deployed-ok");
        expect((await store.getEnvironment("review-2"))?.drift?.state).toBe("clean");
        // The list shows the last check too.
        expect((await store.listEnvironments({ limit: 10 })).find((e) => e.name === "review-1")?.drift?.state).toBe("drifted");
        const forOne = notifier.sent.filter((n) => n.environment === "review-1");
        expect(forOne.map((n) => `${n.type}${n.status ? `:${n.status}` : ""}`)).toEqual(["environment.status:deployed-fail", "environment.drift"]);
        expect(forOne[0].reason).toBe("drift: 2 resource(s) changed outside code: grafana (kubernetes:apps/v1:Deployment) changed: spec.replicas; dashboards (kubernetes:core/v1:ConfigMap) deleted");
    });

    it("makes an environment deployed-ok again once its drift is gone, but never one whose command failed", async () => {
        await store.putEnvironment(entry("review-1", "deployed-ok"));
        await store.putEnvironment(entry("review-failed", "deployed-fail"));
        let found: DriftResult = DRIFTED;
        const executor = new StandInExecutor({ driftFor: () => found });
        const notifier = new RecordingNotifier();
        await checkDriftOfAll({ store, executor, notifier, logger: silentLogger, now });
        found = { state: "clean", resources: [] };
        const summary = await checkDriftOfAll({ store, executor, notifier, logger: silentLogger, now });
        expect(summary.statusChanged).toEqual(["review-1"]);
        expect((await store.getEnvironment("review-1"))?.status).toBe("deployed-ok");
        // review-failed was deployed-fail before any drift: a clean refresh does not make a failed deployment good.
        expect((await store.getEnvironment("review-failed"))?.status).toBe("deployed-fail");
    });

    it("checks only deployed environments with no command on them", async () => {
        await store.putEnvironment(entry("review-gone", "destroyed"));
        await store.putEnvironment(entry("review-deploying", "deploying"));
        await store.putEnvironment(entry("review-busy", "deployed-ok"));
        await store.putEnvironment(entry("review-1", "deployed-ok"));
        await store.claimCommand(
            { commandId: "c-busy", type: "environment.extend", environment: "review-busy", requestedBy: "alice@example.com", plannedDestruction: "2026-12-30" },
            now(),
        );
        const executor = new StandInExecutor({ driftFor: () => DRIFTED });
        await checkDriftOfAll({ store, executor, notifier: new RecordingNotifier(), logger: silentLogger, now });
        expect(executor.driftChecks).toEqual(["review-1"]);
        expect((await store.getEnvironment("review-busy"))?.status).toBe("deployed-ok");
    });

    it("drops a check that a command overtook, and keeps a failed check without touching the status", async () => {
        await store.putEnvironment(entry("review-1", "deployed-ok"));
        await store.putEnvironment(entry("review-2", "deployed-ok"));
        const executor = new StandInExecutor({
            driftFor: (env) => {
                if (env === "review-2") {
                    throw new Error("the cluster is not reachable\nsecond line");
                }
                return DRIFTED;
            },
        });
        // A command changes review-1's status while its refresh runs.
        const overtaking: StandInExecutor["checkDrift"] = async (env) => {
            const result = await executor.checkDrift(env);
            if (env === "review-1") {
                await store.setStatus("review-1", "deploying", now());
            }
            return result;
        };
        const summary = await checkDriftOfAll({ store, executor: { ...executorMethods(executor), checkDrift: overtaking }, notifier: new RecordingNotifier(), logger: silentLogger, now });
        expect(summary).toEqual({ checked: ["review-2"], drifted: [], statusChanged: [], failed: ["review-2"] });
        expect((await store.getEnvironment("review-1"))?.status).toBe("deploying");
        expect((await store.getEnvironment("review-1"))?.drift).toBeUndefined();
        const failed = await store.getEnvironment("review-2");
        expect(failed?.status).toBe("deployed-ok");
        expect(failed?.drift).toMatchObject({ state: "error", reason: "the cluster is not reachable", resources: [] });
    });

    it("drops a check when a command is claimed for the environment while it runs", async () => {
        await store.putEnvironment(entry("review-claimed", "deployed-ok"));
        const executor = new StandInExecutor({ driftFor: () => DRIFTED });
        const claiming: StandInExecutor["checkDrift"] = async (env) => {
            const result = await executor.checkDrift(env);
            await store.claimCommand({ commandId: "c-late", type: "environment.extend", environment: env, requestedBy: "alice@example.com", plannedDestruction: "2026-12-30" }, now());
            return result;
        };
        const summary = await checkDriftOfAll({ store, executor: { ...executorMethods(executor), checkDrift: claiming }, notifier: new RecordingNotifier(), logger: silentLogger, now });
        expect(summary.checked).toEqual([]);
        expect((await store.getEnvironment("review-claimed"))?.status).toBe("deployed-ok");
        expect((await store.getEnvironment("review-claimed"))?.drift).toBeUndefined();
    });

    it("says why a check failed with pulumi's error line, never a credential", () => {
        const pulumiError = new Error("code: 255\n stdout: \n stderr: error: failed to read the stack: connection refused\n");
        expect(driftErrorReason(pulumiError)).toBe("failed to read the stack: connection refused");
        expect(driftErrorReason(new Error("code: 1\nerror: dial postgres://admin:hunter2@db:5432 failed"))).toMatch(/holds a credential/);
    });

    it("stops between environments when aborted", async () => {
        await store.putEnvironment(entry("review-1", "deployed-ok"));
        await store.putEnvironment(entry("review-2", "deployed-ok"));
        const controller = new AbortController();
        const executor = new StandInExecutor({
            driftFor: () => {
                controller.abort();
                return { state: "clean", resources: [] };
            },
        });
        await checkDriftOfAll({ store, executor, notifier: new RecordingNotifier(), logger: silentLogger, now, signal: controller.signal });
        expect(executor.driftChecks).toEqual(["review-1"]);
    });

    it("reaches a secondary through the notifications", async () => {
        await store.putEnvironment(entry("review-1", "deployed-ok"));
        const notifier = new RecordingNotifier();
        await checkDriftOfAll({ store, executor: new StandInExecutor({ driftFor: () => DRIFTED }), notifier, logger: silentLogger, now });
        const secondary = await openEmbeddedPostgres();
        try {
            await secondary.migrate();
            await secondary.putEnvironment(entry("review-1", "deployed-ok"));
            for (const n of notifier.sent) {
                await applyNotification(secondary, n);
            }
            const seen = await secondary.getEnvironment("review-1");
            expect(seen?.status).toBe("deployed-fail");
            expect(seen?.drift?.resources.map((r) => r.name)).toEqual(["grafana", "dashboards"]);
        } finally {
            await secondary.close();
        }
    });

    it("names at most ten resources in the reason", () => {
        const many = Array.from({ length: 12 }, (_, i) => ({ ...DRIFTED.resources[1], name: `cm-${i}` }));
        expect(driftReason({ resources: many })).toMatch(/^drift: 12 resource\(s\) changed outside code: cm-0 .*cm-9 \(kubernetes:core\/v1:ConfigMap\) deleted; and 2 more$/);
    });
});

function executorMethods(executor: StandInExecutor) {
    return {
        execute: executor.execute.bind(executor),
        readAll: executor.readAll.bind(executor),
        recover: executor.recover.bind(executor),
    };
}
