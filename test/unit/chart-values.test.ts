/**
 * "Values that exist": every Helm value a component passes must be a value of
 * the real chart it pins. Helm drops unknown keys without a word, so a value
 * renamed upstream (or misspelt here) silently does nothing. The environments
 * are built under mocks (local, review, and dev/staging/prod on AWS and
 * Azure, plus Postgres with backups, the one place the Barman Cloud plugin is
 * installed), and each chart's values are checked against the chart in the
 * mirror (components/shared/chart-values/index.ts says what counts as a
 * value; the program checks a stack's `platform:chartValues` with the same
 * checker, reading the archives in-process).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { resolveChartSource, UpstreamChart } from "../../components/shared/chart";
import { loadChartModel } from "../../components/shared/chart-values";
import { PLATFORM_CHARTS, PLATFORM_RELEASES } from "../../components/upstream";
import {
    ChartModel,
    chartFromSources,
    chartMirrorDirectory,
    describeUnknown,
    isChartValue,
    leafPaths,
    showPath,
    unknownValues,
    unpackMirroredChart,
    unwrapSecrets,
} from "../helpers/chart-values";
import { cloudConfig } from "../helpers/cloud-environment";
import { AWS_MOCKS, AZURE_MOCKS } from "../helpers/cloud-mocks";
import { K8S, renderCluster, TEST_TAGS } from "../helpers/component";
import { MockOptions, MockSession, setupMocks, settle } from "../helpers/mocks";

const REPO_ROOT = path.resolve(__dirname, "../..");
/** The real charts (read-only): PLATFORM_CHART_MIRROR, else ../shared/charts beside the repository. */
const MIRROR = chartMirrorDirectory(REPO_ROOT);

/**
 * Keys a chart hands to its application's configuration without listing them
 * in values.yaml, by chart: the releases' `applicationKeys` (each with where
 * the application documents it, in the component's charts.ts). Only for charts
 * whose templates pass `.Values` on whole (`ChartModel.passesAllValues`).
 */
const APPLICATION_KEYS: Record<string, readonly (readonly string[])[]> = Object.fromEntries(
    PLATFORM_RELEASES.flatMap((r) => (r.applicationKeys ? [[r.chart.name, r.applicationKeys] as const] : [])),
);

/** One chart a run registered, with the values it passed. */
interface SeenChart {
    run: string;
    resource: string;
    chart: UpstreamChart;
    values: unknown;
}

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "chart-values-"));
/** Every chart of PLATFORM_CHARTS as the checker reads it, by `name-version` (filled by beforeAll). */
const models = new Map<string, ChartModel>();
function modelOf(chart: UpstreamChart): ChartModel {
    const model = models.get(`${chart.name}-${chart.version}`);
    if (!model) {
        throw new Error(`${chart.name} ${chart.version} was not read from the mirror`);
    }
    return model;
}

function chartsOf(session: MockSession, run: string): SeenChart[] {
    return session.ofType(K8S.chart).map((r) => {
        const chart = PLATFORM_CHARTS.find((c) => resolveChartSource(c, MIRROR).chart === r.inputs.chart);
        if (!chart) {
            throw new Error(`${run}: chart ${r.name} installs ${String(r.inputs.chart)}, which is no chart of PLATFORM_CHARTS in ${MIRROR}`);
        }
        return { run, resource: r.name, chart, values: unwrapSecrets(r.inputs.values ?? {}) };
    });
}

async function runEnvironment(run: string, options: MockOptions): Promise<SeenChart[]> {
    const session = await setupMocks(options);
    const { runEnvironment: build } = await import("../../environments");
    await build();
    await settle(session);
    return chartsOf(session, run);
}

const localConfig = (template: "local" | "review", extra: Record<string, string> = {}) => ({
    "platform:template": template,
    "platform:description": `${template} under mocks`,
    "platform:owner": "team@example.com",
    "platform:costCenter": "PLT-0001",
    "platform:repository": "gitlab.example.com/platform/platform-gitops",
    "platform:kubernetesTarget": "render",
    "platform:renderDirectory": path.join(workDir, "rendered"),
    "platform:chartMirror": MIRROR,
    ...extra,
});

