import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";

import { AuthError, createAuthenticator } from "./auth";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "manager-auth-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
    vi.useRealTimers();
});

const AUD = "environment-manager";
const ISS = "https://issuer.test";

describe("createAuthenticator", () => {
    it("verifies ES256 tokens against a local JWKS file and reads sub and scopes", async () => {
        const { publicKey, privateKey } = await generateKeyPair("ES256");
        const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256", use: "sig" };
        const file = path.join(dir, "jwks.json");
        fs.writeFileSync(file, JSON.stringify({ keys: [jwk] }));
        const auth = createAuthenticator({ keys: { kind: "jwks-file", path: file }, audience: AUD, issuer: ISS });
        const token = await new SignJWT({ scope: "environments:read  other" })
            .setProtectedHeader({ alg: "ES256", kid: "k1" })
            .setSubject("svc-portal")
            .setAudience(AUD)
            .setIssuer(ISS)
            .setExpirationTime("1m")
            .sign(privateKey);
        const principal = await auth.authenticate(`Bearer ${token}`);
        expect(principal.subject).toBe("svc-portal");
        expect([...principal.scopes].sort()).toEqual(["environments:read", "other"]);

        // A token signed by another key: no key matches it.
        const other = await generateKeyPair("ES256");
        const forged = await new SignJWT({}).setProtectedHeader({ alg: "ES256", kid: "k1" }).setSubject("x").setAudience(AUD).setIssuer(ISS).sign(other.privateKey);
        await expect(auth.authenticate(`Bearer ${forged}`)).rejects.toThrow(new AuthError("the token's signature does not verify"));
    });

    it("refuses an HS256 token when keys come from a JWKS (no algorithm confusion)", async () => {
        const { publicKey } = await generateKeyPair("ES256");
        const file = path.join(dir, "jwks2.json");
        fs.writeFileSync(file, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: "k1" }] }));
        const auth = createAuthenticator({ keys: { kind: "jwks-file", path: file }, audience: AUD, issuer: ISS });
        const hs = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject("x").setAudience(AUD).setIssuer(ISS).sign(new TextEncoder().encode("k".repeat(40)));
        await expect(auth.authenticate(`Bearer ${hs}`)).rejects.toThrow(new AuthError("the token's algorithm is not accepted"));
    });

    it("reads a rotated HS256 secret file without a restart", async () => {
        const file = path.join(dir, "secret");
        const first = "first-secret-of-at-least-thirty-two-chars";
        const second = "second-secret-of-at-least-thirty-two-chars";
        fs.writeFileSync(file, first);
        const auth = createAuthenticator({ keys: { kind: "hs256-file", path: file }, audience: AUD, issuer: ISS });
        const sign = (secret: string) => new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject("alice").setAudience(AUD).setIssuer(ISS).sign(new TextEncoder().encode(secret));
        expect((await auth.authenticate(`Bearer ${await sign(first)}`)).subject).toBe("alice");
        fs.writeFileSync(file, second);
        // A different modification time, whatever the file system's resolution.
        fs.utimesSync(file, new Date(), new Date(Date.now() + 5000));
        expect((await auth.authenticate(`Bearer ${await sign(second)}`)).subject).toBe("alice");
        await expect(auth.authenticate(`Bearer ${await sign(first)}`)).rejects.toThrow(AuthError);
    });

    it("remembers a verified token no longer than its expiry", async () => {
        const file = path.join(dir, "secret-expiry");
        const secret = "a-secret-of-at-least-thirty-two-characters";
        fs.writeFileSync(file, secret);
        const auth = createAuthenticator({ keys: { kind: "hs256-file", path: file }, audience: AUD, issuer: ISS, clockToleranceSeconds: 5 });
        const exp = Math.floor(Date.now() / 1000) + 60;
        const token = await new SignJWT({ scope: "environments:read" })
            .setProtectedHeader({ alg: "HS256" })
            .setSubject("alice")
            .setAudience(AUD)
            .setIssuer(ISS)
            .setExpirationTime(exp)
            .sign(new TextEncoder().encode(secret));
        expect((await auth.authenticate(`Bearer ${token}`)).subject).toBe("alice");
        vi.useFakeTimers({ toFake: ["Date"] });
        // Within the clock tolerance: still accepted (from the cache, as jose would).
        vi.setSystemTime((exp + 4) * 1000);
        expect((await auth.authenticate(`Bearer ${token}`)).subject).toBe("alice");
        vi.setSystemTime((exp + 6) * 1000);
        await expect(auth.authenticate(`Bearer ${token}`)).rejects.toThrow(new AuthError("the token has expired"));
    });

    it("does not remember a token that failed, nor one verified under a rotated secret", async () => {
        const file = path.join(dir, "secret-cache");
        const first = "first-secret-of-at-least-thirty-two-chars";
        fs.writeFileSync(file, first);
        const auth = createAuthenticator({ keys: { kind: "hs256-file", path: file }, audience: AUD, issuer: ISS });
        const token = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject("alice").setAudience(AUD).setIssuer(ISS).setExpirationTime("5m").sign(new TextEncoder().encode(first));
        const forged = `${token.slice(0, -2)}${token.endsWith("AA") ? "BB" : "AA"}`;
        await expect(auth.authenticate(`Bearer ${forged}`)).rejects.toThrow(AuthError);
        await expect(auth.authenticate(`Bearer ${forged}`)).rejects.toThrow(AuthError);
        expect((await auth.authenticate(`Bearer ${token}`)).subject).toBe("alice");
        fs.writeFileSync(file, "second-secret-of-at-least-thirty-two-chars");
        fs.utimesSync(file, new Date(), new Date(Date.now() + 5000));
        await expect(auth.authenticate(`Bearer ${token}`)).rejects.toThrow(new AuthError("the token's signature does not verify"));
    });

    it("fails at creation on a short or missing secret, or a file that is not a JWKS", () => {
        const short = path.join(dir, "short");
        fs.writeFileSync(short, "tiny\n");
        expect(() => createAuthenticator({ keys: { kind: "hs256-file", path: short }, audience: AUD, issuer: ISS })).toThrow(/shorter than 32 characters/);
        expect(() => createAuthenticator({ keys: { kind: "hs256-file", path: path.join(dir, "absent") }, audience: AUD, issuer: ISS })).toThrow(/ENOENT/);
        const notJwks = path.join(dir, "not-jwks.json");
        fs.writeFileSync(notJwks, "{}");
        expect(() => createAuthenticator({ keys: { kind: "jwks-file", path: notJwks }, audience: AUD, issuer: ISS })).toThrow(/is not a JWKS/);
    });
});
