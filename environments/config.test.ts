import * as fs from "node:fs";
import * as path from "node:path";

import { describe, expect, it } from "vitest";
import { AZURE_DEV_CONFIG, configErrorOf, LOCAL_CONFIG } from "../test/helpers/config-fixtures";
import { parse } from "yaml";
import { z } from "zod";

import { REPO_ROOT } from "../test/helpers/engine";
import { setupMocks } from "../test/helpers/mocks";
import {
    CloudEnvironmentConfig,
    cloudConfigSchema,
    CONFIG_KEYS,
    ConfigError,
    isCloudConfig,
    loadEnvironmentConfig,
    LocalEnvironmentConfig,
    localConfigSchema,
    parseEnvironmentConfig,
    settingsOf,
} from "./config";
import { readStackFile } from "./stack-file";

const valid = LOCAL_CONFIG;

const azureDev = AZURE_DEV_CONFIG;

/** A config of a cloud template, parsed (its cloud settings then type as present). */
function parseCloud(raw: Record<string, unknown>): CloudEnvironmentConfig {
    const config = parseEnvironmentConfig(raw);
    if (!isCloudConfig(config)) {
        throw new Error(`expected a cloud template, got ${config.template}`);
    }
    return config;
}

function parseLocal(raw: Record<string, unknown>): LocalEnvironmentConfig {
    const config = parseEnvironmentConfig(raw);
    if (isCloudConfig(config)) {
        throw new Error(`expected a local or review template, got ${config.template}`);
    }
    return config;
}

const errorOf = configErrorOf;

