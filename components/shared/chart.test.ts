import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";

import { defaultTestChartMirror } from "../../test/helpers/real-charts";
import { PLATFORM_CHARTS, PLATFORM_MANIFESTS } from "../upstream";
import { checkMirrorChart, preflightCharts, resolveChartSource, sha256Hex, UpstreamChart, UpstreamManifest } from "./chart";
import { tempDir } from "../../test/helpers/temp-dir";

const certManager: UpstreamChart = { name: "cert-manager", version: "v1.19.1", repository: "https://charts.jetstack.io" };
const fixtures = path.resolve(__dirname, "../../test/fixtures/charts");

describe("resolveChartSource", () => {
    it("reads from the upstream repository by default, pinned", () => {
        expect(resolveChartSource(certManager, undefined)).toMatchObject({
            chart: "cert-manager",
            version: "v1.19.1",
            repositoryOpts: { repo: "https://charts.jetstack.io" },
        });
    });

    it("reads an OCI upstream as a chart reference", () => {
        const src = resolveChartSource({ name: "base", version: "1.0.0", repository: "oci://registry.example.com/charts/" }, "");
        expect(src).toMatchObject({ chart: "oci://registry.example.com/charts/base", version: "1.0.0" });
        expect(src.repositoryOpts).toBeUndefined();
    });

    it("reads from an OCI mirror when one is set", () => {
        expect(resolveChartSource(certManager, "oci://mirror.internal/helm")).toMatchObject({
            chart: "oci://mirror.internal/helm/cert-manager",
            version: "v1.19.1",
        });
    });

    it("reads an unpacked chart or a packaged .tgz from a mirror directory", () => {
        const dir = tempDir("mirror-");
        expect(resolveChartSource(certManager, dir).chart).toBe(path.join(dir, "cert-manager"));
        fs.writeFileSync(path.join(dir, "cert-manager-v1.19.1.tgz"), "");
        expect(resolveChartSource(certManager, dir).chart).toBe(path.join(dir, "cert-manager-v1.19.1.tgz"));
    });
});

describe("preflightCharts", () => {
    it("passes when the mirror directory holds the chart", async () => {
        await expect(
            preflightCharts([{ name: "echo-server", version: "1.2.3", repository: "https://x.example" }], fixtures),
        ).resolves.toBeUndefined();
    });

    it("names the chart and the mirror setting when the mirror lacks it", async () => {
        await expect(preflightCharts([certManager], fixtures)).rejects.toThrow(
            /chart cert-manager v1\.19\.1 is not in the mirror .*\n.*platform:chartMirror \(or PLATFORM_CHART_MIRROR\)/s,
        );
    });

    it("names the chart and its repository when the upstream cannot be reached", async () => {
        const server = net.createServer();
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        const port = (server.address() as net.AddressInfo).port;
        await new Promise<void>((r) => server.close(() => r()));
        const unreachable = { ...certManager, repository: `https://127.0.0.1:${port}/charts` };
        await expect(preflightCharts([unreachable], undefined, { timeoutMs: 500 })).rejects.toThrow(
            `chart cert-manager v1.19.1: its repository https://127.0.0.1:${port}/charts cannot be reached`,
        );
    });
});

