/**
 * Every pin of components/upstream.ts against the real chart mirror
 * (test/helpers/real-charts.ts): a pin moved without its chart, or a chart
 * mirrored without its pin, fails here with the whole list, before any
 * render or deployment test runs against test doubles.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

import { findIndexEntry, normaliseDigest, parseRepositoryIndex, resolveManifestSource, sha256Hex } from "../../components/shared/chart";
import { PLATFORM_CHARTS, PLATFORM_MANIFESTS } from "../../components/upstream";
import { defaultTestChartMirror } from "../helpers/real-charts";

const mirror = defaultTestChartMirror();
const index = parseRepositoryIndex(fs.readFileSync(path.join(mirror, "index.yaml"), "utf8"));

describe(`the pins of components/upstream.ts against the mirror ${mirror}`, () => {
    it("lists every pinned chart version in the mirror's index.yaml", () => {
        const problems = PLATFORM_CHARTS.filter((c) => findIndexEntry(index, c.name, c.version) === undefined).map((c) => {
            const available = (index.entries[c.name] ?? []).map((e) => e.version);
            return `${c.name} ${c.version}: not in index.yaml (${available.length > 0 ? `it has ${available.join(", ")}` : "no version of it"})`;
        });
        expect(problems, `pins missing from ${mirror}/index.yaml`).toEqual([]);
    });

    it("has every pinned manifest, with the pinned sha256", () => {
        const problems = PLATFORM_MANIFESTS.flatMap((m) => {
            const file = resolveManifestSource(m, mirror);
            if (!fs.existsSync(file)) {
                const others = fs.readdirSync(mirror).filter((f) => f.startsWith(`${m.name}-`));
                return [`${m.name} ${m.version}: no ${path.basename(file)} (the mirror has ${others.join(", ") || "none"})`];
            }
            const actual = sha256Hex(fs.readFileSync(file));
            return actual === normaliseDigest(m.sha256) ? [] : [`${m.name} ${m.version}: ${path.basename(file)} has sha256 ${actual}, pinned ${m.sha256}`];
        });
        expect(problems, `manifest pins that ${mirror} does not match`).toEqual([]);
    });

    it("pins each chart once", () => {
        const names = PLATFORM_CHARTS.map((c) => c.name);
        expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
    });
});
