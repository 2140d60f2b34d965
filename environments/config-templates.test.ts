/** The stack config typed per template: what each kind of template takes, and what it refuses. */
import * as os from "node:os";
import * as path from "node:path";

import { describe, expect, expectTypeOf, it } from "vitest";

import { AZURE_DEV_CONFIG, configErrorOf, LOCAL_CONFIG } from "../test/helpers/config-fixtures";
import { AKS_LOCATIONS } from "../components/cluster/aks-locations";
import { EKS_REGIONS } from "../components/cluster/eks-args";
import {
    CLOUD_REGIONS,
    CloudEnvironmentConfig,
    CONFIG_KEYS,
    isCloudConfig,
    loadEnvironmentConfig,
    parseEnvironmentConfig,
    PROJECT_ROOT,
    renderDirectoryProblem,
    settingsOf,
} from "./config";
import { ENVIRONMENT_TEMPLATES } from "./template-registry";

const local = LOCAL_CONFIG;
const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
const review = { ...local, template: "review", name: "review-42", plannedDestruction: inDays(5) };
const dev = AZURE_DEV_CONFIG;
const awsDev = { ...dev, cloud: "aws", region: "eu-west-1", clusterAdmins: "arn:aws:iam::111122223333:role/platform-admins" };

const CLOUD_ONLY = ["cloud", "region", "clusterAdmins", "ingressDomain", "acmeEmail", "networkCidr", "serviceCidr", "nodeMin", "nodeMax"];
const LOCAL_ONLY = ["kubeContext", "renderDirectory", "vaultAddress", "consulAddress"];
/** A value each setting would accept on a template that takes it. */
const SAMPLE: Record<string, string> = {
    cloud: "azure",
    region: "westeurope",
    clusterAdmins: "7f3c2a10-5b1e-4d8a-9c3f-2e6b8a1d4f90",
    ingressDomain: "dev.example.com",
    acmeEmail: "team@example.com",
    networkCidr: "10.40.0.0/16",
    serviceCidr: "10.0.0.0/16",
    nodeMin: "3",
    nodeMax: "6",
    kubeContext: "kind-platform",
    renderDirectory: "rendered",
    vaultAddress: "http://127.0.0.1:8200",
    consulAddress: "https://127.0.0.1:8501",
};
const listed = (template: (typeof ENVIRONMENT_TEMPLATES)[number]) => settingsOf(template).map((k) => `platform:${k}`).join(", ");

const errorOf = configErrorOf;