describe("parseEnvironmentConfig", () => {
    it("accepts a valid config and applies defaults", () => {
        const config = parseLocal(valid);
        expect(config.kubernetesTarget).toBe("auto");
        expect(config.renderDirectory).toBe("rendered");
    });

    it("names the key, the bad value and the allowed values for an unknown template", () => {
        expect(errorOf({ ...valid, template: "qa" })).toContain('platform:template: allowed: local, review, dev, staging, prod (got "qa")');
    });

    it("rejects a missing owner", () => {
        const { owner: _owner, ...rest } = valid;
        expect(errorOf(rest)).toContain("platform:owner: it is required (it is not set)");
    });

    it("rejects a malformed email", () => {
        expect(errorOf({ ...valid, owner: "bob" })).toContain('platform:owner: must be an email address (got "bob")');
    });

    it("rejects a malformed cost centre", () => {
        expect(errorOf({ ...valid, costCenter: "marketing" })).toMatch(/platform:costCenter: must look like ABC-1234/);
    });

    it("rejects an unknown kubernetes target", () => {
        expect(errorOf({ ...valid, kubernetesTarget: "cloud" })).toContain(
            'platform:kubernetesTarget: allowed: auto, apply, render (got "cloud")',
        );
    });

    it("rejects an unparseable planned destruction date", () => {
        expect(errorOf({ ...valid, plannedDestruction: "next week" })).toContain(
            'platform:plannedDestruction: must be a date as YYYY-MM-DD (got "next week")',
        );
    });

    it("lists every problem at once", () => {
        const message = errorOf({ ...valid, owner: "bob", costCenter: "x" });
        expect(message).toContain("platform:owner");
        expect(message).toContain("platform:costCenter");
    });

    describe("cloud templates", () => {
        const dev = {
            ...azureDev,
            cloud: "aws",
            region: "eu-west-1",
            clusterAdmins: "arn:aws:iam::111122223333:role/admins, arn:aws:iam::111122223333:role/oncall",
        };

        it("accepts a complete dev config and splits the admin list", () => {
            expect(parseCloud(dev).clusterAdmins).toEqual([
                "arn:aws:iam::111122223333:role/admins",
                "arn:aws:iam::111122223333:role/oncall",
            ]);
        });

        it("names every key a cloud template requires", () => {
            const message = errorOf({ ...valid, template: "staging", name: "staging" });
            for (const key of ["cloud", "region", "clusterAdmins", "ingressDomain", "acmeEmail"]) {
                expect(message).toContain(`platform:${key}: it is required for the staging template`);
            }
        });

        it("rejects an unknown cloud and a region of another cloud", () => {
            expect(errorOf({ ...dev, cloud: "gcp" })).toContain('platform:cloud: allowed: azure, aws (got "gcp")');
            expect(errorOf({ ...dev, region: "westeurope" })).toContain(
                'platform:region: allowed for aws: eu-central-1, eu-west-1, eu-north-1, us-east-1, us-east-2, us-west-2 (got "westeurope")',
            );
        });

        it("rejects a malformed ingress domain and an empty admin list", () => {
            expect(errorOf({ ...dev, ingressDomain: "https://dev.example.com" })).toContain("platform:ingressDomain: must be a DNS domain");
            expect(errorOf({ ...dev, clusterAdmins: " , " })).toContain("platform:clusterAdmins: must name at least one administrator");
        });

        it("refuses render mode for a cloud cluster", () => {
            expect(errorOf({ ...dev, kubernetesTarget: "render" })).toContain("platform:kubernetesTarget: allowed for the dev template: auto, apply");
        });
    });

    describe("names, dates, networks, nodes and protection", () => {
        const dev = azureDev;
        const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

        it("refuses a name its template does not make", () => {
            expect(errorOf({ ...dev, name: "qa" })).toContain('platform:name: unknown environment name for the dev template; allowed: dev or dev-<suffix> (got "qa")');
            expect(errorOf({ ...valid, template: "review", name: "feature-x", plannedDestruction: inDays(3) })).toContain("allowed: review-<id>");
            expect(parseEnvironmentConfig({ ...dev, name: "dev-eu" }).name).toBe("dev-eu");
        });

        it("requires a planned destruction date for review environments, within 30 days, not in the past", () => {
            const review = { ...valid, template: "review", name: "review-42" };
            expect(errorOf(review)).toContain("platform:plannedDestruction: it is required for the review template");
            expect(errorOf({ ...review, plannedDestruction: "2020-01-01" })).toMatch(/platform:plannedDestruction: is in the past \(today is \d{4}-\d{2}-\d{2}\) \(got "2020-01-01"\)/);
            expect(errorOf({ ...review, plannedDestruction: inDays(45) })).toContain("is more than 30 days away");
            expect(errorOf({ ...review, plannedDestruction: "2026-02-30" })).toContain("platform:plannedDestruction: must be a date as YYYY-MM-DD");
            expect(parseEnvironmentConfig({ ...review, plannedDestruction: inDays(7) }).plannedDestruction).toBe(inDays(7));
        });

        it("refuses a malformed network and overlapping service addresses", () => {
            expect(errorOf({ ...dev, networkCidr: "10.40.0.0/24" })).toContain("platform:networkCidr: must be an IPv4 /16 network");
            expect(errorOf({ ...dev, networkCidr: "10.40.0.300/16" })).toContain("platform:networkCidr");
            expect(errorOf({ ...dev, networkCidr: "10.40.0.0/16", serviceCidr: "10.40.128.0/17" })).toContain(
                "platform:serviceCidr: overlaps platform:networkCidr (10.40.0.0/16); the ranges must be disjoint",
            );
            expect(parseCloud({ ...dev, networkCidr: "10.40.0.0/16", serviceCidr: "10.0.0.0/16" }).serviceCidr).toBe("10.0.0.0/16");
        });

        it("refuses node counts out of range or crossed", () => {
            expect(errorOf({ ...dev, nodeMin: "0" })).toContain('platform:nodeMin: must be a whole number from 1 to 100 (got "0")');
            expect(errorOf({ ...dev, nodeMax: "500" })).toContain('platform:nodeMax: must be a whole number from 1 to 100 (got "500")');
            expect(errorOf({ ...dev, nodeMin: "2.5" })).toContain('platform:nodeMin: must be a whole number from 1 to 100 (got "2.5")');
            expect(errorOf({ ...dev, nodeMin: "6", nodeMax: "3" })).toContain("platform:nodeMin: must not exceed platform:nodeMax (3)");
            expect(parseEnvironmentConfig({ ...dev, nodeMin: "3", nodeMax: "9" })).toMatchObject({ nodeMin: 3, nodeMax: 9 });
        });

        it("checks node counts against what the template fills in", () => {
            // dev's profile starts at 2 nodes: a lone nodeMax of 1 would fail in the cluster component.
            expect(errorOf({ ...dev, nodeMax: "1" })).toContain("platform:nodeMax: is below the dev template's minimum of 2 nodes; set platform:nodeMin too");
            expect(parseEnvironmentConfig({ ...dev, nodeMin: "1", nodeMax: "1" })).toMatchObject({ nodeMin: 1, nodeMax: 1 });
            const prod = { ...dev, template: "prod", name: "prod" };
            expect(errorOf({ ...prod, nodeMin: "1" })).toContain("platform:nodeMin: prod runs at least 2 nodes; allowed: 2 to 100");
            expect(parseEnvironmentConfig({ ...prod, nodeMin: "2" })).toMatchObject({ nodeMin: 2 });
        });

        it("refuses prod without protection", () => {
            const prod = { ...dev, template: "prod", name: "prod", ingressDomain: "example.com" };
            expect(errorOf({ ...prod, protect: "false" })).toContain("platform:protect: prod must protect its stateful resources; allowed: true (or unset)");
            expect(errorOf({ ...dev, protect: "yes" })).toContain('platform:protect: allowed: true, false (got "yes")');
            expect(parseEnvironmentConfig({ ...prod, protect: "true" }).protect).toBe(true);
        });
    });
});

