/**
 * scripts/preview-note/ on real `pulumi preview --json` output of the local
 * stack (test/fixtures/preview/, made by scripts/capture-preview-fixtures.ts).
 * The expected counts below were read off the fixtures, and the first test
 * recounts them from the raw events so a regenerated fixture that changes
 * them fails loudly here rather than somewhere less clear.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";

import { describe, expect, it } from "vitest";

import {
    codeCell,
    decide,
    EngineEvent,
    escapeCell,
    GITLAB_NOTE_LIMIT,
    NOTE_MARKER,
    notePipelineId,
    parsePreview,
    parseUrn,
    renderNote,
    StackPreview,
} from "../../scripts/preview-note";
import { REPO_ROOT } from "../helpers/engine";

const FIXTURES = path.join(REPO_ROOT, "test", "fixtures", "preview");
/** A fixture's text: the large ones (the streaming form) are kept gzipped. */
const read = (file: string) =>
    file.endsWith(".gz") ? zlib.gunzipSync(fs.readFileSync(path.join(FIXTURES, file))).toString("utf8") : fs.readFileSync(path.join(FIXTURES, file), "utf8");
const readJson = (name: string) => read(fs.existsSync(path.join(FIXTURES, `${name}.json.gz`)) ? `${name}.json.gz` : `${name}.json`);

function fixture(name: string, stack = "local"): StackPreview {
    return parsePreview({
        stack,
        stdout: readJson(name),
        exitCode: Number(fs.readFileSync(path.join(FIXTURES, `${name}.exit`), "utf8")),
    });
}

function events(name: string): EngineEvent[] {
    return readJson(name)
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l) => JSON.parse(l) as EngineEvent);
}

const KIALI = "observability-kiali:observability/kiali-server";
const CONTEXT = { pipelineUrl: "https://gitlab.example.com/platform/gitops/-/pipelines/4711", commitSha: "0123456789abcdef0123456789abcdef01234567" };

describe("the fixtures", () => {
    it.each([
        ["local-create", { create: 196 }],
        ["local-change", { update: 1, replace: 1, delete: 1, same: 193 }],
        ["local-policy", { update: 1, same: 195 }],
        ["local-bad-config", { same: 1 }],
    ])("%s: the logical steps add up to the summary", (name, expected) => {
        const all = events(name);
        const counted: Record<string, number> = {};
        for (const e of all) {
            const m = e.resourcePreEvent?.metadata;
            // `logical` is omitted when false: on the create-replacement and delete-replaced halves of a replacement.
            if (m?.logical === true) {
                counted[m.op] = (counted[m.op] ?? 0) + 1;
            }
        }
        const summary = all.find((e) => e.summaryEvent)?.summaryEvent;
        expect(summary?.resourceChanges).toEqual(expected);
        expect(counted).toEqual(expected);
    });

    it("hold no secret: no passphrase, every secret value masked as [secret]", () => {
        const passphrase = fs.readFileSync(path.join(REPO_ROOT, "stacks", "local.passphrase"), "utf8").trim();
        let masked = 0;
        for (const file of fs.readdirSync(FIXTURES).filter((f) => /\.json(\.gz)?$/.test(f))) {
            const text = read(file);
            expect(text.includes(passphrase), file).toBe(false);
            // A serialized secret: {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", …}
            for (const m of text.matchAll(/"4dabf18193072939515e22adb298388d":\s*"1b47061264138c4ac30d75fd1eb44270",\s*"(\w+)":\s*("(?:[^"\\]|\\.)*")/g)) {
                expect([m[1], m[2]], file).toEqual(["ciphertext", '"[secret]"']);
                masked++;
            }
            expect(text, file).not.toMatch(/"plaintext"/);
        }
        expect(masked).toBeGreaterThan(0);
    });
});

