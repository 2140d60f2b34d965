import { describe, expect, it } from "vitest";

import { toDot, toMermaid } from "./graph";
import { ageInDays, deployedState, EnvironmentEntry, effectiveStatus, isProtected, matchesOf, RecordView, reapDecision, recheckReap } from "./model";

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
        ["its template is prod, whatever its name", entry({ stack: "eu-main", record: record({ templates: [{ name: "prod", version: "0.1.0", commit: "a" }] }) }), "long-lived template prod"],
        ["its template is staging", entry({ stack: "staging-2", record: record({ templates: [{ name: "staging", version: "0.1.0", commit: "a" }] }) }), "long-lived template staging"],
        // Belt and braces: a prod-like name is kept even when its record says review.
        ["it is named like prod", entry({ stack: "prod-eu" }), "long-lived template review"],
        ["its record names no template", entry({ record: record({ templates: [] }) }), "long-lived template unknown"],
        ["its template is not one the registry knows", entry({ record: record({ templates: [{ name: "qa", version: "0.1.0", commit: "a" }] }) }), "template qa is not reaped"],
        ["it cannot be read", entry({ error: "passphrase must be set", record: undefined }), "unreadable (passphrase must be set)"],
        ["an operation is running", entry({ updateInProgress: true }), "an operation is running"],
        ["it is already destroyed", entry({ resourceCount: 0 }), "already destroyed"],
        ["it has no date", entry({ record: record({ plannedDestructionAt: null }) }), "no planned destruction date"],
    ])("keeps it when %s", (_label, e, reason) => {
        expect(reapDecision(e, now)).toEqual({ stack: e.stack, reap: false, reason });
    });
});

/** `pulumi stack export` of a stack: its root resource (with the record output) and a ConfigMap. */
const exported = (over: { record?: unknown; protect?: boolean } = {}) => ({
    version: 3,
    deployment: {
        manifest: { time: "2026-11-01T10:00:00Z" },
        resources: [
            { urn: "urn:pulumi:review-7::platform::pulumi:pulumi:Stack::platform-review-7", type: "pulumi:pulumi:Stack", outputs: { environment: "record" in over ? over.record : record() } },
            { urn: "urn:pulumi:review-7::platform::pulumi:providers:kubernetes::default", type: "pulumi:providers:kubernetes" },
            {
                urn: "urn:pulumi:review-7::platform::kubernetes:core/v1:ConfigMap::environment-record",
                type: "kubernetes:core/v1:ConfigMap",
                ...(over.protect ? { protect: true } : {}),
            },
        ],
    },
});

describe("the deployed state (no stack file)", () => {
    it("reads the record, the resource count and nothing protected from an unprotected stack", () => {
        const state = deployedState(exported(), { "platform:protect": { value: "", secret: false } });
        expect(state).toEqual({ record: record(), resourceCount: 3, protectedResources: [], protectConfigured: false });
        expect(isProtected(state)).toBe(false);
    });

    it("is protected by a protected resource in the state, whatever the config says", () => {
        const state = deployedState(exported({ protect: true }), {});
        expect(state.protectedResources).toEqual([
            { urn: "urn:pulumi:review-7::platform::kubernetes:core/v1:ConfigMap::environment-record", type: "kubernetes:core/v1:ConfigMap", protect: true },
        ]);
        expect(isProtected(state)).toBe(true);
    });

    it("is protected by platform:protect in the last operation's config, before any protected resource exists", () => {
        expect(isProtected(deployedState(exported(), { "platform:protect": { value: "true", secret: false } }))).toBe(true);
        expect(isProtected(deployedState(exported(), { "platform:protect": { value: "false", secret: false } }))).toBe(false);
    });

    it("unwraps a record stored as a secret, and treats a malformed or missing one as no record", () => {
        const secret = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", plaintext: JSON.stringify(record()) };
        expect(deployedState(exported({ record: secret })).record).toEqual(record());
        expect(deployedState(exported({ record: { name: "review-7" } })).record).toBeUndefined();
        expect(deployedState(exported({ record: undefined })).record).toBeUndefined();
        expect(deployedState({ version: 3, deployment: {} })).toEqual({ record: undefined, resourceCount: 0, protectedResources: [], protectConfigured: false });
        expect(deployedState(null).resourceCount).toBe(0);
    });

    it("keeps a protected review stack and says why, when nothing but the state says it is protected", () => {
        const state = deployedState(exported({ protect: true }));
        const e = entry({ record: state.record, protect: isProtected(state) });
        expect(reapDecision(e, now)).toEqual({ stack: "review-7", reap: false, reason: "protected (platform:protect)" });
    });
});

describe("recheckReap, just before destroying", () => {
    it("destroys a stack whose state has not changed since the listing", () => {
        expect(recheckReap(entry(), deployedState(exported()), now)).toEqual({ stack: "review-7", reap: true, reason: "planned for 2026-11-10, expired" });
    });
    it.each([
        ["protected by a redeploy", deployedState(exported({ protect: true })), "protected (platform:protect)"],
        ["protected in the redeploy's config", deployedState(exported(), { "platform:protect": { value: "true" } }), "protected (platform:protect)"],
        ["given a later date by a redeploy", deployedState(exported({ record: record({ plannedDestructionAt: "2026-12-01" }) })), "planned for 2026-12-01"],
        ["no longer planned for destruction", deployedState(exported({ record: record({ plannedDestructionAt: null }) })), "no planned destruction date"],
        ["left without a record", deployedState(exported({ record: undefined })), "no environment record"],
        ["destroyed by someone else", deployedState({ version: 3, deployment: { resources: [] } }), "no environment record"],
    ])("keeps a stack %s, naming the recheck", (_label, state, reason) => {
        expect(recheckReap(entry(), state, now)).toEqual({ stack: "review-7", reap: false, reason: `rechecked before destroying: ${reason}` });
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
