/**
 * Bearer tokens on the REST API: JWTs verified with jose against either a
 * shared HS256 secret (a mounted file, re-read when it changes so a rotated
 * secret needs no restart) or a JWKS (a URL, or a local file). Audience and
 * issuer are always checked; `scope` (space-separated) says what the caller
 * may do; `sub` is the actor written to the audit log.
 *
 * The token itself is never logged or put in an error message.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";

import { createLocalJWKSet, createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from "jose";

export const SCOPES = { read: "environments:read", write: "environments:write" } as const;
export type Scope = (typeof SCOPES)[keyof typeof SCOPES];

export interface Principal {
    /** The token's `sub`: who acts (audit). */
    subject: string;
    scopes: ReadonlySet<string>;
}

export interface Authenticator {
    /** The principal of an `Authorization` header value; throws an AuthError (401) when there is none or it is not valid. */
    authenticate(authorization: string | undefined): Promise<Principal>;
}

/** 401: no token, or a token that does not verify. The message says why, never what the token was. */
export class AuthError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "AuthError";
    }
}

export type KeySource =
    /** HS256 with the secret in a file (a mounted Kubernetes secret); surrounding whitespace is ignored. */
    | { kind: "hs256-file"; path: string }
    | { kind: "jwks-url"; url: string }
    | { kind: "jwks-file"; path: string };

export interface AuthOptions {
    keys: KeySource;
    audience: string;
    issuer: string;
    /** Allowed clock difference, seconds (default 30). */
    clockToleranceSeconds?: number;
    /** Tokens whose verification is remembered (default 1000; 0: none). */
    cacheSize?: number;
}

/**
 * Longest a verification is remembered, whatever the token's expiry: a key
 * taken out of a JWKS stops being honoured within this time.
 */
const MAX_CACHE_MS = 5 * 60_000;

/** Asymmetric algorithms a JWKS may sign with; never `none`, never HS* (a public key is not a secret). */
const JWKS_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"];

/** A secret file, read again when its modification time changes (rotation without a restart). */
function secretFromFile(path: string): () => Uint8Array {
    let cached: { mtimeMs: number; key: Uint8Array } | undefined;
    return () => {
        const { mtimeMs } = fs.statSync(path);
        if (!cached || cached.mtimeMs !== mtimeMs) {
            const text = fs.readFileSync(path, "utf8").trim();
            if (text.length < 32) {
                // HS256 with a short secret is guessable offline from any token.
                throw new Error(`the HS256 secret in ${path} is shorter than 32 characters`);
            }
            cached = { mtimeMs, key: new TextEncoder().encode(text) };
        }
        return cached.key;
    };
}

interface VerifyOptions {
    audience: string;
    issuer: string;
    clockTolerance: number;
}

interface Verifier {
    /** Verifies a token's signature and claims. */
    verify(token: string, options: VerifyOptions): Promise<JWTPayload>;
    /** The keys in use now: a verification made under other keys (a rotated secret) is not reused. */
    generation(): object;
}

/** A verifier of tokens against `keys`. */
function verifierFor(keys: KeySource): Verifier {
    switch (keys.kind) {
        case "hs256-file": {
            const secret = secretFromFile(keys.path);
            secret(); // fail at start, not on the first request, when the file is missing or short
            return {
                verify: async (token, options) => (await jwtVerify(token, secret(), { ...options, algorithms: ["HS256"] })).payload,
                // The same array until the file changes.
                generation: secret,
            };
        }
        case "jwks-url": {
            const jwks = createRemoteJWKSet(new URL(keys.url));
            return {
                verify: async (token, options) => (await jwtVerify(token, jwks, { ...options, algorithms: JWKS_ALGORITHMS })).payload,
                generation: () => jwks,
            };
        }
        case "jwks-file": {
            const parsed: unknown = JSON.parse(fs.readFileSync(keys.path, "utf8"));
            if (!parsed || typeof parsed !== "object" || !Array.isArray((parsed as { keys?: unknown }).keys)) {
                throw new Error(`${keys.path} is not a JWKS (an object with a "keys" array)`);
            }
            const jwks = createLocalJWKSet(parsed as Parameters<typeof createLocalJWKSet>[0]);
            return {
                verify: async (token, options) => (await jwtVerify(token, jwks, { ...options, algorithms: JWKS_ALGORITHMS })).payload,
                generation: () => jwks,
            };
        }
    }
}