describe("preflightCharts against a mirror directory: the pins, verified", () => {
    const realMirror = defaultTestChartMirror();
    const consul: UpstreamChart = { name: "consul", version: "2.0.3", repository: "https://helm.releases.hashicorp.com" };
    const manifest = PLATFORM_MANIFESTS[0];
    const tmpDirs: string[] = [];
    afterAll(() => tmpDirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
    const tmpMirror = (...files: [string, Buffer | string][]) => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mirror-"));
        tmpDirs.push(dir);
        for (const [name, content] of files) {
            fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
            fs.writeFileSync(path.join(dir, name), content);
        }
        return dir;
    };
    const real = (file: string) => fs.readFileSync(path.join(realMirror, file));

    it("passes every pin of components/upstream.ts against the real mirror", async () => {
        await expect(preflightCharts(PLATFORM_CHARTS, realMirror, { manifests: PLATFORM_MANIFESTS })).resolves.toBeUndefined();
    });

    it("refuses a packaged chart whose Chart.yaml has another version than the pin", async () => {
        const dir = tmpMirror(["consul-9.9.9.tgz", real("consul-2.0.3.tgz")]);
        await expect(preflightCharts([{ ...consul, version: "9.9.9" }], dir)).rejects.toThrow(
            `chart consul in mirror ${dir}: Chart.yaml in consul-9.9.9.tgz says version 2.0.3, pinned 9.9.9`,
        );
    });

    it("refuses a packaged chart that is another chart", async () => {
        const dir = tmpMirror(["consul-2.0.3.tgz", real("vault-0.34.1.tgz")]);
        const problems = checkMirrorChart(consul, dir);
        expect(problems).toEqual([
            `chart consul in mirror ${dir}: Chart.yaml in consul-2.0.3.tgz says name vault, pinned consul`,
            `chart consul in mirror ${dir}: Chart.yaml in consul-2.0.3.tgz says version 0.34.1, pinned 2.0.3`,
        ]);
    });

    it("refuses a tampered chart (same Chart.yaml, other bytes) whose sha256 is not the index's digest", async () => {
        // Same length, one byte of a template changed: the tar stays valid, only the digest tells.
        const tar = gunzipSync(real("consul-2.0.3.tgz"));
        const at = tar.indexOf("replicas");
        tar[at] = "R".charCodeAt(0);
        const tampered = gzipSync(tar);
        const dir = tmpMirror(["consul-2.0.3.tgz", tampered], ["index.yaml", real("index.yaml")]);
        await expect(preflightCharts([consul], dir)).rejects.toThrow(
            `chart consul 2.0.3 in mirror ${dir}: consul-2.0.3.tgz has sha256 ${sha256Hex(tampered)}, ` +
                `the mirror's index.yaml lists digest 10f8544c53ae53646f5bedde43d796e8c7f38f81ba33433e3da2e918be7dae35`,
        );
    });

    it("checks the digest only when the index lists the version", async () => {
        const dir = tmpMirror(["consul-2.0.3.tgz", real("consul-2.0.3.tgz")], ["index.yaml", "apiVersion: v1\nentries:\n  consul: []\n"]);
        await expect(preflightCharts([consul], dir)).resolves.toBeUndefined();
    });

    it("refuses an index.yaml that is not a Helm repository index", async () => {
        const dir = tmpMirror(["consul-2.0.3.tgz", real("consul-2.0.3.tgz")], ["index.yaml", "- just a list\n"]);
        await expect(preflightCharts([consul], dir)).rejects.toThrow(`mirror ${dir}: index.yaml cannot be read (not a Helm repository index (no entries))`);
    });

    it("refuses a file that is not a chart archive", async () => {
        const dir = tmpMirror(["consul-2.0.3.tgz", "<html>proxy error</html>"]);
        await expect(preflightCharts([consul], dir)).rejects.toThrow(
            /chart consul in mirror .*: consul-2\.0\.3\.tgz cannot be read as a chart \(not a gzip archive/,
        );
    });

    it("checks an unpacked chart's Chart.yaml too", async () => {
        const wrong = tmpMirror(["consul/Chart.yaml", "apiVersion: v2\nname: consul\nversion: 1.9.3\n"]);
        await expect(preflightCharts([consul], wrong)).rejects.toThrow(`chart consul in mirror ${wrong}: Chart.yaml in consul/ says version 1.9.3, pinned 2.0.3`);
        const empty = tmpMirror(["consul/values.yaml", "{}\n"]);
        await expect(preflightCharts([consul], empty)).rejects.toThrow(`chart consul in mirror ${empty}: consul/ has no Chart.yaml`);
        const right = tmpMirror(["consul/Chart.yaml", "apiVersion: v2\nname: consul\nversion: 2.0.3\n"]);
        await expect(preflightCharts([consul], right)).resolves.toBeUndefined();
    });

    it("refuses a manifest whose sha256 is not the pin's", async () => {
        const file = `${manifest.name}-${manifest.version}.yaml`;
        const other = Buffer.concat([real(`${manifest.name}-${manifest.version}.yaml`), Buffer.from("# edited\n")]);
        const dir = tmpMirror([file, other]);
        await expect(preflightCharts([], dir, { manifests: [manifest] })).rejects.toThrow(
            `manifest ${manifest.name} ${manifest.version} in mirror ${dir}: ${file} has sha256 ${sha256Hex(other)}, pinned ${manifest.sha256}`,
        );
    });

    it("lists every problem in one error, with the setting and how to fill a mirror", async () => {
        const missing: UpstreamManifest = { name: "operator", version: "v1", url: "https://example.com/op.yaml", sha256: "0".repeat(64) };
        const dir = tmpMirror(["consul-9.9.9.tgz", real("consul-2.0.3.tgz")]);
        const error = await preflightCharts([{ ...consul, version: "9.9.9" }, certManager], dir, { manifests: [missing] }).catch((e: Error) => e);
        expect(String(error)).toContain(`manifest operator v1 is not in the mirror (expected ${dir}/operator-v1.yaml)`);
        expect(String(error)).toContain("says version 2.0.3, pinned 9.9.9");
        expect(String(error)).toContain("chart cert-manager v1.19.1 is not in the mirror");
        expect(String(error)).toContain("./platform mirror <dir>");
    });
});
