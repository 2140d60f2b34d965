import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";

import { isSecret, setupMocks, valueOf } from "../../../test/helpers/mocks";
import { mergeValues } from "./merge";
import { checkValuesOverride, overridesOf } from "./releases";

beforeAll(async () => {
    await setupMocks();
});

describe("mergeValues", () => {
    const base = { a: { b: 1, c: [1, 2], d: { e: "x" } }, f: "g", list: [{ k: 1 }] };

    it("merges maps key by key; lists, scalars and null in the override replace", () => {
        expect(mergeValues(base, { a: { b: 2, c: [3], d: { n: true } }, list: [], h: null })).toEqual({
            a: { b: 2, c: [3], d: { e: "x", n: true } },
            f: "g",
            list: [],
            h: null,
        });
        // A map over a scalar or a list replaces it; a scalar over a map replaces it.
        expect(mergeValues(base, { f: { now: "map" }, a: "scalar" })).toEqual({ a: "scalar", f: { now: "map" }, list: [{ k: 1 }] });
    });

    it("changes neither argument, and returns the base itself without an override", () => {
        const override = { a: { d: { e: "y" } } };
        const merged = mergeValues(base, override);
        expect(base.a.d.e).toBe("x");
        expect(override).toEqual({ a: { d: { e: "y" } } });
        expect(merged.a).not.toBe(base.a);
        expect(mergeValues(base, undefined)).toBe(base);
        expect(mergeValues(base, {})).toBe(base);
    });

    it("merges into a map the component computes at deploy time (an Output), keeping it secret", async () => {
        const merged = mergeValues({ server: pulumi.secret({ a: 1, b: 2 }) }, { server: { b: 3 } });
        const server = merged.server as pulumi.Output<unknown>;
        expect(await valueOf(server)).toEqual({ a: 1, b: 3 });
        expect(await isSecret(server)).toBe(true);
    });
});

describe("overridesOf and checkValuesOverride", () => {
    it("gives a component the overrides of its own releases, by release name", () => {
        const chartValues = { "mesh/istiod": { a: 1 }, "mesh/base": { b: 2 }, "observability/loki": { c: 3 } };
        expect(overridesOf("mesh", chartValues)).toEqual({ istiod: { a: 1 }, base: { b: 2 } });
        expect(overridesOf("vault", chartValues)).toBeUndefined();
        expect(overridesOf("mesh", undefined)).toBeUndefined();
    });

    it("refuses a release the component does not install, and values that are not a map", () => {
        expect(() => checkValuesOverride('vault "v"', { vault: {} }, ["vault"])).not.toThrow();
        expect(() => checkValuesOverride('vault "v"', { vaults: {} }, ["vault"])).toThrow('vault "v": valuesOverride has "vaults"; allowed: vault (the releases it installs)');
        expect(() => checkValuesOverride('vault "v"', { vault: [1] as unknown as Record<string, unknown> }, ["vault"])).toThrow(
            'vault "v": valuesOverride["vault"] is [1]; allowed: a map of Helm values',
        );
    });
});
