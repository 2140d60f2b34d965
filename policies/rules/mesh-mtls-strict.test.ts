import { describe, expect, it } from "vitest";

import { compliantPeerAuthentication } from "../test/fixtures";
import { stackViolationsOf, StackResource, violationsOf } from "../test/validate";
import { DEFAULT_MTLS, meshMtlsStrict, meshWideStrictMtls } from "./mesh-mtls-strict";

const PEER_AUTHENTICATION = "kubernetes:security.istio.io/v1:PeerAuthentication";
const URN = `urn:pulumi:test::platform::${PEER_AUTHENTICATION}::subject`;
const CHART = "kubernetes:helm.sh/v4:Chart";

/** A workload-level PeerAuthentication: STRICT, with a selector. */
function workloadPeerAuthentication() {
    const pa = compliantPeerAuthentication();
    pa.metadata = { ...pa.metadata, name: "postgres", namespace: "data" };
    pa.spec.selector = { matchLabels: { app: "postgres" } };
    return pa;
}

describe("mesh-mtls-strict", () => {
    it("is mandatory and named in kebab-case", () => {
        expect(meshMtlsStrict.name).toBe("mesh-mtls-strict");
        expect(meshMtlsStrict.enforcementLevel).toBe("mandatory");
        expect(meshMtlsStrict.description).toMatch(/STRICT/);
    });

    it("passes a STRICT PeerAuthentication", async () => {
        expect(await violationsOf(meshMtlsStrict, PEER_AUTHENTICATION, compliantPeerAuthentication())).toEqual([]);
    });

    it.each(["PERMISSIVE", "DISABLE"])("reports mtls.mode %s, naming the URN and the type", async (mode) => {
        const pa = compliantPeerAuthentication();
        pa.spec.mtls = { mode };
        expect(await violationsOf(meshMtlsStrict, PEER_AUTHENTICATION, pa)).toEqual([
            `${URN} (${PEER_AUTHENTICATION}): mtls.mode is ${mode}; the platform requires STRICT`,
        ]);
    });

    it.each([
        ["explicitly UNSET", { mode: "UNSET" }],
        ["without a mode", {}],
        ["without mtls", undefined],
    ])("reports a PeerAuthentication %s as UNSET", async (_label, mtls) => {
        const pa = compliantPeerAuthentication();
        pa.spec.mtls = mtls;
        expect(await violationsOf(meshMtlsStrict, PEER_AUTHENTICATION, pa)).toEqual([expect.stringContaining("mtls.mode is UNSET")]);
    });

    it("checks the v1beta1 API too", async () => {
        const type = "kubernetes:security.istio.io/v1beta1:PeerAuthentication";
        const pa = compliantPeerAuthentication();
        pa.spec.mtls = { mode: "PERMISSIVE" };
        expect(await violationsOf(meshMtlsStrict, type, pa)).toEqual([expect.stringContaining(`(${type}): mtls.mode is PERMISSIVE`)]);
    });

    it("allows plaintext on a metrics port", async () => {
        const pa = workloadPeerAuthentication();
        pa.spec.portLevelMtls = { "15692": { mode: "PERMISSIVE" } };
        expect(await violationsOf(meshMtlsStrict, PEER_AUTHENTICATION, pa)).toEqual([]);
    });

    it.each(["PERMISSIVE", "DISABLE"])("reports %s on an application port", async (mode) => {
        const pa = workloadPeerAuthentication();
        pa.spec.portLevelMtls = { "15692": { mode: "PERMISSIVE" }, "8080": { mode } };
        expect(await violationsOf(meshMtlsStrict, PEER_AUTHENTICATION, pa)).toEqual([
            `${URN} (${PEER_AUTHENTICATION}): port 8080 is ${mode}; only ports ${DEFAULT_MTLS.plaintextPorts.join(", ")} may accept plaintext`,
        ]);
    });

    it("reports a port-level setting without a mode", async () => {
        const pa = workloadPeerAuthentication();
        pa.spec.portLevelMtls = { "8080": {} };
        expect(await violationsOf(meshMtlsStrict, PEER_AUTHENTICATION, pa)).toEqual([expect.stringContaining("port 8080 is UNSET")]);
    });

    it("passes STRICT on any port", async () => {
        const pa = workloadPeerAuthentication();
        pa.spec.portLevelMtls = { "8080": { mode: "STRICT" } };
        expect(await violationsOf(meshMtlsStrict, PEER_AUTHENTICATION, pa)).toEqual([]);
    });

    it("honours plaintextPorts from config", async () => {
        const config = { plaintextPorts: [8080] };
        const pa = workloadPeerAuthentication();
        pa.spec.portLevelMtls = { "8080": { mode: "PERMISSIVE" } };
        expect(await violationsOf(meshMtlsStrict, PEER_AUTHENTICATION, pa, "subject", { config })).toEqual([]);
        pa.spec.portLevelMtls = { "15692": { mode: "PERMISSIVE" } };
        expect(await violationsOf(meshMtlsStrict, PEER_AUTHENTICATION, pa, "subject", { config })).toEqual([
            expect.stringContaining("port 15692 is PERMISSIVE; only ports 8080 may accept plaintext"),
        ]);
    });

    it("ignores other types", async () => {
        const dr = { spec: { mtls: { mode: "PERMISSIVE" }, trafficPolicy: { tls: { mode: "DISABLE" } } } };
        expect(await violationsOf(meshMtlsStrict, "kubernetes:networking.istio.io/v1:DestinationRule", dr)).toEqual([]);
    });
});

