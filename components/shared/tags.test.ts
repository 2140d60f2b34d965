import { describe, expect, it } from "vitest";

import { TEST_CLOUD_TAGS, TEST_TAGS as tags } from "../../test/helpers/component";
import { cloudTags, LABEL_KEYS, standardLabels, toLabelValue } from "./tags";

describe("cloudTags", () => {
    it("carries every required tag", () => {
        expect(cloudTags(tags)).toEqual(TEST_CLOUD_TAGS);
    });

    it("keeps extra tags but never lets them override a required one", () => {
        const result = cloudTags(tags, { owner: "someone-else", "managed-by": "terraform", purpose: "cache" });
        expect(result.owner).toBe("team@example.com");
        expect(result["managed-by"]).toBe("pulumi");
        expect(result.purpose).toBe("cache");
    });
});

describe("standardLabels", () => {
    it("turns tags into valid label values", () => {
        const labels = standardLabels(tags, { name: "vault", instance: "vault-dev", component: "secrets" });
        expect(labels[LABEL_KEYS.owner]).toBe("team_at_example.com");
        expect(labels[LABEL_KEYS.managedBy]).toBe("pulumi");
        expect(labels[LABEL_KEYS.component]).toBe("secrets");
        for (const value of Object.values(labels)) {
            expect(value).toMatch(/^([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$/);
        }
    });

    it("lets required labels win over extra labels", () => {
        const labels = standardLabels(tags, { name: "x", instance: "x" }, { [LABEL_KEYS.environment]: "prod" });
        expect(labels[LABEL_KEYS.environment]).toBe("dev");
    });

    it("truncates and trims label values", () => {
        expect(toLabelValue("-".repeat(3) + "a".repeat(80))).toHaveLength(63);
        expect(toLabelValue("repo/with spaces/")).toBe("repo_with_spaces");
    });
});
