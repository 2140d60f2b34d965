import * as fs from "node:fs";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";

import { defaultTestChartMirror } from "../../test/helpers/real-charts";
import { chartMetadata, readChartArchive, readSubchartFile, readTar } from "./chart-archive";

const mirror = defaultTestChartMirror();

interface IndexEntry {
    name: string;
    version: string;
    appVersion?: string;
    kubeVersion?: string;
    urls: string[];
}
const index = parseYaml(fs.readFileSync(path.join(mirror, "index.yaml"), "utf8")) as { entries: Record<string, IndexEntry[]> };
const indexed = Object.values(index.entries).flat();

// A tar built by hand, for the header forms the real archives do not use.
interface TarEntry {
    name: string;
    type?: string;
    prefix?: string;
    ustar?: boolean;
}

function tarHeader(o: TarEntry & { size: number }): Buffer {
    const h = Buffer.alloc(512);
    h.write(o.name, 0, 100, "utf8");
    h.write("0000644\0", 100, "latin1");
    h.write("0000000\0", 108, "latin1");
    h.write("0000000\0", 116, "latin1");
    h.write(`${o.size.toString(8).padStart(11, "0")}\0`, 124, "latin1");
    h.write("00000000000\0", 136, "latin1");
    h.write(o.type ?? "0", 156, "latin1");
    if (o.ustar ?? true) {
        h.write("ustar\u000000", 257, "latin1");
    }
    if (o.prefix !== undefined) {
        h.write(o.prefix, 345, 155, "utf8");
    }
    h.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of h) {
        sum += b;
    }
    h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
    return h;
}

function entry(o: TarEntry & { body: Buffer }): Buffer {
    const pad = Buffer.alloc((512 - (o.body.length % 512)) % 512);
    return Buffer.concat([tarHeader({ ...o, size: o.body.length }), o.body, pad]);
}

function paxRecord(key: string, value: string): string {
    const body = ` ${key}=${value}\n`;
    let length = body.length + 1;
    while (`${length}${body}`.length !== length) {
        length = `${length}${body}`.length;
    }
    return `${length}${body}`;
}

const tar = (...entries: Buffer[]) => Buffer.concat([...entries, Buffer.alloc(1024)]);
const chartYaml = (name: string, version: string) => Buffer.from(`apiVersion: v2\nname: ${name}\nversion: ${version}\n`);

describe("readChartArchive on the real charts", () => {
    it.each(indexed.map((e) => [e.urls[0], e] as const))("%s: Chart.yaml agrees with the repository index", (file, e) => {
        const meta = chartMetadata(path.join(mirror, file));
        expect(meta).toMatchObject({ dir: e.name, name: e.name, version: e.version });
        expect(meta.appVersion).toBe(e.appVersion);
        expect(meta.kubeVersion).toBe(e.kubeVersion);
    });

    it("reads GNU long names (over 100 bytes) as the full path", () => {
        const { files } = readChartArchive(path.join(mirror, "kube-prometheus-stack-88.5.3.tgz"));
        const long = "kube-prometheus-stack/templates/prometheus-operator/admission-webhooks/job-patch/ciliumnetworkpolicy-createSecret.yaml";
        expect(long.length).toBeGreaterThan(100);
        expect(files.get(long)?.toString()).toContain("CiliumNetworkPolicy");
        // No entry is left under a truncated name.
        expect([...files.keys()].filter((p) => !p.startsWith("kube-prometheus-stack/"))).toEqual([]);
    });

    it("lists a chart's dependencies and reads a bundled subchart's values", () => {
        const kps = path.join(mirror, "kube-prometheus-stack-88.5.3.tgz");
        const meta = chartMetadata(kps);
        expect(meta.dependencies.map((d) => d.name)).toEqual(expect.arrayContaining(["grafana", "kube-state-metrics", "prometheus-node-exporter"]));
        const archive = readChartArchive(kps);
        const grafana = readSubchartFile(archive, "grafana");
        expect(grafana?.toString()).toContain("adminUser");
        expect(readSubchartFile(archive, "grafana", "Chart.yaml")?.toString()).toMatch(/^version: 12\.11\.1$/m);
        expect(readSubchartFile(archive, "no-such-subchart")).toBeUndefined();
    });

    it("reads loki's rollout-operator subchart (its own crds subchart has GNU long names)", () => {
        const file = readSubchartFile(path.join(mirror, "loki-18.11.0.tgz"), "rollout-operator", "Chart.yaml");
        expect(file?.toString()).toMatch(/^name: rollout-operator$/m);
    });
});