const awsDev = { ...azureDev, cloud: "aws", region: "eu-west-1", clusterAdmins: "arn:aws:iam::111122223333:role/platform-admins" };
/** What a local stack may set (`valid` is local). */
const ALLOWED_KEYS = `allowed: ${settingsOf("local").map((k) => `platform:${k}`).join(", ")}`;

describe("unknown keys in the platform namespace", () => {
    it("refuses a misspelt key, suggesting the closest known one and listing what is allowed", () => {
        const message = errorOf({ ...valid, costCentre: "PLT-0001" });
        expect(message).toContain(`platform:costCentre: is not a setting; did you mean platform:costCenter? ${ALLOWED_KEYS}`);
        expect(errorOf({ ...valid, kubernetesTarge: "render" })).toContain("platform:kubernetesTarge: is not a setting; did you mean platform:kubernetesTarget? allowed: ");
        expect(errorOf({ ...valid, nodemin: "3" })).toContain("did you mean platform:nodeMin?");
        expect(errorOf({ ...valid, regoin: "westeurope" })).toContain("did you mean platform:region?");
    });

    it("suggests nothing when no known key is close, and never shows the value (it may be a secret)", () => {
        const message = errorOf({ ...valid, team: "s3cr3t-value" });
        expect(message).toContain(`platform:team: is not a setting; ${ALLOWED_KEYS}`);
        expect(message).not.toContain("did you mean");
        expect(message).not.toContain("s3cr3t-value");
    });

    it("names every unknown key, alongside the other problems", () => {
        const message = errorOf({ ...valid, owner: "bob", costCentre: "x", protection: "true" });
        expect(message).toContain("platform:costCentre: is not a setting; did you mean platform:costCenter?");
        expect(message).toContain("platform:protection: is not a setting; did you mean platform:protect?");
        expect(message).toContain('platform:owner: must be an email address (got "bob")');
    });
});

