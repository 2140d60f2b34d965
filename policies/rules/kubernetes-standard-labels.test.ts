import { describe, expect, it } from "vitest";

import { compliantLabels } from "../test/fixtures";
import { violationsOf } from "../test/validate";
import { kubernetesStandardLabels, REQUIRED_KUBERNETES_LABELS } from "./kubernetes-standard-labels";

const NAMESPACE = "kubernetes:core/v1:Namespace";

describe("kubernetes-standard-labels", () => {
    it("is mandatory and named in kebab-case", () => {
        expect(kubernetesStandardLabels.name).toBe("kubernetes-standard-labels");
        expect(kubernetesStandardLabels.enforcementLevel).toBe("mandatory");
    });

    it("passes an object with every standard label", async () => {
        expect(await violationsOf(kubernetesStandardLabels, NAMESPACE, { metadata: { labels: compliantLabels() } })).toEqual([]);
    });

    it.each(REQUIRED_KUBERNETES_LABELS)("reports a missing %s", async (key) => {
        const labels = compliantLabels();
        delete labels[key];
        expect(await violationsOf(kubernetesStandardLabels, NAMESPACE, { metadata: { labels } })).toEqual([
            expect.stringContaining(`is missing the labels: ${key}`),
        ]);
    });

    it("ignores the provider and the Helm chart component", async () => {
        expect(await violationsOf(kubernetesStandardLabels, "pulumi:providers:kubernetes", {})).toEqual([]);
        expect(await violationsOf(kubernetesStandardLabels, "kubernetes:helm.sh/v4:Chart", {})).toEqual([]);
        expect(await violationsOf(kubernetesStandardLabels, "kubernetes:yaml/v2:ConfigFile", {})).toEqual([]);
    });
});
