/**
 * Bearer tokens on the REST API: JWTs verified with jose against either a
 * shared HS256 secret (a mounted file, re-read when it changes so a rotated
 * secret needs no restart) or a JWKS (a URL, or a local file). Audience and
 * issuer are always checked; `scope` (space-separated) says what the caller
 * may do; `sub` is the actor written to the audit log.
 *
 * The token itself is never logged or put in an error message.
 */
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
}

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

/** A function verifying a token's signature and claims against `keys`. */
function verifierFor(keys: KeySource): (token: string, options: VerifyOptions) => Promise<JWTPayload> {
    switch (keys.kind) {
        case "hs256-file": {
            const secret = secretFromFile(keys.path);
            secret(); // fail at start, not on the first request, when the file is missing or short
            return async (token, options) => (await jwtVerify(token, secret(), { ...options, algorithms: ["HS256"] })).payload;
        }
        case "jwks-url": {
            const jwks = createRemoteJWKSet(new URL(keys.url));
            return async (token, options) => (await jwtVerify(token, jwks, { ...options, algorithms: JWKS_ALGORITHMS })).payload;
        }
        case "jwks-file": {
            const parsed: unknown = JSON.parse(fs.readFileSync(keys.path, "utf8"));
            if (!parsed || typeof parsed !== "object" || !Array.isArray((parsed as { keys?: unknown }).keys)) {
                throw new Error(`${keys.path} is not a JWKS (an object with a "keys" array)`);
            }
            const jwks = createLocalJWKSet(parsed as Parameters<typeof createLocalJWKSet>[0]);
            return async (token, options) => (await jwtVerify(token, jwks, { ...options, algorithms: JWKS_ALGORITHMS })).payload;
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
    const verify = verifierFor(options.keys);
    const checks: VerifyOptions = { audience: options.audience, issuer: options.issuer, clockTolerance: options.clockToleranceSeconds ?? 30 };
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
            let payload: JWTPayload;
            try {
                payload = await verify(token, checks);
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
            return { subject: payload.sub, scopes: scopesOf(payload) };
        },
    };
}
