/**
 * `platform:chartValues`: the keys the loader takes per template, the paths
 * the program takes (checked against the real charts in ../shared/charts,
 * or PLATFORM_CHART_MIRROR), every committed stack's overrides, and the
 * overrides reaching the charts through the templates.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";

import { IN_CLUSTER_RELEASES } from "../components/upstream";
import { AZURE_DEV_CONFIG, configErrorOf, LOCAL_CONFIG } from "../test/helpers/config-fixtures";
import { REPO_ROOT } from "../test/helpers/engine";
import { setupMocks, settle } from "../test/helpers/mocks";
import { defaultTestChartMirror } from "../test/helpers/real-charts";
import { checkChartValues, chartValuesProblems } from "./chart-values";
import { chartReleasesOf } from "./chart-values-schema";
import { ConfigError, loadEnvironmentConfig, parseEnvironmentConfig } from "./config";
import { readStackFile } from "./stack-file";

const MIRROR = defaultTestChartMirror();
const LOCAL_KEYS = IN_CLUSTER_RELEASES.map((r) => r.key);
const CLOUD_KEYS = LOCAL_KEYS.filter((k) => !k.startsWith("postgres/"));

describe("platform:chartValues in the loader", () => {
    it("names every release once, as <component>/<release>", () => {
        expect(LOCAL_KEYS).toEqual([
            "cert-manager/cert-manager",
            "mesh/base",
            "mesh/istiod",
            "mesh/istio-ingressgateway",
            "mesh/istio-egressgateway",
            "observability/kube-prometheus-stack",
            "observability/jaeger",
            "observability/kiali-server",
            "observability/loki",
            "observability/fluent-bit",
            "vault/vault",
            "postgres/cloudnative-pg",
            "consul/consul",
        ]);
        expect(chartReleasesOf("prod").map((r) => r.key)).toEqual(CLOUD_KEYS);
    });

    it("takes a map of releases to values, as the JSON Pulumi passes or as a map; {} (Pulumi.yaml's default) is no override", () => {
        const chartValues = { "mesh/istiod": { autoscaleMin: 2 }, "observability/kube-prometheus-stack": { grafana: { replicas: 2 } } };
        expect(parseEnvironmentConfig({ ...LOCAL_CONFIG, chartValues: JSON.stringify(chartValues) }).chartValues).toEqual(chartValues);
        expect(parseEnvironmentConfig({ ...AZURE_DEV_CONFIG, chartValues }).chartValues).toEqual(chartValues);
        expect(parseEnvironmentConfig({ ...LOCAL_CONFIG, chartValues: "{}" }).chartValues).toEqual({});
        expect(parseEnvironmentConfig(LOCAL_CONFIG).chartValues).toBeUndefined();
    });

    it("refuses an unknown <component>/<release>, naming the allowed keys", () => {
        expect(configErrorOf({ ...LOCAL_CONFIG, chartValues: { "observability/grafana": { replicas: 2 } } })).toContain(
            `platform:chartValues["observability/grafana"]: is not a release of the local template (keys are <component>/<release>); allowed: ${LOCAL_KEYS.join(", ")}`,
        );
    });

    it("suggests the key a misspelt or unprefixed one was meant to be", () => {
        expect(configErrorOf({ ...LOCAL_CONFIG, chartValues: { "mesh/istio-d": {} } })).toContain(
            'platform:chartValues["mesh/istio-d"]: is not a release of the local template (keys are <component>/<release>); did you mean mesh/istiod? allowed: ',
        );
        expect(configErrorOf({ ...LOCAL_CONFIG, chartValues: { "cert-manager": {} } })).toContain("did you mean cert-manager/cert-manager?");
    });

    it("refuses a release the template does not install (a cloud template's Postgres is managed; backups are off everywhere)", () => {
        expect(configErrorOf({ ...AZURE_DEV_CONFIG, chartValues: { "postgres/cloudnative-pg": {} } })).toContain(
            `platform:chartValues["postgres/cloudnative-pg"]: the dev template does not install this release; allowed: ${CLOUD_KEYS.join(", ")}`,
        );
        expect(configErrorOf({ ...LOCAL_CONFIG, chartValues: { "postgres/plugin-barman-cloud": {} } })).toContain(
            'platform:chartValues["postgres/plugin-barman-cloud"]: the local template does not install this release; allowed: ',
        );
    });

    it("refuses a value that is not a map of maps", () => {
        expect(configErrorOf({ ...LOCAL_CONFIG, chartValues: "mesh/istiod" })).toMatch(
            /^ {2}- platform:chartValues: must be a map of <component>\/<release> to Helm values, such as \{"mesh\/istiod": \{"autoscaleMin": 2\}\} \(not JSON: .*\) \(got "mesh\/istiod"\)$/m,
        );
        expect(configErrorOf({ ...LOCAL_CONFIG, chartValues: "[1]" })).toContain('platform:chartValues: must be a map of <component>/<release> to Helm values, such as {"mesh/istiod": {"autoscaleMin": 2}} (got "[1]")');
        expect(configErrorOf({ ...LOCAL_CONFIG, chartValues: { "mesh/istiod": 3 } })).toContain('platform:chartValues["mesh/istiod"]: must be a map of Helm values (got 3)');
    });
});

describe("platform:chartValues against the real charts", () => {
    it("accepts values of the charts: declared keys, free-form maps, subcharts' keys", () => {
        const chartValues = {
            "mesh/istiod": { pilot: { autoscaleMin: 2 }, meshConfig: { accessLogFile: "" } },
            "observability/kube-prometheus-stack": { grafana: { replicas: 2, persistence: { size: "10Gi" } }, prometheus: { prometheusSpec: { retention: "30d" } } },
            "vault/vault": { server: { annotations: { "example.com/team": "platform" } } },
            "observability/kiali-server": { external_services: { prometheus: { url: "http://prometheus:9090" } } },
        };
        expect(chartValuesProblems(chartValues, "local", MIRROR)).toEqual([]);
    });

    it("refuses a path the chart does not have, naming the setting, the path, the chart and the closest key", () => {
        const problems = chartValuesProblems(
            { "observability/kube-prometheus-stack": { grafana: { persistance: { enabled: true } } }, "vault/vault": { server: { podAnnotations: { a: "b" } } } },
            "staging",
            MIRROR,
        );
        expect(problems).toEqual([
            expect.stringMatching(
                /^platform:chartValues\["observability\/kube-prometheus-stack"\]: grafana\.persistance is not a value of the chart kube-prometheus-stack 88\.5\.3 \(charts\/grafana\/values\.yaml:\d+ has grafana\.persistence\)$/,
            ),
            expect.stringMatching(/^platform:chartValues\["vault\/vault"\]: server\.podAnnotations is not a value of the chart vault 0\.34\.1 \(values\.yaml:\d+ has server\.annotations\)$/),
        ]);
    });

    it("fails the run with a ConfigError where the charts are in a mirror directory, and only warns where they are not", () => {
        const config = { template: "local" as const, chartValues: { "mesh/istio-ingressgateway": { servce: { type: "NodePort" } } } };
        expect(() => checkChartValues({ ...config, chartMirror: MIRROR })).toThrow(ConfigError);
        expect(() => checkChartValues({ ...config, chartMirror: MIRROR })).toThrow(
            /invalid stack configuration:\n {2}- platform:chartValues\["mesh\/istio-ingressgateway"\]: servce is not a value of the chart gateway 1\.30\.3 \(values\.yaml:\d+ has service\)/,
        );
        expect(() => checkChartValues({ ...config, chartMirror: undefined })).not.toThrow();
        expect(() => checkChartValues({ ...config, chartMirror: "oci://registry.example.com/charts" })).not.toThrow();
        expect(() => checkChartValues({ template: "local", chartValues: {}, chartMirror: path.join(os.tmpdir(), "no-such-mirror") })).not.toThrow();
    });

    it("holds for every committed stack (stacks/Pulumi.*.yaml), read as the engine passes it", () => {
        const project = parse(fs.readFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), "utf8")) as { config: Record<string, { default?: unknown }> };
        const asPassed = (v: unknown) => (typeof v === "object" && v !== null ? JSON.stringify(v) : String(v));
        const defaults = Object.fromEntries(Object.entries(project.config).filter(([, d]) => d.default !== undefined).map(([k, d]) => [k, asPassed(d.default)]));
        const files = fs.readdirSync(path.join(REPO_ROOT, "stacks")).filter((f) => /^Pulumi\..+\.yaml$/.test(f));
        expect(files.length).toBeGreaterThanOrEqual(4);
        for (const file of files) {
            const stack = /^Pulumi\.(.+)\.yaml$/.exec(file)![1];
            const values = Object.fromEntries(Object.entries(readStackFile(REPO_ROOT, stack)?.config ?? {}).map(([k, v]) => [k, asPassed(v)]));
            const config = loadEnvironmentConfig({ ...defaults, "platform:name": stack, ...values });
            expect(chartValuesProblems(config.chartValues, config.template, MIRROR), file).toEqual([]);
        }
    });
});

describe("platform:chartValues through the local template, under mocks", () => {
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "chart-values-env-"));
    afterAll(() => fs.rmSync(workDir, { recursive: true, force: true }));
    const stackConfig = (chartValues: unknown) => ({
        "platform:template": "local",
        "platform:description": "chart values under mocks",
        "platform:owner": "team@example.com",
        "platform:costCenter": "PLT-0001",
        "platform:repository": "platform-gitops",
        "platform:kubernetesTarget": "render",
        "platform:renderDirectory": path.join(workDir, "rendered"),
        "platform:chartMirror": MIRROR,
        "platform:chartValues": JSON.stringify(chartValues),
    });
    const chartValuesOf = (resources: { type: string; name: string; inputs: Record<string, unknown> }[], name: string) =>
        resources.find((r) => r.type === "kubernetes:helm.sh/v4:Chart" && r.name === name)?.inputs.values as Record<string, Record<string, unknown>>;

    it("merges each override last over its release's values, and only its release's", async () => {
        const session = await setupMocks({ stack: "local", config: stackConfig({ "mesh/istio-ingressgateway": { service: { type: "ClusterIP" } }, "consul/consul": { server: { replicas: 3 } } }) });
        const { runEnvironment } = await import("./index");
        await runEnvironment();
        await settle(session);
        expect(chartValuesOf(session.resources, "mesh-ingress-gateway").service).toEqual({ type: "ClusterIP" });
        expect(chartValuesOf(session.resources, "mesh-ingress-gateway").labels).toEqual({ istio: "ingressgateway" });
        expect(chartValuesOf(session.resources, "mesh-egress-gateway").service).toEqual({ type: "ClusterIP" });
        expect(chartValuesOf(session.resources, "consul-chart").server).toMatchObject({ replicas: 3, storage: "10Gi" });
        expect(chartValuesOf(session.resources, "vault-chart").server).toMatchObject({ dev: { enabled: true } });
    });

    it("stops the run before any resource when an override is not a value of its chart", async () => {
        const session = await setupMocks({ stack: "local", config: stackConfig({ "observability/loki": { singleBinary: { replica: 2 } } }) });
        const { runEnvironment } = await import("./index");
        await expect(runEnvironment()).rejects.toThrow(/platform:chartValues\["observability\/loki"\]: singleBinary\.replica is not a value of the chart loki 18\.11\.0/);
        await settle(session);
        expect(session.resources).toEqual([]);
    });
});
