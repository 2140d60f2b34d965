import { expect } from "vitest";

import { ConfigError, parseEnvironmentConfig } from "../../environments/config";

/** The loader's message for a config it must refuse; fails the test when the config is accepted or the error is not a ConfigError. */
export function configErrorOf(raw: Record<string, unknown>): string {
    try {
        parseEnvironmentConfig(raw);
    } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as Error).message;
    }
    throw new Error("expected the config to be rejected");
}