describe("settings per kind of template", () => {
    it("gives local and review the settings of an existing cluster, the cloud templates those of a cloud, and every key to one of them", () => {
        for (const t of ["local", "review"] as const) {
            expect(settingsOf(t)).toEqual(expect.arrayContaining(LOCAL_ONLY));
            expect(settingsOf(t).filter((k) => CLOUD_ONLY.includes(k))).toEqual([]);
        }
        for (const t of ["dev", "staging", "prod"] as const) {
            expect(settingsOf(t)).toEqual(expect.arrayContaining(CLOUD_ONLY));
            expect(settingsOf(t).filter((k) => LOCAL_ONLY.includes(k))).toEqual([]);
        }
        expect(new Set(ENVIRONMENT_TEMPLATES.flatMap(settingsOf))).toEqual(new Set(CONFIG_KEYS));
        expect(settingsOf("local").slice(0, 2)).toEqual(["template", "name"]);
    });

    it("refuses every cloud setting on local and review, naming the key, the template and its settings", () => {
        for (const base of [local, review]) {
            for (const key of CLOUD_ONLY) {
                const message = errorOf({ ...base, [key]: SAMPLE[key] });
                expect(message, `${key} on ${base.template}`).toContain(
                    `platform:${key}: does not apply to the ${base.template} template; its settings are: ${listed(base.template === "local" ? "local" : "review")} (got ${JSON.stringify(SAMPLE[key])})`,
                );
            }
        }
        expect(errorOf({ ...local, nodeMin: "3" })).toMatch(/^invalid stack configuration:\n {2}- platform:nodeMin: does not apply to the local template; its settings are: platform:template, platform:name, /);
    });

    it("refuses the settings of an existing cluster on dev, staging and prod (Vault's and Consul's addresses, the context, the render directory)", () => {
        for (const template of ["dev", "staging", "prod"] as const) {
            const base = { ...dev, template, name: template };
            for (const key of LOCAL_ONLY) {
                expect(errorOf({ ...base, [key]: SAMPLE[key] }), `${key} on ${template}`).toContain(
                    `platform:${key}: does not apply to the ${template} template; its settings are: ${listed(template)} (got ${JSON.stringify(SAMPLE[key])})`,
                );
            }
        }
    });

    it("still takes each kind's own settings", () => {
        expect(parseEnvironmentConfig({ ...local, kubeContext: "kind-x", vaultAddress: SAMPLE.vaultAddress, consulAddress: SAMPLE.consulAddress, protect: "true" })).toMatchObject({
            kubeContext: "kind-x",
            protect: true,
        });
        expect(parseEnvironmentConfig({ ...dev, nodeMin: "3", nodeMax: "6", networkCidr: "10.40.0.0/16", protect: "false" })).toMatchObject({ nodeMin: 3, nodeMax: 6, protect: false });
        // Planned destruction, as before: allowed everywhere, required (within 30 days) on review.
        expect(parseEnvironmentConfig({ ...dev, plannedDestruction: inDays(60) })).toMatchObject({ plannedDestruction: inDays(60) });
        expect(errorOf({ ...review, plannedDestruction: undefined })).toContain("platform:plannedDestruction: it is required for the review template");
    });

    it("suggests the template's own key for a misspelling first, and says when the closest key is of the other kind", () => {
        expect(errorOf({ ...dev, regoin: "westeurope" })).toContain(`platform:regoin: is not a setting; did you mean platform:region? allowed: ${listed("dev")}`);
        expect(errorOf({ ...local, nodemin: "3" })).toContain(
            `platform:nodemin: is not a setting; did you mean platform:nodeMin? It does not apply to the local template, though; allowed: ${listed("local")}`,
        );
        expect(errorOf({ ...dev, vaultAdress: "http://x" })).toContain("did you mean platform:vaultAddress? It does not apply to the dev template, though; ");
        // Never the value of a key that is not a setting (it may be a secret).
        expect(errorOf({ ...local, nodemin: "s3cr3t" })).not.toContain("s3cr3t");
    });

    it("still names the other problems of a config whose template is unknown, against every key", () => {
        const message = errorOf({ ...local, template: "qa", owner: "bob", nodeMin: "0", costCentre: "x" });
        expect(message).toContain('platform:template: allowed: local, review, dev, staging, prod (got "qa")');
        expect(message).toContain('platform:owner: must be an email address (got "bob")');
        expect(message).toContain('platform:nodeMin: must be a whole number from 1 to 100 (got "0")');
        expect(message).toContain(`platform:costCentre: is not a setting; did you mean platform:costCenter? allowed: ${CONFIG_KEYS.map((k) => `platform:${k}`).join(", ")}`);
    });

    it("types a cloud config's required settings as present: cloud code reads them without `!`", () => {
        const config = parseEnvironmentConfig(dev);
        expect(isCloudConfig(config)).toBe(true);
        expect(isCloudConfig(parseEnvironmentConfig(local))).toBe(false);
        if (isCloudConfig(config)) {
            expectTypeOf(config.region).toEqualTypeOf<string>();
            expectTypeOf(config.clusterAdmins).toEqualTypeOf<string[]>();
            expectTypeOf(config.cloud).toEqualTypeOf<"azure" | "aws">();
            expectTypeOf(config.template).toEqualTypeOf<"dev" | "staging" | "prod">();
            expect(config).toMatchObject({ region: "westeurope", acmeEmail: "team@example.com" } satisfies Partial<CloudEnvironmentConfig>);
        }
    });

    it("loads a local stack with Pulumi.yaml's empty defaults for the cloud keys (empty means not set)", () => {
        const empty = Object.fromEntries([...CLOUD_ONLY, "kubeContext", "renderDirectory", "vaultAddress", "consulAddress"].map((k) => [`platform:${k}`, ""]));
        const stack = Object.fromEntries(Object.entries(local).map(([k, v]) => [`platform:${k}`, v]));
        expect(loadEnvironmentConfig({ ...empty, ...stack })).toMatchObject({ template: "local", renderDirectory: "rendered" });
        const cloudStack = Object.fromEntries(Object.entries(dev).map(([k, v]) => [`platform:${k}`, v]));
        expect(loadEnvironmentConfig({ ...empty, ...cloudStack, "platform:kubernetesTarget": "auto" })).not.toHaveProperty("renderDirectory");
    });
});

