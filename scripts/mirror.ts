/**
 * `./platform mirror <dir>`: fills a chart mirror directory from the
 * upstream repositories of every pin in components/upstream.ts, verifying
 * each download, so the directory can be handed to PLATFORM_CHART_MIRROR on a
 * machine that cannot reach the internet (README "Charts and mirrors").
 *
 *   HTTPS chart repository  `<repo>/index.yaml`, the pinned version's URL
 *                           (relative or absolute); the archive's sha256 must be
 *                           the index's `digest`
 *   oci:// registry         the OCI distribution API (anonymous bearer token on a
 *                           401); the layer of media type
 *                           application/vnd.cncf.helm.chart.content.v1.tar+gzip,
 *                           whose sha256 must be its digest
 *   release manifest        its URL; the sha256 must be the pin's (`sha256`)
 *
 * Every chart's Chart.yaml must also carry the pinned name and version. The
 * directory gets `<name>-<version>.tgz`, the manifest as
 * resolveManifestSource names it (`<name>-<version>.yaml`) and an `index.yaml`
 * (helm repo index format, with digests: preflightCharts checks the archives
 * against it). A file already there that verifies is skipped; a download that
 * does not verify is refused, naming both digests, and nothing is written
 * (files are written to a temporary name and renamed only once verified).
 *
 * Environment:
 *   PLATFORM_MIRROR_UPSTREAM_OVERRIDE  fetch from somewhere else than the upstream
 *       hosts (an internal proxy, or a test server). Either
 *       - one http(s) URL: a flat Helm repository holding every pinned chart in
 *         its index.yaml and every manifest as `<name>-<version>.yaml`, i.e. a
 *         mirror directory served over HTTP (OCI pins are read from it too); or
 *       - a JSON object {"<upstream prefix>": "<replacement>"}: a pinned
 *         repository or manifest URL that starts with a key (on a `/` boundary;
 *         the longest key wins) has that part replaced; others stay upstream.
 *         For an oci:// pin the replacement may be oci://host/path (HTTPS
 *         registry) or http(s)://host/path (the registry's scheme given), e.g.
 *         {"https://charts.jetstack.io": "https://nexus.internal/repository/jetstack",
 *          "oci://ghcr.io": "oci://harbor.internal/ghcr-proxy",
 *          "https://github.com": "https://nexus.internal/repository/github"}
 *       Manifests are still checked against their pinned sha256; charts against
 *       the digests the proxy's index or registry gives.
 *   PLATFORM_MIRROR_TIMEOUT_MS  per-request timeout (default 120000)
 *
 * Exit codes: 0 every artifact verified; 1 an artifact failed (listed); 2 bad usage.
 */
import { CommanderError } from "commander";

import { scriptCommand } from "./cli/process";
import { fillMirror } from "./mirror/fill";
import { MirrorUsageError, OVERRIDE_VARIABLE } from "./mirror/override";

export { fillMirror } from "./mirror/fill";
export type { ArtifactResult, ArtifactStatus, MirrorOptions, MirrorReport } from "./mirror/fill";
export { HELM_CHART_LAYER } from "./mirror/oci";
export { chartOrigin, manifestOrigin, MirrorUsageError, OVERRIDE_VARIABLE, parseOverride } from "./mirror/override";
export type { ChartOrigin, UpstreamOverride } from "./mirror/override";

const USAGE = `usage: ./platform mirror <dir>
Fills <dir> with every pinned chart and manifest (components/upstream.ts), verified.
${OVERRIDE_VARIABLE}=<url> or ='{"<upstream prefix>": "<replacement>"}' reads from an internal proxy instead.`;

type Io = { out: (t: string) => void; err: (t: string) => void };

/** The mirror directory, or a CommanderError (already printed to `io`; exit code 0 for --help). */
function mirrorDir(argv: string[], io: Io): string {
    const command = scriptCommand("./platform mirror", "mirror", USAGE, io)
        .argument("<dir>", "the mirror directory")
        // --help prints the usage as it always has; an error adds it after commander's message.
        .configureHelp({ formatHelp: () => `${USAGE}\n` })
        .parse(argv, { from: "user" });
    return command.processedArgs[0] as string;
}

/** The command line: returns the exit code. */
export async function run(argv: string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
    let dir: string;
    try {
        dir = mirrorDir(argv, io);
    } catch (e) {
        if (e instanceof CommanderError) {
            return e.exitCode === 0 ? 0 : 2;
        }
        throw e;
    }
    try {
        const timeout = env.PLATFORM_MIRROR_TIMEOUT_MS;
        const report = await fillMirror({
            dir,
            override: env[OVERRIDE_VARIABLE] ?? "",
            timeoutMs: timeout !== undefined && /^\d+$/.test(timeout) ? Number(timeout) : undefined,
            log: (line) => io.out(`${line}\n`),
        });
        if (report.failed.length > 0) {
            io.err(`[mirror] ${report.failed.length} artifact(s) failed:\n${report.failed.map((r) => `  - ${r.kind} ${r.name} ${r.version}: ${r.error}`).join("\n")}\n`);
            return 1;
        }
        return 0;
    } catch (e) {
        io.err(`[mirror] ${(e as Error).message}\n`);
        return e instanceof MirrorUsageError ? 2 : 1;
    }
}

if (require.main === module) {
    run(process.argv.slice(2), process.env, { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) }).then(
        (code) => process.exit(code),
        (e: unknown) => {
            process.stderr.write(`[mirror] ${String(e)}\n`);
            process.exit(1);
        },
    );
}