describe("readTar on header forms helm and tar may emit", () => {
    it("joins the ustar prefix and name", () => {
        const files = readTar(tar(entry({ name: "Chart.yaml", prefix: "a".repeat(120), body: Buffer.from("x") })));
        expect([...files.keys()]).toEqual([`${"a".repeat(120)}/Chart.yaml`]);
    });

    it("applies a pax path to the next entry only, and ignores a global header", () => {
        const long = `demo/templates/${"b".repeat(150)}.yaml`;
        const files = readTar(
            tar(
                entry({ name: "pax_global_header", type: "g", body: Buffer.from(paxRecord("comment", "made by a test")) }),
                entry({ name: "PaxHeaders/x", type: "x", body: Buffer.from(paxRecord("path", long) + paxRecord("mtime", "1.5")) }),
                entry({ name: "demo/templates/truncated", body: Buffer.from("kind: ConfigMap\n") }),
                entry({ name: "demo/Chart.yaml", body: chartYaml("demo", "0.1.0") }),
            ),
        );
        expect([...files.keys()]).toEqual([long, "demo/Chart.yaml"]);
        expect(files.get(long)?.toString()).toBe("kind: ConfigMap\n");
    });

    it("reads a pre-POSIX (v7) header and strips a leading ./", () => {
        const files = readTar(tar(entry({ name: "./demo/values.yaml", ustar: false, body: Buffer.from("a: 1\n") })));
        expect(files.get("demo/values.yaml")?.toString()).toBe("a: 1\n");
    });

    it("skips directories and links", () => {
        const files = readTar(
            tar(entry({ name: "demo/", type: "5", body: Buffer.alloc(0) }), entry({ name: "demo/link", type: "2", body: Buffer.alloc(0) })),
        );
        expect(files.size).toBe(0);
    });

    it("refuses a damaged header, a truncated entry and a non-gzip file", () => {
        const damaged = tar(entry({ name: "demo/Chart.yaml", body: chartYaml("demo", "1.0.0") }));
        damaged[10] ^= 0xff;
        expect(() => readTar(damaged)).toThrow(/bad header checksum at byte 0/);
        const truncated = entry({ name: "demo/values.yaml", body: Buffer.alloc(2000, 0x61) }).subarray(0, 1024);
        expect(() => readTar(truncated)).toThrow(/truncated tar/);
        expect(() => readChartArchive(Buffer.from("not gzip"))).toThrow(/not a gzip archive/);
    });
});

describe("chartMetadata and readSubchartFile on built archives", () => {
    it("reads a subchart kept as a nested .tgz (as helm dependency update leaves it)", () => {
        const nested = gzipSync(tar(entry({ name: "common/Chart.yaml", body: chartYaml("common", "2.31.10") }), entry({ name: "common/values.yaml", body: Buffer.from("exampleValue: common\n") })));
        const outer = gzipSync(
            tar(
                entry({ name: "app/Chart.yaml", body: Buffer.from("apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n  - name: common\n    version: 2.x.x\n    repository: oci://registry-1.docker.io/bitnamicharts\n") }),
                entry({ name: "app/charts/common-2.31.10.tgz", body: nested }),
            ),
        );
        expect(chartMetadata(outer).dependencies).toEqual([
            { name: "common", version: "2.x.x", repository: "oci://registry-1.docker.io/bitnamicharts", alias: undefined, condition: undefined },
        ]);
        expect(readSubchartFile(outer, "common")?.toString()).toBe("exampleValue: common\n");
    });

    it("refuses an archive without a top-level Chart.yaml, or with two", () => {
        expect(() => chartMetadata(gzipSync(tar(entry({ name: "demo/values.yaml", body: Buffer.from("{}") }))))).toThrow(/no <chart>\/Chart\.yaml/);
        expect(() =>
            chartMetadata(gzipSync(tar(entry({ name: "a/Chart.yaml", body: chartYaml("a", "1") }), entry({ name: "b/Chart.yaml", body: chartYaml("b", "1") })))),
        ).toThrow(/several charts/);
    });

    it("refuses a Chart.yaml without a version", () => {
        expect(() => chartMetadata(gzipSync(tar(entry({ name: "demo/Chart.yaml", body: Buffer.from("name: demo\n") }))))).toThrow(/has no name or version/);
    });
});