describe("loadEnvironmentConfig reads every key of the stack (pulumi.runtime.allConfig under the test mocks)", () => {
    const stackConfig = (config: Record<string, string>) => Object.fromEntries(Object.entries(config).map(([k, v]) => [`platform:${k}`, v]));

    it("loads the platform keys, leaves other namespaces alone and reads '' as not set", async () => {
        await setupMocks({
            stack: "local",
            config: { ...stackConfig(valid), "platform:name": "", "platform:kubeContext": "", "kubernetes:context": "kind-x", "pulumi:disable-default-providers": '["*"]' },
        });
        const config = loadEnvironmentConfig();
        expect(config).toMatchObject({ template: "local", name: "local", costCenter: "PLT-0001" });
        expect(config).not.toHaveProperty("kubeContext");
    });

    it("refuses a misspelt key the stack carries, whatever its value ('' included)", async () => {
        await setupMocks({ stack: "local", config: { ...stackConfig(valid), "platform:kubernetesTarge": "render", "platform:costCentre": "" } });
        expect(() => loadEnvironmentConfig()).toThrow(ConfigError);
        expect(() => loadEnvironmentConfig()).toThrow("platform:kubernetesTarge: is not a setting; did you mean platform:kubernetesTarget?");
        expect(() => loadEnvironmentConfig()).toThrow("platform:costCentre: is not a setting; did you mean platform:costCenter?");
    });

    it("reads the keys in the older `platform:config:key` form the language host may pass", async () => {
        await setupMocks({ stack: "local", config: { ...stackConfig(valid), "platform:config:costCentre": "PLT-0001" } });
        expect(() => loadEnvironmentConfig()).toThrow("platform:costCentre: is not a setting");
    });

    it("rejects a bad config through runEnvironment without an unhandled rejection (no PromiseRejectionHandledWarning)", async () => {
        await setupMocks({ stack: "local", config: { ...stackConfig(valid), "platform:costCentre": "PLT-0001" } });
        const { runEnvironment } = await import("./index");
        const unhandled: unknown[] = [];
        const listener = (reason: unknown) => unhandled.push(reason);
        process.on("unhandledRejection", listener);
        try {
            const run = runEnvironment();
            // Pulumi awaits the program's promise only after an I/O turn: let one pass first.
            await new Promise((resolve) => setTimeout(resolve, 50));
            expect(unhandled).toEqual([]);
            await expect(run).rejects.toThrow("platform:costCentre: is not a setting");
            await expect(run).rejects.toBeInstanceOf(ConfigError);
        } finally {
            process.off("unhandledRejection", listener);
        }
    });
});

/** A config value as the engine passes it to the program: text as it is, a map (platform:chartValues) as JSON. */
const asPassed = (value: unknown): string => (typeof value === "object" && value !== null ? JSON.stringify(value) : String(value));

describe("Pulumi.yaml and the schema", () => {
    const project = parse(fs.readFileSync(path.join(__dirname, "..", "Pulumi.yaml"), "utf8")) as {
        config: Record<string, { type: string; default?: unknown }>;
    };
    const declared = Object.keys(project.config).filter((k) => k.startsWith("platform:"));

    it("declares exactly the keys the schema knows, and only in the platform namespace", () => {
        expect(Object.keys(project.config).filter((k) => !k.startsWith("platform:"))).toEqual([]);
        expect(declared.map((k) => k.replace(/^platform:/, "")).sort()).toEqual([...CONFIG_KEYS].sort());
    });

    it("declares every key as a string (platform:chartValues and platform:manager as maps), without a default exactly for the keys every template requires (name comes from the stack)", () => {
        const maps = ["platform:chartValues", "platform:manager"];
        for (const key of declared) {
            expect(project.config[key].type, key).toBe(maps.includes(key) ? "object" : "string");
        }
        for (const key of maps) {
            expect(project.config[key].default, key).toEqual({});
        }
        const withoutDefault = declared.filter((k) => project.config[k].default === undefined).map((k) => k.replace(/^platform:/, ""));
        const requires = (shape: Record<string, z.ZodType>, key: string) => key in shape && !shape[key].safeParse(undefined).success;
        const required = CONFIG_KEYS.filter((k) => k !== "name" && requires(localConfigSchema.shape, k) && requires(cloudConfigSchema.shape, k));
        expect(withoutDefault.sort()).toEqual(required.sort());
        // A key only some templates take has "" (not set) as its default: a default would be passed to every stack.
        // (A map's is {}, which the loader takes as not set: platform:manager is loaded with it below, on every stack.)
        for (const key of CONFIG_KEYS.filter((k) => (!(k in localConfigSchema.shape) || !(k in cloudConfigSchema.shape)) && !maps.includes(`platform:${k}`))) {
            expect(project.config[`platform:${key}`].default, key).toBe("");
        }
    });

    it("loads every committed stack (stacks/Pulumi.*.yaml) with Pulumi.yaml's defaults, as the engine passes them", () => {
        const stacksDir = path.join(__dirname, "..", "stacks");
        const files = fs.readdirSync(stacksDir).filter((f) => /^Pulumi\..+\.yaml$/.test(f));
        expect(files.length).toBeGreaterThanOrEqual(4);
        const defaults = Object.fromEntries(
            Object.entries(project.config).filter(([, d]) => d.default !== undefined).map(([k, d]) => [k, asPassed(d.default)]),
        );
        for (const file of files) {
            const stack = /^Pulumi\.(.+)\.yaml$/.exec(file)![1];
            // Read as the scripts read stack files: every value as the text Pulumi passes.
            const values = Object.fromEntries(Object.entries(readStackFile(REPO_ROOT, stack)?.config ?? {}).map(([k, v]) => [k, asPassed(v)]));
            expect(() => loadEnvironmentConfig({ ...defaults, "platform:name": stack, ...values }), file).not.toThrow();
        }
    });
});