describe("parsePreview", () => {
    it("a new stack: every resource created, one advisory violation, the policy pack named", () => {
        const p = fixture("local-create");
        expect(p).toMatchObject({ format: "events", status: "ok", counts: { create: 196 }, replaced: [], deleted: [], errors: [], policyPacks: ["platform@0.1.0"] });
        expect(p.violations).toEqual([
            {
                policy: "database-encrypted-backed-up",
                pack: "platform",
                level: "advisory",
                resource: {
                    urn: "urn:pulumi:local::platform::platform:postgres:InClusterPostgres$kubernetes:postgresql.cnpg.io/v1:Cluster::postgres-cluster",
                    name: "postgres-cluster",
                    type: "kubernetes:postgresql.cnpg.io/v1:Cluster",
                },
                message: "no backups (neither the Barman Cloud plugin nor spec.backup)",
            },
        ]);
    });

    it("a change: the replaced and deleted resources by name and type, the replacement's reason", () => {
        const p = fixture("local-change");
        expect(p.status).toBe("ok");
        expect(p.counts).toEqual({ update: 1, replace: 1, delete: 1, same: 193 });
        expect(p.replaced.map(({ name, type, reasons }) => ({ name, type, reasons }))).toEqual([
            { name: KIALI, type: "kubernetes:apps/v1:Deployment", reasons: ['spec.selector.matchLabels["app.kubernetes.io/component"]'] },
        ]);
        expect(p.deleted.map(({ name, type }) => ({ name, type }))).toEqual([{ name: KIALI, type: "kubernetes:core/v1:Service" }]);
    });

    it("reads the digest of the same preview alike, and says it has no policy results", () => {
        const events = fixture("local-change");
        const digest = fixture("local-change.digest");
        expect(digest.format).toBe("digest");
        expect(digest.counts).toEqual(events.counts);
        expect(digest.replaced).toEqual(events.replaced);
        expect(digest.deleted).toEqual(events.deleted);
        expect(digest.policiesReported).toBe(false);
        expect(digest.violations).toEqual([]);
        expect(renderNote([digest])).toContain("Policy results are not in this output");
    });

    it("a mandatory violation fails the preview, which still counts its changes", () => {
        const p = fixture("local-policy");
        expect(p.exitCode).toBe(1);
        expect(p.status).toBe("policy-failed");
        expect(p.counts).toEqual({ update: 1, same: 195 });
        expect(p.violations.map((v) => [v.level, v.policy, v.resource?.name, v.resource?.type, v.message])).toEqual([
            [
                "mandatory",
                "container-image-pinned",
                "observability-loki:observability/loki",
                "kubernetes:apps/v1:Deployment",
                'container "main" image "registry.example.com/test-double/loki:latest" is not pinned to a tag or digest',
            ],
            ["advisory", "database-encrypted-backed-up", "postgres-cluster", "kubernetes:postgresql.cnpg.io/v1:Cluster", "no backups (neither the Barman Cloud plugin nor spec.backup)"],
        ]);
    });

    it("bad config: failed, with the program's error, not zero changes", () => {
        const p = fixture("local-bad-config");
        expect(p.status).toBe("failed");
        expect(p.errors).toEqual(['invalid stack configuration:\n  - platform:owner: must be an email address (got "not-an-email")']);
    });

    it("no JSON at all: failed, with the exit code and pulumi's stderr", () => {
        const p = parsePreview({ stack: "dev", stdout: "", exitCode: 255, stderr: "error: PLATFORM_STATE_BACKEND_URL: no such container\n" });
        expect(p.status).toBe("failed");
        expect(p.format).toBe("none");
        expect(p.errors).toEqual(["cannot read the preview: pulumi printed no JSON", "pulumi exited with code 255", "error: PLATFORM_STATE_BACKEND_URL: no such container"]);
    });

    it("cut-off or foreign output: failed, naming the problem", () => {
        const cut = readJson("local-change").slice(0, 5000);
        expect(parsePreview({ stack: "dev", stdout: cut, exitCode: 0 }).errors[0]).toMatch(/^cannot read the preview: line \d+ is not JSON/);
        expect(parsePreview({ stack: "dev", stdout: "[1, 2]", exitCode: 0 }).status).toBe("failed");
        // A stream without its summary event did not finish, whatever the exit code says.
        const withoutSummary = events("local-change")
            .filter((e) => !e.summaryEvent)
            .map((e) => JSON.stringify(e))
            .join("\n");
        const p = parsePreview({ stack: "dev", stdout: withoutSummary, exitCode: 0 });
        expect(p.status).toBe("failed");
        expect(p.errors).toEqual(["the preview did not finish (no summary event)"]);
    });

    it("a non-zero exit with clean JSON is a failure too (e.g. --expect-no-changes)", () => {
        const stdout = readJson("local-change");
        const p = parsePreview({ stack: "dev", stdout, exitCode: 255, stderr: "error: no changes were expected but changes were proposed\n" });
        expect(p.status).toBe("failed");
        expect(p.errors).toEqual(["pulumi exited with code 255", "error: no changes were expected but changes were proposed"]);
    });

    it("parses URNs, whose names may contain '::'", () => {
        expect(parseUrn("urn:pulumi:dev::platform::a:b:C$kubernetes:core/v1:Service::ns::name")).toEqual({
            urn: "urn:pulumi:dev::platform::a:b:C$kubernetes:core/v1:Service::ns::name",
            name: "ns::name",
            type: "kubernetes:core/v1:Service",
        });
    });
});

