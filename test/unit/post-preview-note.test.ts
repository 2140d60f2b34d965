/**
 * scripts/post-preview-note.ts against a stand-in for GitLab's notes API
 * (test/helpers/fake-gitlab.ts). The previews are the real fixtures of
 * test/fixtures/preview/.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { readPreviews, run } from "../../scripts/post-preview-note";
import { NOTE_MARKER, renderNote } from "../../scripts/preview-note";
import { REPO_ROOT } from "../helpers/engine";
import { BOT, FakeGitLab, FakeNote, MR, NOTES_PATH, PROJECT, SOMEONE, TOKEN } from "../helpers/fake-gitlab";

const FIXTURES = path.join(REPO_ROOT, "test", "fixtures", "preview");
const gitlab = new FakeGitLab();
let dir: string;

beforeAll(() => gitlab.start());
afterAll(() => gitlab.stop());
beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "previews-"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Puts fixture `name` in the preview directory as stack `stack`, as the CI job would. */
function save(stack: string, name: string): void {
    const gz = path.join(FIXTURES, `${name}.json.gz`);
    if (fs.existsSync(gz)) {
        fs.writeFileSync(path.join(dir, `${stack}.json`), zlib.gunzipSync(fs.readFileSync(gz)));
    } else {
        fs.copyFileSync(path.join(FIXTURES, `${name}.json`), path.join(dir, `${stack}.json`));
    }
    fs.copyFileSync(path.join(FIXTURES, `${name}.exit`), path.join(dir, `${stack}.exit`));
}

function env(pipeline = 4711): NodeJS.ProcessEnv {
    return {
        CI_API_V4_URL: gitlab.apiUrl,
        CI_PROJECT_ID: PROJECT,
        CI_MERGE_REQUEST_IID: MR,
        CI_PIPELINE_URL: `https://gitlab.example.com/platform/gitops/-/pipelines/${pipeline}`,
        CI_COMMIT_SHA: "0123456789abcdef0123456789abcdef01234567",
        PLATFORM_GITLAB_TOKEN: TOKEN,
    };
}

async function post(e: NodeJS.ProcessEnv = env(), args = [dir]) {
    let stdout = "";
    let stderr = "";
    const code = await run(args, e, { out: (t) => (stdout += t), err: (t) => (stderr += t) });
    return { code, stdout, stderr };
}

function expectedBody(pipeline = 4711): string {
    const e = env(pipeline);
    return renderNote(readPreviews(dir), { pipelineUrl: e.CI_PIPELINE_URL, commitSha: e.CI_COMMIT_SHA });
}

const note = (id: number, body: string, author = SOMEONE, system = false): FakeNote => ({ id, body, author, system });

