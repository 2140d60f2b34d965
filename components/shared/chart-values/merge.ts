/** Helm values and the per-environment overrides merged over them (README "Adding a component"). */
import * as pulumi from "@pulumi/pulumi";

/** Helm values: keys to values, which may be Pulumi inputs (outputs, secrets). */
export type HelmValues = Record<string, unknown>;

/**
 * Values merged last over a component's own, by the release they are for
 * (`istiod`, `istio-ingressgateway`…; each component's `charts.ts` lists its
 * releases). The environment's `platform:chartValues` fills it.
 */
export type ValuesOverride<Release extends string = string> = Partial<Record<Release, HelmValues>>;

/** A map as YAML and JSON write one: not a list, an Output, a Promise or another class. */
export function isPlainMap(value: unknown): value is Record<string, unknown> {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
        return false;
    }
    const proto: unknown = Object.getPrototypeOf(value);
    return proto === Object.prototype || proto === null;
}

function mergeValue(base: unknown, override: unknown): unknown {
    if (!isPlainMap(override)) {
        return override;
    }
    if (pulumi.Output.isInstance(base) || base instanceof Promise) {
        // Known only when it resolves: merged then (a secret stays secret).
        return pulumi.output(base).apply((resolved: unknown) => mergeValue(resolved, override));
    }
    if (!isPlainMap(base)) {
        return override;
    }
    const merged: Record<string, unknown> = { ...base };
    for (const [key, value] of Object.entries(override)) {
        merged[key] = mergeValue(base[key], value);
    }
    return merged;
}

/**
 * `override` deep-merged over `base`, as a values file given last to helm:
 * maps merge key by key; anything else in the override (a list, a scalar,
 * null) replaces what is there. Neither argument is changed; with no
 * override (or an empty one) the result is `base` itself.
 */
export function mergeValues(base: HelmValues, override: HelmValues | undefined): HelmValues {
    if (override === undefined || Object.keys(override).length === 0) {
        return base;
    }
    return mergeValue(base, override) as HelmValues;
}