describe("decide", () => {
    it("passes changes and advisory violations", () => {
        expect(decide([fixture("local-create"), fixture("local-change")])).toEqual({ fail: false, reasons: [], blocked: [] });
    });

    it("fails on a mandatory violation or a failed preview, naming each", () => {
        const d = decide([fixture("local-change", "dev"), fixture("local-policy", "staging"), fixture("local-bad-config", "prod")]);
        expect(d).toEqual({ fail: true, reasons: ["staging: 1 mandatory policy violation", "prod: preview failed"], blocked: ["staging", "prod"] });
    });

    it("fails a digest whose preview failed, even though the digest cannot say why", () => {
        const p = parsePreview({ stack: "dev", stdout: JSON.stringify({ diagnostics: [{ message: "error: preview failed\n", severity: "error" }], changeSummary: { same: 3 } }), exitCode: 255 });
        expect(decide([p]).fail).toBe(true);
    });

    it("passes when no stack was affected", () => {
        expect(decide([]).fail).toBe(false);
        expect(renderNote([])).toContain("No stack is affected by this change.");
    });
});

describe("renderNote", () => {
    const previews = () => [fixture("local-change", "dev"), fixture("local-policy", "staging"), fixture("local-bad-config", "prod")];

    it("starts with the marker and the pipeline, then one row per stack", () => {
        const lines = renderNote(previews(), CONTEXT).split("\n");
        expect(lines.slice(0, 5)).toEqual([
            NOTE_MARKER,
            "<!-- platform-preview:pipeline=4711 -->",
            "### Pulumi preview: ❌ 2 of 3 stacks blocked",
            "",
            "From pipeline [#4711](https://gitlab.example.com/platform/gitops/-/pipelines/4711), commit `0123456789ab`. " +
                "This note shows the newest pipeline's previews and is updated by each pipeline of the merge request.",
        ]);
        expect(lines).toEqual(
            expect.arrayContaining([
                "| stack | result | create | update | replace | delete | same | policy violations |",
                "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
                "| `dev` | ✅ ok | 0 | 1 | 1 | 1 | 193 | 1 advisory |",
                "| `staging` | ❌ policy violations | 0 | 1 | 0 | 0 | 195 | 1 mandatory, 1 advisory |",
                // Failed: no counts at all, never "0 changes".
                "| `prod` | ❌ preview failed | – | – | – | – | – | – |",
                "Blocking: staging: 1 mandatory policy violation; prod: preview failed.",
            ]),
        );
        expect(notePipelineId(lines.join("\n"))).toBe(4711);
    });

    it("lists the replaced and deleted resources and the violations, mandatory first", () => {
        const note = renderNote(previews(), CONTEXT);
        const dev = note.slice(note.indexOf("#### `dev`"), note.indexOf("#### `staging`"));
        expect(dev).toContain(
            [
                "**Replaced** (1): deleted and created again",
                "",
                "| resource | type | replaced because of |",
                "| --- | --- | --- |",
                `| \`${KIALI}\` | \`kubernetes:apps/v1:Deployment\` | \`spec.selector.matchLabels["app.kubernetes.io/component"]\` |`,
            ].join("\n"),
        );
        expect(dev).toContain(["**Deleted** (1)", "", "| resource | type |", "| --- | --- |", `| \`${KIALI}\` | \`kubernetes:core/v1:Service\` |`].join("\n"));
        const staging = note.slice(note.indexOf("#### `staging`"), note.indexOf("#### `prod`"));
        expect(staging).toContain(
            [
                "| level | policy | resource | message |",
                "| --- | --- | --- | --- |",
                '| ❌ mandatory | `container-image-pinned` | `observability-loki:observability/loki` (`kubernetes:apps/v1:Deployment`) | container "main" image "registry.example.com/test-double/loki:latest" is not pinned to a tag or digest |',
                "| ⚠️ advisory | `database-encrypted-backed-up` | `postgres-cluster` (`kubernetes:postgresql.cnpg.io/v1:Cluster`) | no backups (neither the Barman Cloud plugin nor spec.backup) |",
            ].join("\n"),
        );
    });

    it("shows a failed preview as failed, with its first error lines", () => {
        const note = renderNote(previews(), CONTEXT);
        expect(note.slice(note.indexOf("#### `prod`"))).toBe(
            [
                "#### `prod`",
                "",
                "**The preview failed**: its changes are unknown.",
                "",
                "```text",
                "invalid stack configuration:",
                '  - platform:owner: must be an email address (got "not-an-email")',
                "```",
                "",
            ].join("\n"),
        );
        const long = { ...fixture("local-bad-config"), errors: [Array.from({ length: 30 }, (_, i) => `line ${i + 1}`).join("\n")] };
        const cut = renderNote([long], {}, { maxErrorLines: 5 });
        expect(cut).toContain("line 5\n… and 25 more line(s): see the job log\n```");
        expect(cut).not.toContain("line 6\n");
    });

    it("cuts long lists with '… and N more', and keeps the note under GitLab's limit", () => {
        const base = fixture("local-change");
        const many: StackPreview = {
            ...base,
            deleted: Array.from({ length: 120 }, (_, i) => ({ urn: `urn:pulumi:dev::platform::kubernetes:core/v1:ConfigMap::cm-${i}`, name: `cm-${i}`, type: "kubernetes:core/v1:ConfigMap" })),
        };
        const note = renderNote([many]);
        expect(note).toContain("**Deleted** (120)");
        expect(note).toContain("| `cm-49` |");
        expect(note).not.toContain("| `cm-50` |");
        expect(note).toContain("| … and 70 more | |");

        // Over the limit: fewer rows until it fits.
        const full = renderNote([many], {}, { maxItems: 200 });
        const fitted = renderNote([many], {}, { maxItems: 200, maxLength: full.length - 1 });
        expect(fitted.length).toBeLessThanOrEqual(full.length - 1);
        expect(fitted).toMatch(/\| … and \d+ more \| \|/);

        // Still over with one row each: the text itself is cut, with a word why.
        const tiny = renderNote([many], {}, { maxLength: 300 });
        expect(tiny.length).toBeLessThanOrEqual(300);
        expect(tiny.startsWith(NOTE_MARKER)).toBe(true);
        expect(tiny).toMatch(/cut here to fit GitLab's size limit/);
        expect(renderNote([many]).length).toBeLessThan(GITLAB_NOTE_LIMIT);
    });

    it("escapes Markdown and HTML in names and messages", () => {
        expect(escapeCell("a|b <!-- x --> *y* [l](u) `c` @all\nnext")).toBe("a\\|b &lt;!-- x --&gt; \\*y\\* \\[l\\](u) \\`c\\` @\u200ball<br>next");
        expect(codeCell("name|with`tick")).toBe("``name\\|with`tick``");
        expect(codeCell("`edge")).toBe("`` `edge ``");
        const base = fixture("local-policy");
        const hostile: StackPreview = {
            ...base,
            violations: [{ ...base.violations[0], message: "bad | pipe\n<!-- platform-preview -->" }],
        };
        const note = renderNote([hostile]);
        expect(note.split(NOTE_MARKER).length).toBe(2);
        expect(note).toContain("bad \\| pipe<br>&lt;!-- platform-preview --&gt; |");
    });
});
