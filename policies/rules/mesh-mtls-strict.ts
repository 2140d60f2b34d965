import { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";

export const PEER_AUTHENTICATION_TYPES = new Set([
    "kubernetes:security.istio.io/v1:PeerAuthentication",
    "kubernetes:security.istio.io/v1beta1:PeerAuthentication",
]);

interface PeerAuthentication {
    metadata?: { name?: string; namespace?: string };
    spec?: { selector?: unknown; mtls?: { mode?: string }; portLevelMtls?: Record<string, { mode?: string }> };
}

export interface MtlsConfig {
    /** Ports that may accept plaintext (metrics scraped from outside the mesh). */
    plaintextPorts: number[];
    /** Root namespace of the mesh, where the mesh-wide policy lives. */
    rootNamespace: string;
}

export const DEFAULT_MTLS: MtlsConfig = { plaintextPorts: [15020, 15090, 15692, 9187], rootNamespace: "istio-system" };

/** No PeerAuthentication weakens mTLS: STRICT everywhere, plaintext only on the listed metrics ports. */
export const meshMtlsStrict: ResourceValidationPolicy = {
    name: "mesh-mtls-strict",
    description: "Istio PeerAuthentications keep mTLS STRICT; plaintext only on the listed metrics ports.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            plaintextPorts: { type: "array", items: { type: "integer" }, default: DEFAULT_MTLS.plaintextPorts },
            rootNamespace: { type: "string", default: DEFAULT_MTLS.rootNamespace },
        },
    },
    validateResource: (args, reportViolation) => {
        if (!PEER_AUTHENTICATION_TYPES.has(args.type)) {
            return;
        }
        const config = { ...DEFAULT_MTLS, ...args.getConfig<Partial<MtlsConfig>>() };
        const spec = (args.props as PeerAuthentication).spec ?? {};
        const mode = spec.mtls?.mode ?? "UNSET";
        if (mode !== "STRICT") {
            reportViolation(`${args.urn} (${args.type}): mtls.mode is ${mode}; the platform requires STRICT`);
        }
        for (const [port, setting] of Object.entries(spec.portLevelMtls ?? {})) {
            if (setting.mode !== "STRICT" && !config.plaintextPorts.includes(Number(port))) {
                reportViolation(
                    `${args.urn} (${args.type}): port ${port} is ${setting.mode ?? "UNSET"}; only ports ${config.plaintextPorts.join(", ")} may accept plaintext`,
                );
            }
        }
    },
};

/** An environment that runs istiod has a mesh-wide STRICT PeerAuthentication. */
export const meshWideStrictMtls: StackValidationPolicy = {
    name: "mesh-wide-strict-mtls",
    description: "An environment that runs Istio has a mesh-wide PeerAuthentication (default, in the root namespace) in STRICT mode.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { rootNamespace: { type: "string", default: DEFAULT_MTLS.rootNamespace } } },
    validateStack: (args, reportViolation) => {
        const config = { ...DEFAULT_MTLS, ...args.getConfig<Partial<MtlsConfig>>() };
        // The chart by name, a mirror's unpacked `<dir>/istiod` or its packaged `<dir>/istiod-<version>.tgz`.
        const runsIstio = args.resources.some(
            (r) => r.type === "kubernetes:helm.sh/v4:Chart" && /(^|\/)istiod(-[0-9.]+\.tgz)?$/.test(String((r.props as { chart?: string }).chart ?? "")),
        );
        if (!runsIstio) {
            return;
        }
        const meshWide = args.resources.find((r) => {
            const p = r.props as PeerAuthentication;
            return PEER_AUTHENTICATION_TYPES.has(r.type) && p.metadata?.name === "default" && p.metadata?.namespace === config.rootNamespace && !p.spec?.selector;
        });
        if (!meshWide) {
            reportViolation(`the environment runs istiod but has no mesh-wide PeerAuthentication "default" in ${config.rootNamespace}`);
        } else if ((meshWide.props as PeerAuthentication).spec?.mtls?.mode !== "STRICT") {
            reportViolation(`${meshWide.urn}: the mesh-wide PeerAuthentication is not STRICT`);
        }
    },
};