let seen: SeenChart[] = [];

beforeAll(async () => {
    // The charts unpack (tar, in other processes) while the environments run.
    const unpacking = Promise.all(PLATFORM_CHARTS.map((c) => unpackMirroredChart(MIRROR, c.name, c.version, workDir)));
    unpacking.catch(() => undefined);
    const runs: [string, MockOptions][] = [
        ["local", { stack: "local", config: localConfig("local") }],
        [
            "review-42",
            {
                stack: "review-42",
                config: localConfig("review", { "platform:plannedDestruction": new Date(Date.now() + 5 * 86_400_000).toISOString().slice(0, 10) }),
            },
        ],
    ];
    for (const cloud of ["aws", "azure"] as const) {
        for (const template of ["dev", "staging", "prod"]) {
            runs.push([
                `${template} on ${cloud}`,
                { stack: template, config: cloudConfig(template, cloud, { "platform:chartMirror": MIRROR }), ...(cloud === "aws" ? AWS_MOCKS : AZURE_MOCKS) },
            ]);
        }
    }
    // Pulumi stacks a `new Error().stack` onto every promise it makes, and under
    // vitest each frame is source-mapped: without stacks the runs take half the time.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
        for (const [run, options] of runs) {
            try {
                seen.push(...(await runEnvironment(run, options)));
            } catch (e) {
                throw new Error(`${run}: ${e instanceof Error ? e.message : String(e)}`);
            }
        }
    } finally {
        Error.stackTraceLimit = stackTraceLimit;
    }

    // No template turns Postgres backups on: the Barman Cloud plugin is only installed by the component.
    const session = await setupMocks({ stack: "backups" });
    const { InClusterPostgres } = await import("../../components/postgres");
    new InClusterPostgres("postgres", {
        cluster: await renderCluster(),
        tags: TEST_TAGS,
        chartMirror: MIRROR,
        backup: { store: "s3", destinationPath: "s3://platform-backups/dev", credentialsSecret: "backup-creds" },
    });
    await settle(session);
    seen.push(...chartsOf(session, "postgres with backups"));

    const read = await unpacking;
    PLATFORM_CHARTS.forEach((c, i) => models.set(`${c.name}-${c.version}`, read[i]()));
}, 120_000);

afterAll(() => {
    seen = [];
    fs.rmSync(workDir, { recursive: true, force: true });
});

