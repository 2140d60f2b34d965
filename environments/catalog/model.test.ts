import { describe, expect, it } from "vitest";

import { toDot, toMermaid } from "./graph";
import { ageInDays, EnvironmentEntry, effectiveStatus, matchesOf, RecordView, reapDecision } from "./model";

const record = (over: Partial<RecordView> = {}): RecordView => ({
    name: "review-7",
    description: "Merge request 7: faster checkout",
    tags: { owner: "dev@example.com", environment: "review-7", "cost-center": "PLT-0001", "managed-by": "pulumi", repository: "platform-gitops" },
    createdAt: "2026-11-01T10:00:00.000Z",
    plannedDestructionAt: "2026-11-10",
    status: "deployed-ok",
    templates: [{ name: "review", version: "0.2.0", commit: "abcdef1" }],
    entrypoints: ["https://review-7.platform.localtest.me"],
    statusEndpoints: [],
    resources: [
        { id: "cluster", template: "platform:cluster:ExistingCluster", count: 1, status: "deployed", links: { entrypoints: [], statusEndpoints: [] }, dependsOn: [] },
        {
            id: "rabbitmq",
            template: "platform:rabbitmq:RabbitMq",
            count: 1,
            status: "deployed",
            links: { entrypoints: ["amqp://platform-events.rabbitmq.svc.cluster.local:5672"], statusEndpoints: [] },
            dependsOn: ["cluster"],
        },
    ],
    ...over,
});
const entry = (over: Partial<EnvironmentEntry> = {}): EnvironmentEntry => ({
    stack: "review-7",
    record: record(),
    resourceCount: 40,
    updateInProgress: false,
    lastOperation: { kind: "update", result: "succeeded" },
    protect: false,
    ...over,
});
const now = new Date("2026-11-15T12:00:00Z");

describe("effectiveStatus", () => {
    it("takes the record's status when the backend has nothing newer", () => {
        expect(effectiveStatus(entry())).toBe("deployed-ok");
    });
    it("reports running operations, failures and completed destroys from the backend", () => {
        expect(effectiveStatus(entry({ updateInProgress: true }))).toBe("deploying");
        expect(effectiveStatus(entry({ updateInProgress: true, lastOperation: { kind: "destroy", result: "in-progress" } }))).toBe("destroying");
        expect(effectiveStatus(entry({ lastOperation: { kind: "update", result: "failed" } }))).toBe("deployed-fail");
        expect(effectiveStatus(entry({ resourceCount: 0, lastOperation: { kind: "destroy", result: "succeeded" } }))).toBe("destroyed");
        expect(effectiveStatus(entry({ record: undefined, lastOperation: undefined }))).toBe("unknown");
    });
});

describe("ageInDays and search", () => {
    it("counts whole days since creation", () => {
        expect(ageInDays(record(), now)).toBe(14);
        expect(ageInDays(undefined, now)).toBeUndefined();
    });
    it("finds text in names, descriptions, tags and resources, case-insensitively", () => {
        expect(matchesOf(entry(), "CHECKOUT")).toEqual(["description: Merge request 7: faster checkout"]);
        expect(matchesOf(entry(), "dev@")).toEqual(["tag owner=dev@example.com"]);
        expect(matchesOf(entry(), "amqp")).toEqual(["resource rabbitmq: amqp://platform-events.rabbitmq.svc.cluster.local:5672"]);
        expect(matchesOf(entry(), "review-7")).toEqual(expect.arrayContaining(["name: review-7", "tag environment=review-7"]));
        expect(matchesOf(entry(), "nothing-like-this")).toEqual([]);
    });
});

describe("reapDecision", () => {
    it("reaps a review environment past its planned date", () => {
        expect(reapDecision(entry(), now)).toEqual({ stack: "review-7", reap: true, reason: "planned for 2026-11-10, expired" });
    });
    it.each([
        ["its date has not come", entry({ record: record({ plannedDestructionAt: "2026-11-20" }) }), "planned for 2026-11-20"],
        ["it is planned for today", entry({ record: record({ plannedDestructionAt: "2026-11-15" }) }), "planned for 2026-11-15"],
        ["it is protected", entry({ protect: true }), "protected (platform:protect)"],
        ["it is prod", entry({ stack: "prod", record: record({ templates: [{ name: "prod", version: "0.1.0", commit: "a" }] }) }), "long-lived template prod"],
        ["its template is local", entry({ record: record({ templates: [{ name: "local", version: "0.2.0", commit: "a" }] }) }), "template local is not reaped"],
        ["it cannot be read", entry({ error: "passphrase must be set", record: undefined }), "unreadable (passphrase must be set)"],
        ["an operation is running", entry({ updateInProgress: true }), "an operation is running"],
        ["it is already destroyed", entry({ resourceCount: 0 }), "already destroyed"],
        ["it has no date", entry({ record: record({ plannedDestructionAt: null }) }), "no planned destruction date"],
    ])("keeps it when %s", (_label, e, reason) => {
        expect(reapDecision(e, now)).toEqual({ stack: e.stack, reap: false, reason });
    });
});

describe("the dependency graph", () => {
    it("draws every record and dependency in Mermaid and DOT", () => {
        expect(toMermaid(record())).toBe('graph LR\n    n_cluster["cluster<br/>ExistingCluster x1"]\n    n_rabbitmq["rabbitmq<br/>RabbitMq x1"]\n    n_rabbitmq --> n_cluster\n');
        const dot = toDot(record());
        expect(dot).toContain('digraph "review-7" {');
        expect(dot).toContain("n_rabbitmq -> n_cluster;");
    });
});