describe("node counts, blank text, cluster admins per cloud, networks", () => {
    it("accepts only digits for node counts, from 1 to 100, in its own words", () => {
        for (const [key, value] of [["nodeMin", "0x10"], ["nodeMax", "1e1"], ["nodeMin", " 3 "], ["nodeMax", "three"], ["nodeMin", "-2"], ["nodeMax", "+4"], ["nodeMin", "2.0"]]) {
            const message = errorOf({ ...azureDev, [key]: value });
            expect(message).toContain(`platform:${key}: must be a whole number from 1 to 100 (got ${JSON.stringify(value)})`);
            expect(message).not.toContain("NaN");
        }
        expect(parseEnvironmentConfig({ ...azureDev, nodeMin: "1", nodeMax: "100" })).toMatchObject({ nodeMin: 1, nodeMax: 100 });
        expect(parseCloud({ ...azureDev, nodeMax: "010" }).nodeMax).toBe(10);
    });

    it("refuses a description or a repository of whitespace only, and trims them", () => {
        expect(errorOf({ ...valid, description: "   " })).toContain('platform:description: it is required (got "   ")');
        expect(errorOf({ ...valid, repository: " \t " })).toContain('platform:repository: it is required (got " \\t ")');
        expect(errorOf({ ...valid, description: ` ${"x".repeat(501)} ` })).toContain("platform:description: ");
        expect(parseEnvironmentConfig({ ...valid, description: "  dev box  ", repository: " platform-gitops " })).toMatchObject({
            description: "dev box",
            repository: "platform-gitops",
        });
    });

    it("refuses whitespace-only context, render directory, chart mirror and region", () => {
        for (const key of ["kubeContext", "renderDirectory", "chartMirror"]) {
            expect(errorOf({ ...valid, [key]: "  " }), key).toContain(`platform:${key}: it is required`);
        }
        expect(errorOf({ ...azureDev, region: " " })).toContain("platform:region: it is required");
    });

    it("requires Entra ID object ids on azure, naming the cloud and the bad entry", () => {
        const message = errorOf({ ...azureDev, clusterAdmins: "7f3c2a10-5b1e-4d8a-9c3f-2e6b8a1d4f90, platform-admins, arn:aws:iam::111122223333:role/admins" });
        expect(message).toContain(
            'platform:clusterAdmins: "platform-admins" is not an administrator on azure; allowed for azure: Entra ID object ids (GUIDs) such as 7f3c2a10-5b1e-4d8a-9c3f-2e6b8a1d4f90',
        );
        expect(message).toContain('platform:clusterAdmins: "arn:aws:iam::111122223333:role/admins" is not an administrator on azure');
        expect(message).not.toContain('"7f3c2a10-5b1e-4d8a-9c3f-2e6b8a1d4f90" is not');
        expect(errorOf({ ...azureDev, clusterAdmins: "7f3c2a10-5b1e-4d8a-9c3f-2e6b8a1d4f9" })).toContain("is not an administrator on azure");
        expect(parseCloud({ ...azureDev, clusterAdmins: "7F3C2A10-5B1E-4D8A-9C3F-2E6B8A1D4F90,11111111-2222-3333-4444-555555555555" }).clusterAdmins).toHaveLength(2);
    });

    it("requires IAM role ARNs on aws (what EksCluster accepts: no users, no other account shape)", () => {
        const allowed = "allowed for aws: IAM role ARNs, arn:aws:iam::<12-digit account>:role/<name>";
        expect(errorOf({ ...awsDev, clusterAdmins: "7f3c2a10-5b1e-4d8a-9c3f-2e6b8a1d4f90" })).toContain(
            `platform:clusterAdmins: "7f3c2a10-5b1e-4d8a-9c3f-2e6b8a1d4f90" is not an administrator on aws; ${allowed}`,
        );
        for (const bad of ["arn:aws:iam::111122223333:user/alice", "arn:aws:iam::11112222333:role/admins", "arn:aws-cn:iam::111122223333:role/admins", "arn:aws:iam::111122223333:role/", "admins"]) {
            expect(errorOf({ ...awsDev, clusterAdmins: bad })).toContain(`platform:clusterAdmins: "${bad}" is not an administrator on aws; ${allowed}`);
        }
        expect(parseCloud({ ...awsDev, clusterAdmins: "arn:aws:iam::111122223333:role/ops/platform-admins, arn:aws:iam::444455556666:role/break+glass" }).clusterAdmins).toHaveLength(2);
    });

    it("refuses networks written with leading zeros or inside 0.0.0.0/8, for both network settings", () => {
        expect(errorOf({ ...azureDev, networkCidr: "010.40.0.0/16" })).toContain(
            'platform:networkCidr: must be an IPv4 /16 network such as 10.40.0.0/16, written without leading zeros (got "010.40.0.0/16")',
        );
        expect(errorOf({ ...azureDev, networkCidr: "10.040.0.0/16" })).toContain("written without leading zeros");
        expect(errorOf({ ...azureDev, networkCidr: "10.40.0.0/016" })).toContain("written without leading zeros");
        expect(errorOf({ ...azureDev, networkCidr: "0.0.0.0/16" })).toContain(
            'platform:networkCidr: must be an IPv4 /16 network such as 10.40.0.0/16, outside 0.0.0.0/8 (reserved, not routable) (got "0.0.0.0/16")',
        );
        expect(errorOf({ ...azureDev, networkCidr: "0.16.0.0/16" })).toContain("outside 0.0.0.0/8");
        expect(errorOf({ ...azureDev, serviceCidr: "0.0.0.0/12" })).toContain(
            'platform:serviceCidr: must be an IPv4 network from /12 to /24 such as 10.0.0.0/16, outside 0.0.0.0/8 (reserved, not routable) (got "0.0.0.0/12")',
        );
        expect(errorOf({ ...azureDev, serviceCidr: "10.00.0.0/16" })).toContain("platform:serviceCidr: must be an IPv4 network from /12 to /24 such as 10.0.0.0/16, written without leading zeros");
        expect(parseEnvironmentConfig({ ...azureDev, networkCidr: "10.0.0.0/16", serviceCidr: "172.16.0.0/16" })).toMatchObject({ networkCidr: "10.0.0.0/16" });
        expect(parseCloud({ ...azureDev, networkCidr: "100.64.0.0/16" }).networkCidr).toBe("100.64.0.0/16");
    });
});