describe("the chart-values checker", () => {
    const chart = chartFromSources({
        name: "demo",
        version: "1.2.3",
        valuesYaml: [
            "server:",
            "  annotations: {}",
            "  podLabels:",
            "    app: demo",
            "  image:",
            "    repository: demo",
            "  affinity: |",
            "    podAntiAffinity: {}",
            "  tolerations: []",
            "  config:",
            "  resources:",
            "    requests: { cpu: 1 }",
            "  ha:",
            "    replicas: 3",
            "nameOverride: \"\"",
            "",
        ].join("\n"),
        templates: {
            "templates/deployment.yaml": [
                "{{- with .Values.server.extraSpec }}{{ toYaml . }}{{ end }}",
                "{{ toYaml $.Values.server.podSpec | nindent 8 }}",
                '{{ if index .Values "kube-thing" "enabled" }}x{{ end }}',
                "{{ .Values.server.image.repository }}",
                "{{ toYaml .Values.server.resources | nindent 12 }}",
                "{{ with .Values.server.ha }}{{ .replicas }}{{ end }}",
                "{{ if ((.Values.mesh).proxy).enabled }}{{ (index .Values \"kube-other\").flag }}{{ end }}",
                "{{- $_ := mustMergeOverwrite $.Values (index $.Values \"legacy\") }}",
            ].join("\n"),
        },
        schemaJson: JSON.stringify({
            type: "object",
            properties: { schemaOnly: { type: "object" }, strict: { type: "object", properties: { a: { type: "string" } } } },
        }),
        subcharts: {
            sub: { name: "sub", version: "0.1.0", valuesYaml: "global:\n  shared: 1\nsubKey: 1\n", templates: {} },
        },
    });
    const check = (values: Record<string, unknown>) => unknownValues(chart, values).map((u) => describeUnknown(chart, u));

    it("walks objects to their leaves; lists, scalars and empty objects are leaves", () => {
        expect(leafPaths({ a: { b: 1, c: [1, { d: 2 }], e: {} }, f: null })).toEqual([["a", "b"], ["a", "c"], ["a", "e"], ["f"]]);
    });

    it("flags a key the chart does not have, naming the closest key beside it and its line", () => {
        expect(check({ server: { podAnnotations: { "sidecar.istio.io/inject": "true" } } })).toEqual([
            "demo 1.2.3: server.podAnnotations is not a value of the chart (values.yaml:2 has server.annotations)",
        ]);
        expect(check({ server: { image: { repo: "x" } }, allInOne: { enabled: true } })).toEqual([
            "demo 1.2.3: server.image.repo is not a value of the chart (values.yaml:6 has server.image.repository)",
            "demo 1.2.3: allInOne is not a value of the chart (no similar key beside it)",
        ]);
    });

    it("refuses keys below a scalar and keys a schema's object does not declare", () => {
        expect(isChartValue(chart, ["server", "affinity", "nodeAffinity"])).toBe(false);
        expect(isChartValue(chart, ["nameOverride", "x"])).toBe(false);
        expect(isChartValue(chart, ["strict", "b"])).toBe(false);
        expect(isChartValue(chart, ["sub", "nope"])).toBe(false);
        // Read as `with`, not whole: its keys are the ones values.yaml has.
        expect(isChartValue(chart, ["server", "ha", "replica"])).toBe(false);
        expect(isChartValue(chart, ["legacy", "server", "nope"])).toBe(false);
    });

    it("accepts declared keys, and any key under a free-form map or list", () => {
        for (const p of [
            ["server", "image", "repository"],
            ["server", "affinity"],
            ["server", "annotations", "sidecar.istio.io/inject"],
            ["server", "podLabels", "team"],
            ["server", "tolerations", "0"],
            ["server", "config", "anything"],
        ]) {
            expect(isChartValue(chart, p), showPath(p)).toBe(true);
        }
    });

    it("accepts what the templates read (.Values, $.Values, index), the schema declares, subcharts and shared globals", () => {
        for (const p of [
            ["server", "extraSpec", "hostNetwork"],
            ["server", "podSpec", "priorityClassName"],
            ["kube-thing", "enabled"],
            ["server", "resources", "limits", "memory"],
            ["mesh", "proxy", "enabled"],
            ["kube-other", "flag"],
            ["legacy", "server", "image", "repository"],
            ["schemaOnly", "anything"],
            ["strict", "a"],
            ["sub", "subKey"],
            ["global", "shared"],
        ]) {
            expect(isChartValue(chart, p), showPath(p)).toBe(true);
        }
    });

    it("reads Istio's defaults key as the top level, and names the same key under a sibling", () => {
        const istio = chartFromSources({
            name: "istio-like",
            version: "1.0.0",
            valuesYaml: "_internal_defaults_do_not_set:\n  global:\n    proxy:\n      resources: {}\n    proxy_init:\n      image: proxyv2\n",
            templates: { "templates/x.yaml": "{{ (.Values.global).profile }}" },
        });
        expect(isChartValue(istio, ["global", "proxy", "resources", "limits"])).toBe(true);
        expect(unknownValues(istio, { global: { proxy_init: { resources: { limits: { memory: "1Gi" } } } } }).map((u) => describeUnknown(istio, u))).toEqual([
            "istio-like 1.0.0: global.proxy_init.resources is not a value of the chart (values.yaml:4 has global.proxy.resources)",
        ]);
    });

    const pinned = (name: string): ChartModel => {
        const chart = PLATFORM_CHARTS.find((c) => c.name === name);
        if (!chart) {
            throw new Error(`${name} is not in PLATFORM_CHARTS`);
        }
        return modelOf(chart);
    };

    it.each([
        ["vault", { server: { podAnnotations: { a: "b" } } }, /^vault 0\.34\.1: server\.podAnnotations is not a value of the chart \(values\.yaml:\d+ has server\.annotations\)$/],
        ["istiod", { global: { proxy_init: { resources: { limits: { memory: "64Mi" } } } } }, /^istiod 1\.30\.3: global\.proxy_init\.resources is not a value of the chart \(values\.yaml:\d+ has global\.proxy\.resources\)$/],
        ["jaeger", { allInOne: { enabled: true } }, /^jaeger 4\.11\.1: allInOne is not a value of the chart/],
        ["kube-prometheus-stack", { grafana: { persistance: { enabled: true } } }, /grafana\.persistance is not a value of the chart \(charts\/grafana\/values\.yaml:\d+ has grafana\.persistence\)$/],
    ] as const)("flags a wrong key in the real %s chart", (name, values, message) => {
        const model = pinned(name);
        expect(unknownValues(model, values).map((u) => describeUnknown(model, u))).toEqual([expect.stringMatching(message)]);
    });

    it.each(PLATFORM_CHARTS.map((c) => [`${c.name} ${c.version}`, c] as const))("reads the packaged %s in-process (as the program does) as it reads it unpacked by tar", (_, c) => {
        expect(loadChartModel(resolveChartSource(c, MIRROR).chart)).toEqual(modelOf(c));
    });

    it.each([
        ["vault", ["server", "annotations", "sidecar.istio.io/inject"]],
        ["istiod", ["pilot", "autoscaleMin"]],
        ["istiod", ["meshConfig", "outboundTrafficPolicy", "mode"]],
        ["istiod", ["global", "proxy", "resources", "limits", "memory"]],
        ["kube-prometheus-stack", ["grafana", "persistence", "enabled"]],
        ["kube-prometheus-stack", ["kube-state-metrics", "resources", "limits", "memory"]],
        ["jaeger", ["jaeger", "resources", "limits", "memory"]],
    ] as const)("accepts a right key in the real %s chart: %j", (name, p) => {
        expect(isChartValue(pinned(name), p)).toBe(true);
    });
});