describe("mesh-wide-strict-mtls", () => {
    const istiod = (chart = "istiod"): StackResource => ({ type: CHART, name: "mesh-istiod", props: { chart, namespace: "istio-system" } });
    const meshWide = (pa = compliantPeerAuthentication()): StackResource => ({ type: PEER_AUTHENTICATION, name: "mesh-strict-mtls", props: pa });
    const MISSING = 'the environment runs istiod but has no mesh-wide PeerAuthentication "default" in istio-system';

    it("is mandatory and named in kebab-case", () => {
        expect(meshWideStrictMtls.name).toBe("mesh-wide-strict-mtls");
        expect(meshWideStrictMtls.enforcementLevel).toBe("mandatory");
        expect(meshWideStrictMtls.description).toMatch(/mesh-wide PeerAuthentication/);
    });

    it("passes an environment that runs istiod with a STRICT mesh-wide PeerAuthentication", async () => {
        expect(await stackViolationsOf(meshWideStrictMtls, [istiod(), meshWide()])).toEqual([]);
    });

    it("asks nothing of an environment without istiod", async () => {
        const base: StackResource = { type: CHART, name: "mesh-base", props: { chart: "base" } };
        expect(await stackViolationsOf(meshWideStrictMtls, [])).toEqual([]);
        expect(await stackViolationsOf(meshWideStrictMtls, [base])).toEqual([]);
    });

    it.each([
        ["by name", "istiod"],
        ["from an unpacked mirror directory", "/x/istiod"],
        ["from a packaged mirror directory", "/mirror/charts/istiod-1.30.3.tgz"],
        ["from an OCI mirror", "oci://registry.example.com/charts/istiod"],
    ])("reports istiod %s without a mesh-wide PeerAuthentication", async (_label, chart) => {
        expect(await stackViolationsOf(meshWideStrictMtls, [istiod(chart)])).toEqual([MISSING]);
    });

    it("does not take another chart whose name ends in istiod for istiod", async () => {
        expect(await stackViolationsOf(meshWideStrictMtls, [istiod("not-istiod")])).toEqual([]);
    });

    it("does not count a PeerAuthentication with a selector as mesh-wide", async () => {
        const pa = compliantPeerAuthentication();
        pa.spec.selector = { matchLabels: { app: "api" } };
        expect(await stackViolationsOf(meshWideStrictMtls, [istiod(), meshWide(pa)])).toEqual([MISSING]);
    });

    it.each([
        ["name", { name: "strict" }],
        ["namespace", { namespace: "apps" }],
    ])("does not count a PeerAuthentication with another %s as mesh-wide", async (_label, metadata) => {
        const pa = compliantPeerAuthentication();
        pa.metadata = { ...pa.metadata, ...metadata };
        expect(await stackViolationsOf(meshWideStrictMtls, [istiod(), meshWide(pa)])).toEqual([MISSING]);
    });

    it("reports a PERMISSIVE mesh-wide PeerAuthentication, naming its URN", async () => {
        const pa = compliantPeerAuthentication();
        pa.spec.mtls = { mode: "PERMISSIVE" };
        expect(await stackViolationsOf(meshWideStrictMtls, [istiod(), meshWide(pa)])).toEqual([
            `urn:pulumi:test::platform::${PEER_AUTHENTICATION}::mesh-strict-mtls: the mesh-wide PeerAuthentication is not STRICT`,
        ]);
    });

    it("honours rootNamespace from config", async () => {
        const config = { rootNamespace: "mesh-root" };
        const pa = compliantPeerAuthentication();
        pa.metadata = { ...pa.metadata, namespace: "mesh-root" };
        expect(await stackViolationsOf(meshWideStrictMtls, [istiod(), meshWide(pa)], { config })).toEqual([]);
        expect(await stackViolationsOf(meshWideStrictMtls, [istiod(), meshWide()], { config })).toEqual([
            'the environment runs istiod but has no mesh-wide PeerAuthentication "default" in mesh-root',
        ]);
    });
});
