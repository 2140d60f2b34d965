import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import { deliveryModeOf } from "../../scripts/delivery-mode";

describe("deliveryModeOf", () => {
    // Every stack asks to render; only the template, from the stack file, decides whether it may.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "delivery-mode-"));
    fs.mkdirSync(path.join(dir, "stacks"));
    const stack = (name: string, template?: string) =>
        fs.writeFileSync(
            path.join(dir, "stacks", `Pulumi.${name}.yaml`),
            `config:\n${template === undefined ? "" : `  platform:template: ${template}\n`}  platform:kubernetesTarget: render\n`,
        );
    stack("sandbox", "local");
    stack("review-2", "review");
    stack("local-eu", "prod");
    stack("review-3", "dev");
    stack("review-4");
    stack("local", "qa");
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
    const env = { KUBECONFIG: path.join(dir, "no-kubeconfig") };

    it("renders a local or review stack that asks to, whatever its name", async () => {
        expect(await deliveryModeOf("sandbox", dir, env)).toBe("render");
        expect(await deliveryModeOf("review-2", dir, env)).toBe("render");
    });

    it("always applies a cloud-template stack, even one named like a local or review stack", async () => {
        expect(await deliveryModeOf("local-eu", dir, env)).toBe("apply");
        expect(await deliveryModeOf("review-3", dir, env)).toBe("apply");
    });

    it("applies a stack whose file names no template, or an unknown one, instead of guessing from its name", async () => {
        expect(await deliveryModeOf("review-4", dir, env)).toBe("apply");
        expect(await deliveryModeOf("local", dir, env)).toBe("apply");
    });
});
