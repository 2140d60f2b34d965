/**
 * Helm post-renderer for every platform chart: adds the ordering Helm gets
 * from its install order and Pulumi's Chart does not.
 *
 * Helm installs ServiceAccounts before Secrets. Pulumi's Chart orders only
 * namespaces, CRDs and the `config.kubernetes.io/depends-on` annotation, and
 * creates the rest in parallel. A `kubernetes.io/service-account-token`
 * Secret created before its ServiceAccount is deleted by the token
 * controller (consul's `consul-auth-method`, vault's token Secret); the
 * provider's wait then reads nothing and, in v4.25.0, crashes. This gives
 * each such Secret a depends-on annotation naming its ServiceAccount when
 * the chart renders that ServiceAccount too (the annotation cannot point
 * outside the chart).
 *
 * Every other document is passed through byte for byte.
 */
import * as fs from "node:fs";
import * as path from "node:path";

import { parse, stringify } from "yaml";

export const DEPENDS_ON_ANNOTATION = "config.kubernetes.io/depends-on";
const SERVICE_ACCOUNT_NAME_ANNOTATION = "kubernetes.io/service-account.name";
const TOKEN_SECRET_TYPE = "kubernetes.io/service-account-token";

interface ObjectHead {
    apiVersion?: unknown;
    kind?: unknown;
    type?: unknown;
    metadata?: { name?: unknown; namespace?: unknown; annotations?: Record<string, unknown> | null } | null;
}

/** Splits a multi-document YAML stream at its `---` lines, keeping each document's text. */
function splitDocuments(manifest: string): string[] {
    return manifest.split(/^---[ \t]*(?:#.*)?$/m);
}

function head(text: string): ObjectHead | undefined {
    const value: unknown = parse(text);
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as ObjectHead) : undefined;
}

function namespaceOf(object: ObjectHead, releaseNamespace: string): string {
    const namespace = object.metadata?.namespace;
    return typeof namespace === "string" && namespace !== "" ? namespace : releaseNamespace;
}

/**
 * Returns the manifest with a depends-on annotation on each service-account
 * token Secret whose ServiceAccount is in the same manifest.
 */
export function orderServiceAccountTokens(manifest: string, releaseNamespace: string): string {
    const documents = splitDocuments(manifest);
    const heads = documents.map(head);
    const serviceAccounts = new Set(
        heads
            .filter((o): o is ObjectHead => o?.apiVersion === "v1" && o.kind === "ServiceAccount" && typeof o.metadata?.name === "string")
            .map((o) => `${namespaceOf(o, releaseNamespace)}/${String(o.metadata?.name)}`),
    );
    const rendered = documents.map((text, i) => {
        const object = heads[i];
        if (object?.apiVersion !== "v1" || object.kind !== "Secret" || object.type !== TOKEN_SECRET_TYPE) {
            return text;
        }
        const annotations = object.metadata?.annotations ?? {};
        const account = annotations[SERVICE_ACCOUNT_NAME_ANNOTATION];
        const namespace = namespaceOf(object, releaseNamespace);
        if (typeof account !== "string" || !serviceAccounts.has(`${namespace}/${account}`)) {
            return text;
        }
        const reference = `/namespaces/${namespace}/ServiceAccount/${account}`;
        const existing = annotations[DEPENDS_ON_ANNOTATION];
        const references = typeof existing === "string" && existing !== "" ? existing.split(",") : [];
        if (references.includes(reference)) {
            return text;
        }
        const updated = {
            ...object,
            metadata: { ...object.metadata, annotations: { ...annotations, [DEPENDS_ON_ANNOTATION]: [...references, reference].join(",") } },
        };
        return `\n${stringify(updated)}`;
    });
    return rendered.join("---");
}

/** The post-renderer as the Chart runs it: `node --import tsx <this file> <namespace>`, manifest on stdin. */
export function postRendererCommand(namespace: string): { command: string; args: string[] } {
    // Relative to the project root, which is the working directory of both
    // the program and the provider: the Chart's inputs stay the same on
    // every machine.
    return { command: "node", args: ["--import", "tsx", path.relative(process.cwd(), __filename), namespace] };
}

if (require.main === module) {
    const [namespace] = process.argv.slice(2);
    if (namespace === undefined || namespace === "") {
        process.stderr.write("usage: post-render <release namespace> < manifest\n");
        process.exit(2);
    }
    process.stdout.write(orderServiceAccountTokens(fs.readFileSync(0, "utf8"), namespace));
}
