/**
 * The copy Job's program, run with bash and jq against a stand-in kubectl that
 * keeps Secrets as JSON files: it waits for the source key, copies it once,
 * and leaves a current copy alone.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import { SECRET_COPY_SCRIPT, secretCopyEnv } from "./secret-copy";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "secret-copy-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** `kubectl get secret N -n NS -o json` and `kubectl patch secret N -n NS --type merge --patch-file F`, on $STORE/NS/N.json. */
const FAKE_KUBECTL = String.raw`#!/usr/bin/env bash
set -euo pipefail
verb="$1"; name="$3"; ns="$5"
file="$STORE/$ns/$name.json"
[ -f "$file" ] || { echo "Error from server (NotFound): secrets \"$name\" not found" >&2; exit 1; }
case "$verb" in
  get) cat "$file" ;;
  patch) jq -s '.[0] * .[1]' "$file" "$9" > "$file.next" && mv "$file.next" "$file"; echo "$ns/$name" >> "$STORE/patches" ;;
esac
`;

const b64 = (s: string) => Buffer.from(s).toString("base64");

function setup(name: string, source: Record<string, string>, target: Record<string, string>): string {
    const store = path.join(dir, name);
    for (const [ns, secret, data] of [["postgres", "role", source], ["manager", "db", target]] as const) {
        fs.mkdirSync(path.join(store, ns), { recursive: true });
        fs.writeFileSync(path.join(store, ns, `${secret}.json`), JSON.stringify({ metadata: { name: secret, namespace: ns }, data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])) }));
    }
    const bin = path.join(store, "bin");
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, "kubectl"), FAKE_KUBECTL, { mode: 0o755 });
    return store;
}

function run(store: string) {
    const env = secretCopyEnv({ from: { namespace: "postgres", secretName: "role", key: "password" }, to: { namespace: "manager", secretName: "db", key: "password" } });
    const result = spawnSync("bash", ["-c", SECRET_COPY_SCRIPT], { env: { ...env, HOME: store, STORE: store, PATH: `${path.join(store, "bin")}:${process.env.PATH}` }, encoding: "utf8" });
    const target = JSON.parse(fs.readFileSync(path.join(store, "manager", "db.json"), "utf8")) as { data: Record<string, string> };
    const patches = fs.existsSync(path.join(store, "patches")) ? fs.readFileSync(path.join(store, "patches"), "utf8").trim().split("\n") : [];
    return { status: result.status, out: result.stdout + result.stderr, data: Object.fromEntries(Object.entries(target.data).map(([k, v]) => [k, Buffer.from(v, "base64").toString()])), patches };
}

describe("SECRET_COPY_SCRIPT", () => {
    it("fails (the Job retries) while the source key is not there yet, and writes nothing", () => {
        const r = run(setup("waiting", { username: "app" }, { url: "postgres://app@db/app" }));
        expect(r.status).toBe(1);
        expect(r.out).toContain("secret postgres/role has no key password yet; retrying");
        expect(r.data).toEqual({ url: "postgres://app@db/app" });
    });

    it("copies the key beside the target's own keys, then leaves a current copy alone, never printing the value", () => {
        const store = setup("copies", { username: "app", password: "s3cr3t-value" }, { url: "postgres://app@db/app" });
        const first = run(store);
        expect(first.status).toBe(0);
        expect(first.data).toEqual({ url: "postgres://app@db/app", password: "s3cr3t-value" });
        expect(first.out).toContain("secret manager/db: password copied from postgres/role");
        const second = run(store);
        expect(second.status).toBe(0);
        expect(second.out).toContain("password is current, nothing to do");
        expect(second.patches).toEqual(["manager/db"]);
        expect(first.out + second.out).not.toContain("s3cr3t-value");
    });
});
