// The reaper against a fake backend: the Automation API is replaced, backend.ts and cli.ts run as they are.
// The stacks are review stacks with no stack file (as in CI): what they are comes from their state alone.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { run } from "./cli";
import { RecordView } from "./model";

interface FakeStack {
    /** What `pulumi stack export` returns, one per call (the last one repeats): a later one is a redeploy. */
    exports: unknown[];
    exportCalls: number;
    /** `platform:protect` of the last operation's config. */
    protect?: string;
}

const backend = vi.hoisted(() => ({
    stacks: new Map<string, FakeStack>(),
    destroyed: [] as string[],
    removed: [] as string[],
    /** PULUMI_SKIP_CHECKPOINTS as each destroy saw it, and the workspace's settings. */
    skipCheckpoints: [] as (string | undefined)[],
    envVars: {} as Record<string, string>,
}));

vi.mock("@pulumi/pulumi/automation", () => {
    const stackOf = (name: string): FakeStack => {
        const s = backend.stacks.get(name);
        if (!s) {
            throw new Error(`no stack ${name}`);
        }
        return s;
    };
    const workspace = {
        listStacks: async () =>
            [...backend.stacks].map(([name, s]) => {
                const first = s.exports[0] as { deployment: { resources: unknown[] } };
                return { name, current: false, updateInProgress: false, resourceCount: first.deployment.resources.length };
            }),
        removeStack: async (name: string) => void backend.removed.push(name),
        envVars: backend.envVars,
    };
    return {
        LocalWorkspace: { create: async () => workspace },
        Stack: {
            select: async (name: string) => ({
                exportStack: async () => {
                    const s = stackOf(name);
                    return s.exports[Math.min(s.exportCalls++, s.exports.length - 1)];
                },
                history: async () => [
                    { kind: "update", result: "succeeded", endTime: new Date("2026-11-01T10:00:00Z"), config: { "platform:protect": { value: stackOf(name).protect ?? "", secret: false } } },
                ],
                refreshConfig: async () => ({}),
                destroy: async () => {
                    backend.destroyed.push(name);
                    backend.skipCheckpoints.push(backend.envVars.PULUMI_SKIP_CHECKPOINTS);
                },
            }),
        },
    };
});

const record = (name: string, plannedDestructionAt: string | null): RecordView => ({
    name,
    description: `Merge request ${name}`,
    tags: { owner: "dev@example.com", environment: name, "cost-center": "PLT-0001", "managed-by": "pulumi", repository: "platform-gitops" },
    createdAt: "2026-11-01T10:00:00.000Z",
    plannedDestructionAt,
    status: "deployed-ok",
    templates: [{ name: "review", version: "0.2.0", commit: "abcdef1" }],
    entrypoints: [],
    statusEndpoints: [],
    resources: [],
});

/** `pulumi stack export` of a deployed review stack. */
const state = (name: string, planned: string | null, protect = false) => ({
    version: 3,
    deployment: {
        resources: [
            { urn: `urn:pulumi:${name}::platform::pulumi:pulumi:Stack::platform-${name}`, type: "pulumi:pulumi:Stack", outputs: { environment: record(name, planned) } },
            { urn: `urn:pulumi:${name}::platform::kubernetes:core/v1:ConfigMap::environment-record`, type: "kubernetes:core/v1:ConfigMap", ...(protect ? { protect: true } : {}) },
        ],
    },
});

function addStack(name: string, ...exports: unknown[]): void {
    expect(fs.existsSync(path.join(__dirname, "..", "..", "stacks", `Pulumi.${name}.yaml`)), `stacks/Pulumi.${name}.yaml must not exist`).toBe(false);
    backend.stacks.set(name, { exports, exportCalls: 0 });
}

async function reap(...args: string[]): Promise<{ code: number; out: string }> {
    const lines: string[] = [];
    const code = await run(["reap", "--now", "2026-11-15", ...args], { out: (t) => lines.push(t), progress: () => undefined });
    return { code, out: lines.join("\n") };
}

beforeEach(() => {
    backend.stacks.clear();
    backend.destroyed.length = 0;
    backend.removed.length = 0;
    backend.skipCheckpoints.length = 0;
    vi.stubEnv("PLATFORM_EVENTS_URL", "");
});
afterEach(() => {
    vi.unstubAllEnvs();
});

describe("the reaper, with protection and dates read from the deployed state", () => {
    it("keeps and lists a protected review stack, and succeeds", async () => {
        addStack("review-901", state("review-901", "2026-11-10", true));
        addStack("review-902", state("review-902", "2026-11-10"));

        const dry = await reap();
        expect(dry.out).toMatch(/review-901\s+keep\s+protected \(platform:protect\)/);
        expect(dry.out).toMatch(/review-902\s+would destroy\s+planned for 2026-11-10, expired/);

        const real = await reap("--yes");
        expect(real.code, real.out).toBe(0);
        expect(real.out).toMatch(/review-901\s+keep\s+protected/);
        expect(real.out).toContain("reaped 1 of 1");
        expect(backend.destroyed).toEqual(["review-902"]);
        expect(backend.removed).toEqual(["review-902"]);
        // A review stack's destroy runs without per-step checkpoints (destroySkipsCheckpoints), and only it.
        expect(backend.skipCheckpoints).toEqual(["true"]);
        expect(backend.envVars).toEqual({});
    });

    it("keeps a stack protected only by its last deployment's config", async () => {
        addStack("review-903", state("review-903", "2026-11-10"));
        backend.stacks.get("review-903")!.protect = "true";
        const real = await reap("--yes");
        expect(real.out).toMatch(/review-903\s+keep\s+protected/);
        expect(real.code).toBe(0);
        expect(backend.destroyed).toEqual([]);
    });

    it("does not destroy a stack redeployed between the listing and the destroy, and says why", async () => {
        addStack("review-904", state("review-904", "2026-11-10"), state("review-904", "2026-11-10", true));
        addStack("review-905", state("review-905", "2026-11-10"), state("review-905", "2026-11-30"));
        addStack("review-906", state("review-906", "2026-11-10"));

        const real = await reap("--yes");
        expect(real.out).toMatch(/review-904\s+destroy\s+planned for 2026-11-10, expired/);
        expect(real.out).toContain("kept review-904: rechecked before destroying: protected (platform:protect)");
        expect(real.out).toContain("kept review-905: rechecked before destroying: planned for 2026-11-30");
        expect(real.out).toContain("destroyed review-906");
        expect(real.out).toContain("reaped 1 of 3 (2 kept: changed since the listing)");
        expect(real.code, real.out).toBe(0);
        expect(backend.destroyed).toEqual(["review-906"]);
        expect(backend.removed).toEqual(["review-906"]);
    });
});
