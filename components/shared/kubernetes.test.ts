import { describe, expect, it } from "vitest";

import { checkCount, checkDuration, checkQuantity, containerResources, withDefaults } from "./kubernetes";

describe("shared Kubernetes helpers", () => {
    it("keeps a default when an arg is explicitly undefined", () => {
        const merged = withDefaults({ replicas: 1, namespace: "ns" }, { replicas: undefined, namespace: "other" });
        expect(merged).toEqual({ replicas: 1, namespace: "other" });
    });

    it("gives requests and a memory limit, and a CPU limit only when asked", () => {
        expect(containerResources("10m", "64Mi", "256Mi")).toEqual({ requests: { cpu: "10m", memory: "64Mi" }, limits: { memory: "256Mi" } });
        expect(containerResources("10m", "64Mi", "256Mi", "1").limits).toEqual({ cpu: "1", memory: "256Mi" });
    });

    it("names the setting and the allowed values of bad counts, sizes and durations", () => {
        expect(() => checkCount("x", "replicas", 0, 1, 5)).toThrow('x: replicas is 0; allowed: an integer from 1 to 5');
        expect(() => checkQuantity("x", "storage", "10GB")).toThrow('x: storage is "10GB"; allowed: a size such as 512Mi, 10Gi or 1Ti');
        expect(() => checkDuration("x", "retention", "7 days")).toThrow('x: retention is "7 days"; allowed: a duration such as 24h, 15d, 4w or 1y');
        expect(() => checkCount("x", "replicas", undefined, 1, 5)).not.toThrow();
    });
});
