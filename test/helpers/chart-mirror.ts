/**
 * TEST DOUBLES, only for scripts/capture-preview-fixtures.ts (small captured
 * previews for the preview-note tests); every engine test renders or applies
 * the real charts (test/helpers/real-charts.ts). A chart mirror directory
 * holding, for every chart the platform pins, a stand-in with the same name
 * and version, whose template the capture script edits to make an update, a
 * replacement, a deletion and a policy violation in a small preview. The
 * RabbitMQ manifest is the real one (preflight checks its digest). Each stand-in renders one Deployment (pinned image, requests and
 * limits) and one Service, named after the release, plus the
 * CustomResourceDefinitions of the real chart that the platform's own custom
 * resources need (so they apply to a real API server).
 */
import * as fs from "node:fs";
import * as path from "node:path";

import { UpstreamChart, UpstreamManifest } from "../../components/shared/chart";
import { PLATFORM_CHARTS, PLATFORM_MANIFESTS } from "../../components/upstream";
import { defaultTestChartMirror } from "./real-charts";

/**
 * A stand-in chart's workload template: a Deployment and a Service named after
 * the release. The options are what scripts/capture-preview-fixtures.ts changes
 * to make an update, a replacement, a deletion or a policy violation.
 */
export function workloadTemplate(o: { replicas?: number; extraSelector?: Record<string, string>; tag?: string; service?: boolean }): string {
    const selector = { "app.kubernetes.io/name": "{{ .Chart.Name }}", "app.kubernetes.io/instance": "{{ .Release.Name }}", ...o.extraSelector };
    const labels = (indent: string) => Object.entries(selector).map(([k, v]) => `${indent}${k}: ${v}`).join("\n");
    const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  namespace: {{ .Release.Namespace }}
  labels:
    app.kubernetes.io/name: {{ .Chart.Name }}
spec:
  replicas: ${o.replicas ?? 1}
  selector:
    matchLabels:
${labels("      ")}
  template:
    metadata:
      labels:
${labels("        ")}
    spec:
      containers:
        - name: main
          image: registry.example.com/test-double/{{ .Chart.Name }}:${o.tag ?? "{{ .Chart.Version }}"}
          resources:
            requests: { cpu: 10m, memory: 16Mi }
            limits: { memory: 32Mi }
`;
    const service = `---
apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}
  namespace: {{ .Release.Namespace }}
spec:
  selector:
    app.kubernetes.io/instance: {{ .Release.Name }}
  ports:
    - port: 80
`;
    return deployment + ((o.service ?? true) ? service : "");
}


const WORKLOAD = workloadTemplate({});

interface CrdDouble {
    group: string;
    version: string;
    kind: string;
    plural: string;
    scope: "Namespaced" | "Cluster";
}

const crd = (group: string, version: string, kind: string, scope: CrdDouble["scope"] = "Namespaced"): CrdDouble => ({
    group,
    version,
    kind,
    plural: `${kind.toLowerCase()}${kind.endsWith("s") ? "es" : "s"}`,
    scope,
});

/** Per chart (or manifest) name: the custom resource kinds the platform creates that it defines upstream. */
const CRDS: Record<string, CrdDouble[]> = {
    "cert-manager": [crd("cert-manager.io", "v1", "Certificate"), crd("cert-manager.io", "v1", "Issuer"), crd("cert-manager.io", "v1", "ClusterIssuer", "Cluster")],
    base: [crd("security.istio.io", "v1", "PeerAuthentication"), crd("networking.istio.io", "v1", "Gateway"), crd("telemetry.istio.io", "v1", "Telemetry")],
    "kube-prometheus-stack": [crd("monitoring.coreos.com", "v1", "ServiceMonitor"), crd("monitoring.coreos.com", "v1", "PodMonitor"), crd("monitoring.coreos.com", "v1", "PrometheusRule")],
    "cloudnative-pg": [crd("postgresql.cnpg.io", "v1", "Cluster"), crd("postgresql.cnpg.io", "v1", "ScheduledBackup"), crd("postgresql.cnpg.io", "v1", "Backup"), crd("postgresql.cnpg.io", "v1", "Database")],
    "plugin-barman-cloud": [crd("barmancloud.cnpg.io", "v1", "ObjectStore")],
    "rabbitmq-cluster-operator": [crd("rabbitmq.com", "v1beta1", "RabbitmqCluster")],
};

/** Structural but permissive: the stand-in checks where objects go, not their fields. */
function crdManifest(c: CrdDouble): string {
    return `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: ${c.plural}.${c.group}
spec:
  group: ${c.group}
  scope: ${c.scope}
  names: { kind: ${c.kind}, listKind: ${c.kind}List, plural: ${c.plural}, singular: ${c.kind.toLowerCase()} }
  versions:
    - name: ${c.version}
      served: true
      storage: true
      subresources: { status: {} }
      schema:
        openAPIV3Schema: { type: object, x-kubernetes-preserve-unknown-fields: true }
`;
}

function crdsOf(name: string): string {
    return (CRDS[name] ?? []).map((c) => `---\n${crdManifest(c)}`).join("");
}

/** Writes the stand-ins into `dir` (created if needed) and returns it. */
export function createChartMirror(
    dir: string,
    charts: UpstreamChart[] = PLATFORM_CHARTS,
    manifests: UpstreamManifest[] = PLATFORM_MANIFESTS,
): string {
    for (const chart of charts) {
        const chartDir = path.join(dir, chart.name);
        fs.mkdirSync(path.join(chartDir, "templates"), { recursive: true });
        fs.writeFileSync(
            path.join(chartDir, "Chart.yaml"),
            `apiVersion: v2\nname: ${chart.name}\nversion: ${chart.version}\ndescription: TEST DOUBLE of ${chart.repository} ${chart.name}\n`,
        );
        fs.writeFileSync(path.join(chartDir, "values.yaml"), "{}\n");
        fs.writeFileSync(path.join(chartDir, "templates", "workload.yaml"), WORKLOAD);
        const crds = crdsOf(chart.name);
        if (crds !== "") {
            fs.writeFileSync(path.join(chartDir, "templates", "crds.yaml"), crds);
        }
    }
    for (const manifest of manifests) {
        const file = `${manifest.name}-${manifest.version}.yaml`;
        fs.copyFileSync(path.join(defaultTestChartMirror(), file), path.join(dir, file));
    }
    return dir;
}
