import { describe, expect, it } from "vitest";

import { createMetrics, instrumentStore } from "./metrics";
import type { Store } from "./store/store";

describe("createMetrics", () => {
    it("names its own metrics platform_manager_*, a unit suffix on each histogram and _total on the counter", async () => {
        const { body } = await createMetrics({ defaultMetrics: false }).render();
        expect([...body.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`)).toEqual([
            "platform_manager_commands_total counter",
            "platform_manager_command_duration_seconds histogram",
            "platform_manager_queue_depth gauge",
            "platform_manager_store_query_seconds histogram",
            "platform_manager_http_request_duration_seconds histogram",
            "platform_manager_drift_checks_total counter",
            "platform_manager_drifted_environments gauge",
        ]);
        expect(body).toContain("# HELP platform_manager_queue_depth Commands waiting in the commands queue (messages ready, not yet delivered to any manager).\n");
    });

    it("keeps its own registry: two instances do not collide, and the global one stays empty", async () => {
        const a = createMetrics({ defaultMetrics: false });
        const b = createMetrics({ defaultMetrics: false });
        a.setQueueDepth(3);
        b.setQueueDepth(7);
        expect((await a.render()).body).toContain("platform_manager_queue_depth 3");
        expect((await b.render()).body).toContain("platform_manager_queue_depth 7");
        const { register } = await import("prom-client");
        expect(await register.getSingleMetric("platform_manager_queue_depth")).toBeUndefined();
    });

    it("counts commands and their durations by type", async () => {
        const m = createMetrics({ defaultMetrics: false });
        m.countCommand("environment.destroy", "failed");
        m.countCommand("environment.destroy", "failed");
        m.observeCommandDuration("environment.destroy", 42);
        const { body } = await m.render();
        expect(body).toContain('platform_manager_commands_total{type="environment.destroy",outcome="failed"} 2');
        expect(body).toContain('platform_manager_command_duration_seconds_bucket{le="60",type="environment.destroy"} 1');
        expect(body).toContain('platform_manager_command_duration_seconds_sum{type="environment.destroy"} 42');
    });

    it("times store calls through instrumentStore, failures included", async () => {
        const m = createMetrics({ defaultMetrics: false });
        const calls: string[] = [];
        const fake = {
            ping: async () => {
                calls.push("ping");
            },
            getEnvironment: async (name: string) => {
                calls.push(`get ${name}`);
                throw new Error("down");
            },
        } as Partial<Store> as Store;
        const store = instrumentStore(fake, m);
        await store.ping();
        await expect(store.getEnvironment("review-1")).rejects.toThrow("down");
        expect(calls).toEqual(["ping", "get review-1"]);
        const { body } = await m.render();
        expect(body).toContain('platform_manager_store_query_seconds_count{operation="ping"} 1');
        expect(body).toContain('platform_manager_store_query_seconds_count{operation="getEnvironment"} 1');
    });
});
