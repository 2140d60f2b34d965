import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

import { preflightCharts, resolveChartSource, UpstreamChart } from "./chart";

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
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mirror-"));
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