describe("regions: the cluster components' own lists", () => {
    it("is one list per cloud, the one AksCluster and EksCluster check", () => {
        expect(CLOUD_REGIONS.azure).toBe(AKS_LOCATIONS);
        expect(CLOUD_REGIONS.aws).toBe(EKS_REGIONS);
    });

    it("refuses westus3, which AKS is not run in here, and takes every region the component does", () => {
        expect(errorOf({ ...dev, region: "westus3" })).toContain(`platform:region: allowed for azure: ${AKS_LOCATIONS.join(", ")} (got "westus3")`);
        for (const region of AKS_LOCATIONS) {
            expect(parseEnvironmentConfig({ ...dev, region }), region).toMatchObject({ region });
        }
        for (const region of EKS_REGIONS) {
            expect(parseEnvironmentConfig({ ...awsDev, region }), region).toMatchObject({ region });
        }
    });

    it("refuses a service range on aws, where EKS would ignore it", () => {
        expect(errorOf({ ...awsDev, serviceCidr: "10.0.0.0/16" })).toContain(
            'platform:serviceCidr: does not apply on aws (EKS chooses its own service range); it is an azure (AKS) setting (got "10.0.0.0/16")',
        );
    });
});

describe("the render directory: inside the repository or the temporary directory", () => {
    const tmp = os.tmpdir();

    it("takes a folder of the repository, relative or absolute, and one in the temporary directory (the engine tests' project copies render there)", () => {
        for (const dir of ["rendered", "out/rendered", "./rendered", "rendered/../out", path.join(PROJECT_ROOT, "rendered"), path.join(tmp, "platform-engine-x", "rendered"), tmp]) {
            expect(renderDirectoryProblem(dir), dir).toBeUndefined();
            expect(parseEnvironmentConfig({ ...local, renderDirectory: dir }), dir).toMatchObject({ renderDirectory: dir });
        }
    });

    it("refuses a path outside both, naming the key and the value", () => {
        const allowed = `must be inside the repository (a relative path such as rendered) or the temporary directory ${tmp}`;
        const outside = ["../x", "rendered/../../x", "/etc/platform", path.dirname(PROJECT_ROOT), `${PROJECT_ROOT}-other/rendered`];
        // (Were the repository itself in the temporary directory, its neighbours would be allowed.)
        for (const dir of outside.filter((d) => !path.resolve(PROJECT_ROOT, d).startsWith(tmp))) {
            expect(errorOf({ ...local, renderDirectory: dir }), dir).toContain(`platform:renderDirectory: ${allowed} (got ${JSON.stringify(dir)})`);
        }
        expect(errorOf({ ...review, renderDirectory: "/etc/platform" })).toContain("platform:renderDirectory: must be inside the repository");
        // A folder named like `..x` is still inside.
        expect(renderDirectoryProblem("..rendered")).toBeUndefined();
    });
});