describe("post-preview-note", () => {
    it("first run: lists the notes, then creates the note with the rendered body, with the token", async () => {
        save("dev", "local-change");
        save("local", "local-create");
        gitlab.reset([note(1, "Looks good to me"), note(2, "approved this merge request", SOMEONE, true)]);
        const r = await post();
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        expect(gitlab.calls()).toEqual(["GET /api/v4/user", `GET ${NOTES_PATH}`, `POST ${NOTES_PATH}`]);
        for (const req of gitlab.requests) {
            expect(req.headers["private-token"]).toBe(TOKEN);
        }
        const created = JSON.parse(gitlab.requests[2].body) as { body: string };
        expect(created).toEqual({ body: expectedBody() });
        expect(created.body.startsWith(`${NOTE_MARKER}\n`)).toBe(true);
        expect(created.body).toContain("| `dev` | ✅ ok | 0 | 1 | 1 | 1 | 193 | 1 advisory |");
        expect(r.stdout).toMatch(/^created note 1000 on merge request !12 \(2 stack\(s\), \d+ characters\)\n {2}local: ok\n {2}dev: ok\n$/);
        // Nobody else's note was touched.
        expect(gitlab.notes.slice(0, 2).map((n) => n.body)).toEqual(["Looks good to me", "approved this merge request"]);
    });

    it("next run: finds its note on page 2 and updates it, never another's, never a second note", async () => {
        save("dev", "local-policy");
        const others = [
            note(1, "Looks good to me"),
            // Someone quoting the bot's note: the marker, but not the bot's note.
            note(2, `${NOTE_MARKER}\nquoted by alice`),
            note(3, "added 1 commit", BOT, true),
        ];
        const ours = note(7, `${NOTE_MARKER}\n<!-- platform-preview:pipeline=4700 -->\nold content`, BOT);
        gitlab.reset([...others, ours, note(8, "one more comment")]);
        const r = await post();
        expect(gitlab.calls()).toEqual(["GET /api/v4/user", `GET ${NOTES_PATH}`, `GET ${NOTES_PATH}`, `PUT ${NOTES_PATH}/7`]);
        expect(new URL(gitlab.requests[2].url, "http://x").searchParams.get("page")).toBe("2");
        expect(JSON.parse(gitlab.requests[3].body)).toEqual({ body: expectedBody() });
        expect(gitlab.notes.find((n) => n.id === 7)?.body).toBe(expectedBody());
        expect(gitlab.notes.filter((n) => n.id !== 7).map((n) => n.body)).toEqual([...others, note(8, "one more comment")].map((n) => n.body));
        expect(r.stdout).toContain("updated note 7 on merge request !12");
        // Posted first, then failed: a mandatory violation blocks the merge request.
        expect(r.code).toBe(1);
        expect(r.stderr).toBe("blocking:\n  dev: 1 mandatory policy violation\n");
    });

    it("says which affected stack it left out and why (prod: previewed on its release tag)", async () => {
        save("dev", "local-change");
        fs.writeFileSync(path.join(dir, "prod.not-previewed"), "previewed on the release tag (preview:prod) with prod's own identity, not in merge requests\n");
        gitlab.reset([]);
        const r = await post();
        expect(r.code).toBe(0);
        const body = (JSON.parse(gitlab.requests[2].body) as { body: string }).body;
        expect(body).toContain("- `prod` is affected but not previewed here: previewed on the release tag (preview:prod) with prod's own identity, not in merge requests.");
        // prod is not a failed or missing preview row.
        expect(body).not.toContain("| `prod` |");
        expect(r.stdout).not.toContain("prod:");
    });

    it("creates its own note when the only marked note is someone else's", async () => {
        save("dev", "local-change");
        gitlab.reset([note(2, `${NOTE_MARKER}\nquoted by alice`)]);
        expect((await post()).code).toBe(0);
        expect(gitlab.calls()).toEqual(["GET /api/v4/user", `GET ${NOTES_PATH}`, `POST ${NOTES_PATH}`]);
        expect(gitlab.notes[0].body).toBe(`${NOTE_MARKER}\nquoted by alice`);
    });

    it("leaves a note written by a newer pipeline alone, and still exits by its own previews", async () => {
        save("prod", "local-bad-config");
        const newer = note(7, `${NOTE_MARKER}\n<!-- platform-preview:pipeline=4800 -->\nnewer`, BOT);
        gitlab.reset([newer]);
        const r = await post(env(4711));
        expect(gitlab.calls()).toEqual(["GET /api/v4/user", `GET ${NOTES_PATH}`]);
        expect(gitlab.notes[0].body).toBe(newer.body);
        expect(r.stdout).toContain("note 7 left as it is: pipeline #4800, newer than this one (#4711), wrote it");
        expect(r.code).toBe(1);
        // A re-run of the same pipeline does update it.
        gitlab.reset([note(7, `${NOTE_MARKER}\n<!-- platform-preview:pipeline=4711 -->\nfirst try`, BOT)]);
        await post(env(4711));
        expect(gitlab.calls().at(-1)).toBe(`PUT ${NOTES_PATH}/7`);
    });

    it("a GitLab error: exit 3, a message with the status and never the token", async () => {
        save("dev", "local-change");
        gitlab.reset();
        gitlab.failure = { status: 500, body: { message: `500 Internal Server Error (request with token ${TOKEN})` } };
        const r = await post();
        expect(r.code).toBe(3);
        expect(r.stderr).toContain("[post-preview-note] GitLab API: reading the token's user (GET /user) failed: HTTP 500");
        expect(r.stderr).toContain("[masked]");
        expect(r.stderr + r.stdout).not.toContain(TOKEN);

        gitlab.reset();
        const closed = http.createServer();
        await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
        const port = (closed.address() as AddressInfo).port;
        await new Promise((resolve) => closed.close(resolve));
        const refused = await post({ ...env(), CI_API_V4_URL: `http://127.0.0.1:${port}/api/v4` });
        expect(refused.code).toBe(3);
        expect(refused.stderr).toMatch(/GitLab API: reading the token's user \(GET \/user\) failed: .*ECONNREFUSED/);
        expect(refused.stderr).not.toContain(TOKEN);
    });

    it("a wrong token: exit 3 with GitLab's answer", async () => {
        save("dev", "local-change");
        gitlab.reset();
        const r = await post({ ...env(), PLATFORM_GITLAB_TOKEN: "glpat-wrong" });
        expect(r.code).toBe(3);
        expect(r.stderr).toContain("HTTP 401 Unauthorized: 401 Unauthorized");
        expect(r.stderr).not.toContain("glpat-wrong");
    });

    it("missing variables: exit 2 naming each, before any request", async () => {
        gitlab.reset();
        const { CI_MERGE_REQUEST_IID: _iid, PLATFORM_GITLAB_TOKEN: _token, ...partial } = env();
        const r = await post(partial);
        expect(r.code).toBe(2);
        expect(r.stderr).toContain("missing CI variable(s): CI_MERGE_REQUEST_IID, PLATFORM_GITLAB_TOKEN.");
        expect(gitlab.requests).toEqual([]);
        expect((await post(env(), [])).code).toBe(2);
        expect((await post(env(), [path.join(dir, "nope")])).stderr).toContain("is not a directory of previews");
    });

    it("reads a stack that never got to print JSON as failed, with its stderr", () => {
        fs.writeFileSync(path.join(dir, "staging.exit"), "255\n");
        fs.writeFileSync(path.join(dir, "staging.stderr"), "error: failed to load checkpoint: blob not found\n");
        save("dev", "local-change");
        const previews = readPreviews(dir);
        expect(previews.map((p) => [p.stack, p.status])).toEqual([
            ["dev", "ok"],
            ["staging", "failed"],
        ]);
        expect(previews[1].errors).toContain("error: failed to load checkpoint: blob not found");
    });

    it("works as a command: posts, then exits 1 on a blocked preview", async () => {
        save("staging", "local-policy");
        gitlab.reset();
        const child = spawn(process.execPath, ["--import", "tsx", path.join(REPO_ROOT, "scripts", "post-preview-note.ts"), dir], {
            cwd: REPO_ROOT,
            env: { ...process.env, ...env() },
        });
        let stderr = "";
        child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
        const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
        expect(stderr).toBe("blocking:\n  staging: 1 mandatory policy violation\n");
        expect(code).toBe(1);
        expect(gitlab.calls()).toEqual(["GET /api/v4/user", `GET ${NOTES_PATH}`, `POST ${NOTES_PATH}`]);
    });
});
