/**
 * `platform:manager`: the environment manager, only on the local and review
 * templates, with the component's own rules for its image and replicas.
 */
import { describe, expect, it } from "vitest";

import { AZURE_DEV_CONFIG, configErrorOf, LOCAL_CONFIG } from "../test/helpers/config-fixtures";
import { EnvironmentConfig, loadEnvironmentConfig, parseEnvironmentConfig } from "./config";

const DIGEST = `sha256:${"ab".repeat(32)}`;
const IMAGE = `registry.example.com/platform/manager@${DIGEST}`;
const REVIEW_CONFIG = { ...LOCAL_CONFIG, template: "review", name: "review-42", plannedDestruction: new Date(Date.now() + 86_400_000).toISOString().slice(0, 10) };
/** The config as the engine passes it (`platform:` keys, maps as JSON). */
/** The parsed setting, on a config of either kind (the cloud kind has none). */
const managerOf = (config: EnvironmentConfig) => ("manager" in config ? config.manager : undefined);
const asStack = (raw: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(raw).map(([k, v]) => [`platform:${k}`, typeof v === "object" ? JSON.stringify(v) : String(v)]));

describe("platform:manager", () => {
    it("is accepted by the local and review templates, as a map or as the JSON Pulumi passes", () => {
        expect(managerOf(parseEnvironmentConfig({ ...LOCAL_CONFIG, manager: { image: IMAGE } }))).toEqual({ image: IMAGE });
        expect(managerOf(parseEnvironmentConfig({ ...REVIEW_CONFIG, manager: JSON.stringify({ image: IMAGE, replicas: 3 }) }))).toEqual({ image: IMAGE, replicas: 3 });
        expect(managerOf(parseEnvironmentConfig(LOCAL_CONFIG))).toBeUndefined();
    });

    it("is refused by the cloud templates, naming the setting", () => {
        expect(configErrorOf({ ...AZURE_DEV_CONFIG, manager: { image: IMAGE } })).toContain("platform:manager: does not apply to the dev template");
    });

    it("takes Pulumi.yaml's default {} as not set, on every template (a cloud stack is passed it too)", () => {
        for (const raw of [LOCAL_CONFIG, AZURE_DEV_CONFIG]) {
            const config = loadEnvironmentConfig({ ...asStack(raw), "platform:manager": "{}" });
            expect(Object.keys(config)).not.toContain("manager");
        }
        // chartValues' {} is still a value of its own (an empty map).
        expect(loadEnvironmentConfig({ ...asStack(LOCAL_CONFIG), "platform:chartValues": "{}" }).chartValues).toEqual({});
    });

    it.each<[string, unknown, string]>([
        ["a tag", { image: "registry.example.com/platform/manager:1.2.3" }, 'platform:manager["image"]: allowed: an image pinned by digest, registry/repository@sha256:<64 lower-case hex digits>, no tag (got "registry.example.com/platform/manager:1.2.3")'],
        ["a tag and a digest", { image: `registry.example.com/platform/manager:1.2.3@${DIGEST}` }, 'platform:manager["image"]: allowed: an image pinned by digest'],
        ["no image", { replicas: 2 }, 'platform:manager["image"]: allowed: an image pinned by digest, registry/repository@sha256:<64 lower-case hex digits>, no tag (it is required)'],
        ["0 replicas", { image: IMAGE, replicas: 0 }, 'platform:manager["replicas"]: allowed: a whole number from 1 to 5 (got 0)'],
        ["6 replicas", { image: IMAGE, replicas: 6 }, 'platform:manager["replicas"]: allowed: a whole number from 1 to 5 (got 6)'],
        ["replicas as text", { image: IMAGE, replicas: "2" }, 'platform:manager["replicas"]: allowed: a whole number from 1 to 5 (got "2")'],
        ["an unknown key", { image: IMAGE, replica: 2 }, 'platform:manager["replica"]: is not a key of the setting; allowed: image, replicas'],
        ["text", "registry.example.com/platform/manager:1", "platform:manager: must be a map {\"image\": "],
        ["a list", [IMAGE], "platform:manager: must be a map {\"image\": "],
    ])("refuses %s, naming the setting and what is allowed", (_, manager, message) => {
        expect(configErrorOf({ ...LOCAL_CONFIG, manager })).toContain(message);
    });
});
