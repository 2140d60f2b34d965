/**
 * The local stack on a team-style `azblob://` backend: Azurite (the Azure
 * Storage emulator) on loopback stands in for the storage account. State is
 * written there, read back by a second checkout, moved to a file backend and
 * back unchanged, and the backend's lock refuses a second `up` while one runs.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { Azurite, startAzurite } from "../helpers/azurite";
import { defaultTestChartMirror } from "../helpers/real-charts";
import { createEngineProject, EngineProject, readTree } from "../helpers/engine";
import { backendVariables, fileBackendUrl } from "../../scripts/stack-settings";
import { jsonDiff } from "../helpers/json-diff";

const CONTAINER = "pulumi-state";
const BACKEND_URL = `azblob://${CONTAINER}`;
const POLICY = ["--policy-pack", "policies", "--policy-pack-config", "policies/config/local.json"];
// The diy backend's layout (pkg/backend/diy): project-scoped stacks, a lock file per running operation.
// A team backend's state is compressed (scripts/stack-settings.ts, backendVariables).
const STACK_BLOB = ".pulumi/stacks/platform/local.json.zst";
const LOCK_PREFIX = ".pulumi/locks/";

let azurite: Azurite;
let azuriteDir: string;
/** The checkout that deploys. */
let writer: EngineProject;
/** A teammate's checkout of the same commit: its own workspace and stack file, the same backend. */
let reader: EngineProject;

interface Deployment {
    deployment: { manifest: Record<string, unknown>; resources: { urn: string; dependencies?: string[] }[] };
}

function exportState(project: EngineProject, extraEnv: NodeJS.ProcessEnv = {}, showSecrets = false): string {
    const result = project.pulumi(["stack", "export", "--stack", "local", ...(showSecrets ? ["--show-secrets"] : [])], extraEnv);
    expect(result.status, result.stderr).toBe(0);
    return result.stdout;
}

/** Resources keyed by URN, dependency lists sorted: an update may write both in another order. */
function byUrn(state: Deployment): Record<string, unknown> {
    return Object.fromEntries(
        state.deployment.resources.map((r) => [r.urn, { ...r, dependencies: r.dependencies ? [...r.dependencies].sort() : undefined }]),
    );
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        const value = await probe();
        if (value !== undefined) {
            return value;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
    azuriteDir = fs.mkdtempSync(path.join(os.tmpdir(), "platform-azurite-"));
    azurite = await startAzurite(azuriteDir);
    await azurite.createContainer(CONTAINER);
    writer = createEngineProject({ backendUrl: BACKEND_URL, env: azurite.env });
    const init = writer.pulumi(["stack", "init", "local"]);
    expect(init.status, init.stderr).toBe(0);
    writer.setConfig("local", "platform:renderDirectory", writer.renderDir);
    // The real upstream charts, from the offline mirror (../shared/charts or PLATFORM_CHART_MIRROR).
    writer.setConfig("local", "platform:chartMirror", defaultTestChartMirror());

    reader = createEngineProject({ backendUrl: BACKEND_URL, env: azurite.env });
    // The stack file as committed by the writer.
    fs.copyFileSync(path.join(writer.dir, "stacks", "Pulumi.local.yaml"), path.join(reader.dir, "stacks", "Pulumi.local.yaml"));
});
afterAll(async () => {
    await azurite?.stop();
    reader?.cleanup();
    writer?.cleanup();
    if (azuriteDir) {
        fs.rmSync(azuriteDir, { recursive: true, force: true });
    }
});

