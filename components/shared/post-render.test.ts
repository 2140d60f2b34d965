import { execFileSync } from "node:child_process";
import * as path from "node:path";

import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";

import { DEPENDS_ON_ANNOTATION, orderServiceAccountTokens, postRendererCommand } from "./post-render";

const serviceAccount = (name: string, namespace?: string) => `
apiVersion: v1
kind: ServiceAccount
metadata:
  name: ${name}
${namespace ? `  namespace: ${namespace}\n` : ""}`;

const tokenSecret = (name: string, account: string, namespace?: string, extra = "") => `
# Source: consul/templates/auth-method-secret.yaml
apiVersion: v1
kind: Secret
metadata:
  name: ${name}
${namespace ? `  namespace: ${namespace}\n` : ""}  annotations:
    kubernetes.io/service-account.name: ${account}
${extra}type: kubernetes.io/service-account-token
`;

const configMap = `
# a chart's own comment and YAML 1.1 scalars stay as written
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  enabled: yes
  port: "8500"
`;

function annotationsOf(manifest: string): (string | undefined)[] {
    return parseAllDocuments(manifest)
        .map((d) => d.toJS() as { metadata?: { annotations?: Record<string, string> } } | null)
        .filter((o) => o !== null)
        .map((o) => o.metadata?.annotations?.[DEPENDS_ON_ANNOTATION]);
}

describe("orderServiceAccountTokens", () => {
    it("makes a token Secret depend on its ServiceAccount in the same chart", () => {
        const manifest = ["", serviceAccount("consul-auth-method", "consul"), tokenSecret("consul-auth-method", "consul-auth-method", "consul")].join("---");
        expect(annotationsOf(orderServiceAccountTokens(manifest, "consul"))).toEqual([undefined, "/namespaces/consul/ServiceAccount/consul-auth-method"]);
    });

    it("uses the release namespace for objects that name none", () => {
        const manifest = [serviceAccount("vault"), tokenSecret("vault-token", "vault")].join("---");
        expect(annotationsOf(orderServiceAccountTokens(manifest, "vault"))).toEqual([undefined, "/namespaces/vault/ServiceAccount/vault"]);
    });

    it("adds nothing when the ServiceAccount is not in the chart (the annotation cannot point outside it)", () => {
        const manifest = [serviceAccount("other", "consul"), tokenSecret("t", "default", "consul")].join("---");
        expect(orderServiceAccountTokens(manifest, "consul")).toBe(manifest);
    });

    it("keeps a chart's own depends-on references and does not repeat one", () => {
        const extra = `    ${DEPENDS_ON_ANNOTATION}: /namespaces/consul/ConfigMap/settings\n`;
        const manifest = [serviceAccount("sa", "consul"), tokenSecret("t", "sa", "consul", extra)].join("---");
        const once = orderServiceAccountTokens(manifest, "consul");
        expect(annotationsOf(once)[1]).toBe("/namespaces/consul/ConfigMap/settings,/namespaces/consul/ServiceAccount/sa");
        expect(orderServiceAccountTokens(once, "consul")).toBe(once);
    });

    it("passes every other document through byte for byte", () => {
        const manifest = [configMap, serviceAccount("sa", "consul"), tokenSecret("t", "sa", "consul")].join("---");
        const out = orderServiceAccountTokens(manifest, "consul");
        expect(out.startsWith(configMap + "---" + serviceAccount("sa", "consul") + "---")).toBe(true);
    });

    it("runs as the command the Chart is given, reading stdin", () => {
        const { command, args } = postRendererCommand("consul");
        expect(command).toBe("node");
        expect(path.isAbsolute(args[args.length - 2] ?? "/")).toBe(false);
        const manifest = [serviceAccount("sa", "consul"), tokenSecret("t", "sa", "consul")].join("---");
        const out = execFileSync(command, args, { input: manifest, encoding: "utf8" });
        expect(out).toBe(orderServiceAccountTokens(manifest, "consul"));
    });
});
