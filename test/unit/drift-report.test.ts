/**
 * scripts/drift-report.ts on real pulumi output (test/fixtures/preview/drift*,
 * made by scripts/capture-preview-fixtures.ts: a deployed local stack, then
 * its state changed as a refresh records changes made outside code), and its
 * command line with a stand-in `pulumi` that records how it was run.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";

import { describe, expect, it } from "vitest";

import { driftCommand, driftExitCode, formatDriftReport, parseDrift, run } from "../../scripts/drift-report";
import { REPO_ROOT } from "../helpers/engine";

const FIXTURES = path.join(REPO_ROOT, "test", "fixtures", "preview");
const read = (name: string) => fs.readFileSync(path.join(FIXTURES, `${name}.json`), "utf8");
const exitOf = (name: string) => Number(fs.readFileSync(path.join(FIXTURES, `${name}.exit`), "utf8"));

const KIALI = "observability-kiali:observability/kiali-server";
const CHART = "urn:pulumi:local::platform::platform:observability:Observability$kubernetes:helm.sh/v4:Chart";

describe("parseDrift", () => {
    it("names each drifted resource with its URN, type and changed properties", () => {
        const report = parseDrift(read("drift"));
        expect(report.errors).toEqual([]);
        expect(report.drifted).toEqual([
            {
                urn: `${CHART}$kubernetes:core/v1:Service::${KIALI}`,
                name: KIALI,
                type: "kubernetes:core/v1:Service",
                change: "missing",
                ops: ["create"],
                paths: [],
            },
            {
                urn: `${CHART}$kubernetes:apps/v1:Deployment::${KIALI}`,
                name: KIALI,
                type: "kubernetes:apps/v1:Deployment",
                change: "changed",
                ops: ["update"],
                paths: ["spec.replicas"],
            },
        ]);
        expect(driftExitCode(report, exitOf("drift"))).toBe(1);
    });

    it("a stack as deployed: no drift, exit 0", () => {
        const report = parseDrift(read("drift-clean"));
        expect(report).toEqual({ drifted: [], errors: [] });
        expect(driftExitCode(report, exitOf("drift-clean"))).toBe(0);
        expect(formatDriftReport("local", report, 0)).toBe("no drift in stack local\n");
    });

    it("a refresh that cannot read the resources: an error (exit 2), not 'no drift'", () => {
        const report = parseDrift(read("drift-refresh-error"));
        // The one step is the refresh itself (op "refresh"), which is not drift.
        expect(report.drifted).toEqual([]);
        expect(report.errors).toEqual([
            'Preview failed: failed to read resource state due to unreachable cluster. If the cluster was deleted, you can remove this resource from Pulumi state by rerunning the operation with the PULUMI_K8S_DELETE_UNREACHABLE environment variable set to "true"',
        ]);
        expect(driftExitCode(report, exitOf("drift-refresh-error"))).toBe(2);
        expect(formatDriftReport("local", report, 1)).toMatch(/^the drift check of stack local failed:\n {2}Preview failed: failed to read resource state/);
    });

    it("reads the refresh form: rewritten update and delete steps; merges a resource named twice", () => {
        // The shape ShowPreviewDigest writes for a refresh (pkg/backend/display/json.go): a drifted
        // resource's `refresh` step replaced by its outputs event, op `update` with the (inverted)
        // detailedDiff, or op `delete` when the object is gone; `preview --refresh` then adds the
        // program's own step for the same URN.
        const urn = (type: string, name: string) => `urn:pulumi:dev::platform::${type}::${name}`;
        const digest = {
            steps: [
                { op: "refresh", urn: urn("kubernetes:core/v1:ConfigMap", "same-cm"), detailedDiff: null },
                { op: "update", urn: urn("kubernetes:apps/v1:Deployment", "api"), diffReasons: ["spec"], detailedDiff: { "spec.replicas": { kind: "update", inputDiff: false } } },
                { op: "delete", urn: urn("kubernetes:core/v1:Service", "api"), detailedDiff: null },
                { op: "update", urn: urn("kubernetes:apps/v1:Deployment", "api"), detailedDiff: { "spec.template.spec.containers[0].image": { kind: "update", inputDiff: true } } },
                { op: "update", urn: urn("pulumi:pulumi:Stack", "platform-dev"), detailedDiff: null },
            ],
            changeSummary: { same: 1, update: 1, delete: 1 },
        };
        const report = parseDrift(JSON.stringify(digest));
        expect(report.drifted.map((r) => [r.name, r.type, r.change, r.ops, r.paths])).toEqual([
            ["api", "kubernetes:apps/v1:Deployment", "changed", ["update", "update"], ["spec.replicas", "spec.template.spec.containers[0].image"]],
            ["api", "kubernetes:core/v1:Service", "deleted", ["delete"], []],
        ]);
        expect(formatDriftReport("dev", report)).toBe(
            [
                "drift in stack dev: 2 resource(s) changed outside code",
                "  api (kubernetes:apps/v1:Deployment): changed: spec.replicas, spec.template.spec.containers[0].image",
                `    ${urn("kubernetes:apps/v1:Deployment", "api")}`,
                "  api (kubernetes:core/v1:Service): deleted outside code",
                `    ${urn("kubernetes:core/v1:Service", "api")}`,
                "",
            ].join("\n"),
        );
    });

    it("pulumi failing without saying why in the JSON is an error, not 'no drift'", () => {
        expect(driftExitCode(parseDrift(read("drift-clean")), 255)).toBe(2);
        expect(formatDriftReport("local", parseDrift(read("drift-clean")), 255)).toBe("the drift check of stack local failed:\n  pulumi exited with code 255\n");
    });

    it("refuses the event stream, which the drift job does not ask for", () => {
        const firstEvent = zlib.gunzipSync(fs.readFileSync(path.join(FIXTURES, "local-create.json.gz"))).toString("utf8").split("\n")[0];
        expect(() => parseDrift(firstEvent)).toThrow(/not a preview digest/);
    });
});

describe("drift-report command", () => {
    const io = () => {
        const o = { stdout: "", stderr: "" };
        return { o, io: { out: (t: string) => (o.stdout += t), err: (t: string) => (o.stderr += t) } };
    };

    it("reads saved JSON: --input and --exit-code", () => {
        const { o, io: out } = io();
        const code = run(["local", "--input", path.join(FIXTURES, "drift.json"), "--exit-code", "0"], {}, out);
        expect(code).toBe(1);
        expect(o.stdout).toMatch(/^drift in stack local: 2 resource\(s\) changed outside code\n/);
    });

    it("runs pulumi with the stack's backend and the local passphrase, and the extra flags", () => {
        // A stand-in pulumi: records its arguments and environment, prints the drift fixture.
        const bin = fs.mkdtempSync(path.join(os.tmpdir(), "fake-pulumi-"));
        const record = path.join(bin, "record.json");
        fs.writeFileSync(
            path.join(bin, "pulumi"),
            `#!${process.execPath}\n` +
                `require("fs").writeFileSync(${JSON.stringify(record)}, JSON.stringify({ args: process.argv.slice(2), cwd: process.cwd(), env: process.env }));\n` +
                `process.stdout.write(require("fs").readFileSync(${JSON.stringify(path.join(FIXTURES, "drift.json"))}, "utf8"));\n`,
            { mode: 0o755 },
        );
        try {
            const { o, io: out } = io();
            const env = { PATH: `${bin}${path.delimiter}${process.env.PATH}`, PLATFORM_LOCAL_BACKEND_URL: "file:///srv/state" };
            const code = run(["local", "--", "--target", "urn:x"], env, out);
            expect(o.stderr).toBe("[drift] pulumi refresh --preview-only --json --stack local --non-interactive --target urn:x (state in file:///srv/state)\n");
            expect(code).toBe(1);
            const seen = JSON.parse(fs.readFileSync(record, "utf8")) as { args: string[]; cwd: string; env: NodeJS.ProcessEnv };
            expect(seen.args).toEqual(driftCommand("refresh", "local", ["--target", "urn:x"]));
            expect(seen.cwd).toBe(REPO_ROOT);
            expect(seen.env.PULUMI_BACKEND_URL).toBe("file:///srv/state");
            expect(seen.env.PULUMI_CONFIG_PASSPHRASE_FILE).toBe(path.join(REPO_ROOT, "stacks", "local.passphrase"));

            run(["local", "--mode", "preview"], env, io().io);
            expect((JSON.parse(fs.readFileSync(record, "utf8")) as { args: string[] }).args).toEqual(["preview", "--refresh", "--json", "--stack", "local", "--non-interactive"]);
        } finally {
            fs.rmSync(bin, { recursive: true, force: true });
        }
    });

    it("a cloud stack without its backend: exit 2 naming the variable, pulumi not run", () => {
        const { o, io: out } = io();
        expect(run(["dev"], { PATH: "/nonexistent" }, out)).toBe(2);
        expect(o.stderr).toContain("stack dev keeps its state in the team backend: set PLATFORM_STATE_BACKEND_URL");
    });

    it("bad usage: exit 2", () => {
        for (const argv of [[], ["local", "--mode", "sideways"], ["local", "dev"], ["local", "--bogus"]]) {
            const { o, io: out } = io();
            expect(run(argv, {}, out), argv.join(" ")).toBe(2);
            expect(o.stderr).toMatch(/^\[drift\] /);
        }
    });
});