describe("the local stack on an azblob:// backend (Azurite)", () => {
    it("deploys with the policy pack, the state written to the blob container and nothing on disk", async () => {
        // Async: a run longer than vitest's 60 s worker RPC timeout must not block the event loop.
        const result = await writer.pulumiAsync(["up", "--yes", "--skip-preview", "--stack", "local", ...POLICY]);
        expect(result.status, result.stdout + result.stderr).toBe(0);
        expect(result.stdout).toContain("platform:cluster:ExistingCluster");
        expect(result.stdout).not.toContain("[mandatory]");
        const blobs = await azurite.listBlobs(CONTAINER);
        expect(blobs).toEqual(expect.arrayContaining([".pulumi/meta.yaml", STACK_BLOB]));
        expect(blobs.filter((b) => b.startsWith(LOCK_PREFIX))).toEqual([]);
        expect(readTree(writer.backendDir).size).toBe(0);
        const state = JSON.parse(exportState(writer)) as Deployment;
        expect(state.deployment.resources.length).toBeGreaterThan(50);
    });

    it("is read back by a second checkout: the same export, byte for byte", () => {
        const written = exportState(writer);
        const read = exportState(reader);
        expect(jsonDiff(JSON.parse(written), JSON.parse(read))).toEqual([]);
        expect(read).toBe(written);
    });

    it("locks the stack: while the second checkout's up runs, the first one's up is refused", async () => {
        const before = JSON.parse(exportState(writer, {}, true)) as Deployment;
        // The teammate's up reads the state from the container and finds nothing to change
        // (the update alone: the lock is the backend's, taken for the update).
        const running = reader.pulumiAsync(["up", "--yes", "--skip-preview", "--stack", "local", "--expect-no-changes"]);
        const locks = await waitFor("the running up's lock blob", async () => {
            const found = (await azurite.listBlobs(CONTAINER, LOCK_PREFIX)).filter((b) => b.endsWith(".json"));
            return found.length > 0 ? found : undefined;
        });
        expect(locks).toHaveLength(1);
        expect(locks[0]).toMatch(new RegExp(`^${LOCK_PREFIX}organization/platform/local/[0-9a-f-]{36}\\.json$`));

        const refused = await writer.pulumiAsync(["up", "--yes", "--stack", "local"]);
        const refusal = refused.stdout + refused.stderr;
        expect(refused.status, refusal).not.toBe(0);
        expect(refusal).toContain("the stack is currently locked by 1 lock(s)");
        expect(refusal).toContain(locks[0]);

        const result = await running;
        expect(result.status, result.stdout + result.stderr).toBe(0);
        expect(await azurite.listBlobs(CONTAINER, LOCK_PREFIX)).toEqual([]);

        // No resource changed and the refused run left no trace; only the no-op up's bookkeeping moved.
        const after = JSON.parse(exportState(writer, {}, true)) as Deployment;
        expect(jsonDiff(byUrn(before), byUrn(after))).toEqual([]);
        const moved = before.deployment.resources.filter((r, i) => after.deployment.resources[i]?.urn !== r.urn).length;
        const reordered = after.deployment.resources.filter((r) => {
            const was = before.deployment.resources.find((b) => b.urn === r.urn);
            return JSON.stringify(was?.dependencies) !== JSON.stringify(r.dependencies);
        }).length;
        const history = JSON.parse(writer.pulumi(["stack", "history", "--stack", "local", "--json"]).stdout) as { kind: string; result: string }[];
        expect(history.map((h) => `${h.kind}:${h.result}`)).toEqual(["update:succeeded", "update:succeeded"]);
        const lockLine = refusal.split("\n").find((l) => l.includes("currently locked"))?.trim();
        console.info(
            `azblob lock: the concurrent up was refused: "${lockLine}"; after the no-op up, ` +
                `${before.deployment.resources.length} resources with the same URNs and values ` +
                `(order only: ${moved} resources at another index, ${reordered} with dependencies listed in another order)`,
        );
    });

    it("round-trips through a file:// backend unchanged (stack export | stack import)", () => {
        const fileBackend = backendVariables(fileBackendUrl(reader.backendDir));
        const exported = path.join(reader.dir, "..", "local.json");
        fs.writeFileSync(exported, exportState(writer));
        expect(reader.pulumi(["stack", "init", "local"], fileBackend).status).toBe(0);
        const imported = reader.pulumi(["stack", "import", "--stack", "local", "--file", exported], fileBackend);
        expect(imported.status, imported.stderr).toBe(0);
        // Secrets are compared in plain text: re-encryption picks fresh nonces.
        const before = JSON.parse(exportState(writer, {}, true)) as Deployment;
        const after = JSON.parse(exportState(reader, fileBackend, true)) as Deployment;
        const changed = jsonDiff(before, after);
        expect(changed).toEqual([]);
        console.info(`azblob -> file:// -> export: ${before.deployment.resources.length} resources, ${changed.length} fields differ`);
    });
});
