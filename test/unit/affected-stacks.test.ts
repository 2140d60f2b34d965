import { describe, expect, it } from "vitest";

import { affectedStacks, knownStacks } from "../../scripts/affected-stacks";
import { REPO_ROOT } from "../helpers/engine";

const STACKS = ["prod", "local", "staging", "dev"];

describe("affected stacks", () => {
    it("lists the repository's stacks in promotion order", () => {
        expect(knownStacks(REPO_ROOT).slice(0, 4)).toEqual(["local", "dev", "staging", "prod"]);
    });

    it("maps a stack's own files to that stack", () => {
        expect(affectedStacks(["stacks/Pulumi.staging.yaml", "policies/config/prod.json"], STACKS)).toEqual(["staging", "prod"]);
        expect(affectedStacks(["stacks/local.passphrase"], STACKS)).toEqual(["local"]);
        // review.json belongs to review stacks, created per merge request.
        expect(affectedStacks(["policies/config/review.json"], STACKS)).toEqual([]);
    });

    it("affects every stack through shared code, dependencies and the toolchain", () => {
        for (const file of ["components/mesh/index.ts", "environments/templates/cloud.ts", "policies/rules/mesh-mtls-strict.ts", "index.ts", "Pulumi.yaml", "pnpm-lock.yaml", "toolchain/versions.env"]) {
            expect(affectedStacks(["README.md", file], STACKS), file).toEqual(["local", "dev", "staging", "prod"]);
        }
    });

    it("affects none through tests, docs, benchmarks and scripts", () => {
        expect(affectedStacks(["components/mesh/mesh.test.ts", "components/mesh/README.md", "test/helpers/engine.ts", "bench/index.ts", "scripts/stacks.ts", "policies/test/fixtures.ts", ".ci/run"], STACKS)).toEqual([]);
    });

    it("affects every stack through a path no rule names", () => {
        expect(affectedStacks(["something/new.ts"], STACKS)).toEqual(["local", "dev", "staging", "prod"]);
    });
});
