import { randomBytes } from "node:crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { DerivedValue, deriveValues, generatorName, secretGeneratorObjects, templateKeys } from "./secret-generator";

/**
 * A random credential generated once by the program and kept by the
 * Kubernetes Secret that holds it: `ignoreChanges` makes every later run
 * reuse the stored value, so the credential is stable without a separate
 * provider plugin. The value is a secret output (encrypted in state, masked
 * in logs).
 */
export interface GeneratedSecretArgs {
    /** Namespace of the Secret. */
    namespace: pulumi.Input<string>;
    /** Kubernetes name of the Secret. */
    secretName: string;
    /** Keys holding generated values (e.g. `password`). */
    generatedKeys: string[];
    /** Keys with fixed values (e.g. `username`). Default: none. */
    fixed?: Record<string, pulumi.Input<string>>;
    /**
     * Further keys computed from the fixed and generated values (e.g. a config
     * file holding both), as templates: the in-cluster generator of render mode
     * computes them the same way. Default: none.
     */
    derived?: Record<string, DerivedValue>;
    /** Length of each generated value in characters. Default: 32. */
    length?: number;
    /** Secret type. Default: `Opaque`. */
    type?: string;
    /** Standard labels for the Secret. */
    labels: Record<string, string>;
    /** Kubernetes provider. */
    provider: k8s.Provider;
    /**
     * True when the cluster renders manifests instead of applying them
     * (`ClusterInfo.deliveryMode` "render"). Default: false.
     * Rendered files are read, copied and committed, so the Secret is rendered
     * with its fixed keys only, and a Job rendered beside it generates the
     * values in the cluster (components/shared/secret-generator.ts).
     */
    rendered?: boolean;
}

/** On a Secret rendered without its values: why it is empty. */
export const VALUES_NOT_RENDERED_ANNOTATION = "platform.example.com/values";

/**
 * On every generated Secret: the keys holding generated values (and values
 * derived from them), comma-separated. What a secrets scan looks for.
 */
export const GENERATED_KEYS_ANNOTATION = "platform.example.com/generated-keys";

/** URL-safe alphabet: the values go into connection strings and config files unescaped. */
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** A random string from a CSPRNG, without modulo bias. */
export function randomCredential(length: number): string {
    let out = "";
    while (out.length < length) {
        for (const byte of randomBytes(length * 2)) {
            // 248 = 4 * 62: bytes above it would bias the first characters.
            if (byte < 248 && out.length < length) {
                out += ALPHABET[byte % ALPHABET.length];
            }
        }
    }
    return out;
}

export class GeneratedSecret extends pulumi.ComponentResource {
    public readonly secret: k8s.core.v1.Secret;
    public readonly secretName: string;
    private readonly data: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: GeneratedSecretArgs, opts?: pulumi.ComponentResourceOptions) {
        if (args.generatedKeys.length === 0) {
            throw new Error(`generated secret "${name}": generatedKeys must name at least one key`);
        }
        const length = args.length ?? 32;
        if (!Number.isInteger(length) || length < 16 || length > 128) {
            throw new Error(`generated secret "${name}": length is ${length}; allowed: an integer from 16 to 128`);
        }
        const derived = args.derived ?? {};
        const known = new Set([...Object.keys(args.fixed ?? {}), ...args.generatedKeys]);
        for (const [key, d] of Object.entries(derived)) {
            const unknown = templateKeys(d.template).filter((k) => !known.has(k));
            if (unknown.length > 0) {
                throw new Error(`generated secret "${name}": derived key "${key}" reads ${unknown.join(", ")}; allowed: the fixed and generated keys (${[...known].join(", ")})`);
            }
        }
        super("platform:shared:GeneratedSecret", name, {}, opts);
        this.secretName = args.secretName;

        const generated = Object.fromEntries(args.generatedKeys.map((k) => [k, randomCredential(length)]));
        const values = pulumi.secret(
            pulumi.output({ ...(args.fixed ?? {}), ...generated }).apply((v: Record<string, string>) => ({ ...v, ...deriveValues(v, derived) })),
        );
        const rendered = args.rendered ?? false;
        const secretKeys = [...args.generatedKeys, ...Object.keys(derived)];
        this.secret = new k8s.core.v1.Secret(
            `${name}-secret`,
            {
                metadata: {
                    name: args.secretName,
                    namespace: args.namespace,
                    labels: args.labels,
                    annotations: {
                        [GENERATED_KEYS_ANNOTATION]: secretKeys.join(","),
                        ...(rendered ? { [VALUES_NOT_RENDERED_ANNOTATION]: `not rendered: generated in the cluster by the Job ${generatorName(args.secretName)} (keys: ${secretKeys.join(", ")})` } : {}),
                    },
                },
                type: args.type ?? "Opaque",
                // Rendered: only the fixed keys, which are not secret (a username), so
                // that typed Secrets stay valid (basic-auth needs a username or password).
                stringData: rendered ? (args.fixed ?? undefined) : values,
            },
            {
                parent: this,
                provider: args.provider,
                // Generated once: later runs keep the stored values instead of rotating them.
                // The provider stores `stringData` as `data` (base64), so both are ignored.
                ignoreChanges: ["stringData", "data"],
                additionalSecretOutputs: ["stringData", "data"],
            },
        );
        if (rendered) {
            secretGeneratorObjects(
                name,
                { namespace: args.namespace, secretName: args.secretName, generatedKeys: args.generatedKeys, derived, length, labels: args.labels, provider: args.provider },
                { parent: this, dependsOn: [this.secret] },
            );
        }
        // The first run has `stringData`; later runs read the stored `data`.
        // Rendered, there is no stored value: the program's own (never written) stands in.
        this.data = rendered ? values : pulumi.secret(
            pulumi.all([this.secret.stringData, this.secret.data]).apply(([plain, encoded]) => {
                const decoded = Object.fromEntries(
                    Object.entries(encoded ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
                );
                return { ...decoded, ...(plain ?? {}) };
            }),
        );
        this.registerOutputs({ secretName: this.secretName });
    }

    /** One stored value, as a secret output. */
    public value(key: string): pulumi.Output<string> {
        return pulumi.secret(
            this.data.apply((d) => {
                const v = d?.[key];
                if (v === undefined) {
                    throw new Error(`generated secret ${this.secretName} has no key "${key}"`);
                }
                return v;
            }),
        );
    }
}