interface CachedVerification {
    principal: Principal;
    generation: object;
    /** Epoch ms after which the token must be verified again. */
    until: number;
}

/**
 * Verified tokens by SHA-256 of the token (the token itself is not kept),
 * least recently used first. Only successful verifications are kept, each
 * until its `exp` (plus the clock tolerance jose allows) and at most MAX_CACHE_MS.
 */
class VerificationCache {
    private readonly entries = new Map<string, CachedVerification>();

    constructor(private readonly size: number) {}

    static keyOf(token: string): string {
        return createHash("sha256").update(token).digest("base64");
    }

    get(key: string, generation: object, now: number): Principal | undefined {
        const entry = this.entries.get(key);
        if (!entry) {
            return undefined;
        }
        this.entries.delete(key);
        if (entry.until <= now || entry.generation !== generation) {
            return undefined;
        }
        this.entries.set(key, entry); // now the most recently used
        return entry.principal;
    }

    set(key: string, entry: CachedVerification): void {
        if (this.size <= 0) {
            return;
        }
        this.entries.delete(key);
        this.entries.set(key, entry);
        if (this.entries.size > this.size) {
            // Map iterates in insertion order: the first key is the least recently used.
            const oldest = this.entries.keys().next();
            if (!oldest.done) {
                this.entries.delete(oldest.value);
            }
        }
    }
}

/** Why a token failed, for the 401 body: the claim or the check, not the token. */
function reasonOf(error: InstanceType<typeof joseErrors.JOSEError>): string {
    if (error instanceof joseErrors.JWTExpired) {
        return "the token has expired";
    }
    if (error instanceof joseErrors.JWTClaimValidationFailed) {
        return `the token's ${error.claim} claim is not accepted`;
    }
    if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
        return "the token's signature does not verify";
    }
    if (error instanceof joseErrors.JOSEAlgNotAllowed) {
        return "the token's algorithm is not accepted";
    }
    if (error instanceof joseErrors.JWKSNoMatchingKey) {
        return "no key matches the token";
    }
    return "the token is not a valid JWT";
}

export function scopesOf(payload: JWTPayload): Set<string> {
    const scope = payload.scope;
    return new Set(typeof scope === "string" ? scope.split(" ").filter((s) => s !== "") : []);
}

export function createAuthenticator(options: AuthOptions): Authenticator {
    const verifier = verifierFor(options.keys);
    const checks: VerifyOptions = { audience: options.audience, issuer: options.issuer, clockTolerance: options.clockToleranceSeconds ?? 30 };
    // jose's signature check dominates a cheap read's time; a token is sent again and again while it lives.
    const cache = new VerificationCache(options.cacheSize ?? 1000);
    return {
        async authenticate(authorization) {
            if (authorization === undefined || authorization === "") {
                throw new AuthError("missing bearer token: send Authorization: Bearer <token>");
            }
            const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
            if (!match) {
                throw new AuthError("the Authorization header is not a bearer token");
            }
            const token = match[1];
            const key = VerificationCache.keyOf(token);
            const generation = verifier.generation();
            const cached = cache.get(key, generation, Date.now());
            if (cached) {
                return cached;
            }
            let payload: JWTPayload;
            try {
                payload = await verifier.verify(token, checks);
            } catch (error) {
                // A missing secret file or an unreachable JWKS URL is the server's fault (500), not the caller's.
                if (!(error instanceof joseErrors.JOSEError) || error instanceof joseErrors.JWKSTimeout) {
                    throw error;
                }
                throw new AuthError(reasonOf(error));
            }
            if (typeof payload.sub !== "string" || payload.sub === "") {
                throw new AuthError("the token has no sub claim (the actor)");
            }
            const principal: Principal = { subject: payload.sub, scopes: scopesOf(payload) };
            const now = Date.now();
            const expiresAt = typeof payload.exp === "number" ? (payload.exp + checks.clockTolerance) * 1000 : Infinity;
            cache.set(key, { principal, generation, until: Math.min(expiresAt, now + MAX_CACHE_MS) });
            return principal;
        },
    };
}
