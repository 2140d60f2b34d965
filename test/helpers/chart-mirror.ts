/**
 * TEST DOUBLES: a chart mirror directory holding, for every chart and
 * manifest the platform pins, a stand-in with the same name and version. The
 * upstream repositories cannot be reached from the test machines, and the
 * tests check the program, the engine and the policies, not the charts'
 * contents. Each stand-in renders one Deployment (pinned image, requests and
 * limits) and one Service, named after the release.
 */
import * as fs from "node:fs";
import * as path from "node:path";

import { UpstreamChart, UpstreamManifest } from "../../components/shared/chart";
import { PLATFORM_CHARTS, PLATFORM_MANIFESTS } from "../../components/upstream";

const WORKLOAD = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  namespace: {{ .Release.Namespace }}
  labels:
    app.kubernetes.io/name: {{ .Chart.Name }}
spec:
  replicas: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: {{ .Chart.Name }}
      app.kubernetes.io/instance: {{ .Release.Name }}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {{ .Chart.Name }}
        app.kubernetes.io/instance: {{ .Release.Name }}
    spec:
      containers:
        - name: main
          image: registry.example.com/test-double/{{ .Chart.Name }}:{{ .Chart.Version }}
          resources:
            requests: { cpu: 10m, memory: 16Mi }
            limits: { memory: 32Mi }
---
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

function manifestDouble(m: UpstreamManifest): string {
    return `# TEST DOUBLE of ${m.url}
apiVersion: v1
kind: Namespace
metadata:
  name: rabbitmq-system
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${m.name}
  namespace: rabbitmq-system
spec:
  replicas: 1
  selector:
    matchLabels: { app: ${m.name} }
  template:
    metadata:
      labels: { app: ${m.name} }
    spec:
      containers:
        - name: operator
          image: registry.example.com/test-double/${m.name}:${m.version}
          resources:
            requests: { cpu: 10m, memory: 16Mi }
            limits: { memory: 32Mi }
`;
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
    }
    for (const manifest of manifests) {
        fs.writeFileSync(path.join(dir, `${manifest.name}-${manifest.version}.yaml`), manifestDouble(manifest));
    }
    return dir;
}