describe("the values every component passes to its chart", () => {
    it("come from every template run and cover every chart of PLATFORM_CHARTS", () => {
        expect(new Set(seen.map((s) => s.run)).size).toBe(9);
        const names = new Set(seen.map((s) => `${s.chart.name} ${s.chart.version}`));
        expect([...names].sort()).toEqual(PLATFORM_CHARTS.map((c) => `${c.name} ${c.version}`).sort());
    });

    it("accepts unlisted application keys only for charts that pass all their values to the application", () => {
        for (const name of Object.keys(APPLICATION_KEYS)) {
            const chart = PLATFORM_CHARTS.find((c) => c.name === name);
            expect(chart, name).toBeDefined();
            expect(modelOf(chart!).passesAllValues, name).toBeDefined();
        }
    });

    it.each(PLATFORM_CHARTS.map((c) => [`${c.name} ${c.version}`, c] as const))("%s: every value exists in the chart", (_, chart) => {
        const model = modelOf(chart);
        const findings = new Map<string, Set<string>>();
        for (const s of seen.filter((x) => x.chart === chart)) {
            for (const u of unknownValues(model, s.values, APPLICATION_KEYS[chart.name] ?? [])) {
                const line = describeUnknown(model, u);
                findings.set(line, (findings.get(line) ?? new Set()).add(`${s.run} (${s.resource})`));
            }
        }
        expect(seen.some((s) => s.chart === chart), `${chart.name} was never installed`).toBe(true);
        expect([...findings].map(([line, runs]) => `${line}; set in ${[...runs].join(", ")}`)).toEqual([]);
    });
});
