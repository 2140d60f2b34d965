/**
 * Which `./platform pulumi` commands are refused (scripts/cli/pulumi-guard.ts),
 * found as pulumi's own parser finds the command, so no flag placement hides
 * one. In-process: test/unit/platform-cli.test.ts runs a few of these through
 * the real front door.
 */
import { describe, expect, it } from "vitest";

import { pulumiRefusal } from "../../scripts/cli/pulumi-guard";

describe("pulumiRefusal", () => {
    it.each([
        [["up", "--stack", "x"], "pulumi up", "./platform up x"],
        [["update", "-s", "dev", "--yes"], "pulumi update", "./platform up dev"],
        [["--color", "never", "up"], "pulumi up", "./platform up <stack>"],
        [["--cwd=.", "-e", "watch"], "pulumi watch", "./platform up <stack>"],
        [["destroy", "--stack", "x", "--yes"], "pulumi destroy", "./platform destroy x [--unprotect]"],
        [["down", "--stack", "x"], "pulumi down", "./platform destroy x [--unprotect]"],
        [["refresh", "--stack", "x", "--yes", "--clear-pending-creates"], "pulumi refresh", "./platform refresh x"],
        // --preview-only here is --message's value, or after --: the refresh would run.
        [["refresh", "--stack", "x", "--message", "--preview-only"], "pulumi refresh", "./platform refresh x"],
        [["refresh", "--stack", "x", "-ym", "--preview-only"], "pulumi refresh", "./platform refresh x"],
        [["refresh", "--stack", "x", "--preview-only", "--preview-only=false"], "pulumi refresh", "./platform refresh x"],
        [["refresh", "--stack", "x", "--", "--preview-only"], "pulumi refresh", "./platform refresh x"],
        [["import", "--stack", "x", "kubernetes:core/v1:ConfigMap", "cm", "ns/cm"], "pulumi import", "then ./platform refresh x and ./platform up x"],
        [["import", "--stack", "x", "-f", "--preview-only"], "pulumi import", "then ./platform refresh x and ./platform up x"],
        [["state", "delete", "--stack", "x", "urn:pulumi:x::platform::a::b"], "pulumi state delete", "./platform up x"],
        [["state", "move", "--source", "a", "--dest", "b", "urn"], "pulumi state move", "./platform up <stack>"],
        [["-C", ".", "state", "edit", "--stack", "x"], "pulumi state edit", "./platform up x"],
        [["state", "rename", "-s", "x", "urn", "new"], "pulumi state rename", "./platform up x"],
        [["state", "repair", "-s", "x"], "pulumi state repair", "./platform up x"],
        [["state", "unprotect", "--all", "--stack", "x"], "pulumi state unprotect", "./platform destroy x --unprotect"],
        // cobra skips the value of -s (here "state") when it looks for the command: this is `state delete`.
        [["-s", "state", "-e", "state", "delete"], "pulumi state delete", "./platform up state"],
    ])("refuses %j, naming %s and %s", (args, command, instead) => {
        const refusal = pulumiRefusal(args);
        expect(refusal).toMatch(new RegExp(`^${command} `));
        expect(refusal).toContain(instead);
    });

    it.each([
        [["config", "refresh", "--force"]],
        [["config", "set", "platform:owner", "up"]],
        [["stack", "ls", "--json"]],
        [["stack", "rm", "review-1", "--yes"]],
        [["stack", "export"]],
        [["cancel", "--yes"]],
        [["preview", "--diff"]],
        [["refresh", "--preview-only"]],
        [["refresh", "--yes", "--preview-only", "--json"]],
        [["destroy", "--preview-only"]],
        [["import", "--preview-only", "--file", "resources.json"]],
        [["state", "taint", "urn"]],
        [["state", "protect", "urn"]],
        [["--color", "up", "version"]],
    ])("allows %j", (args) => {
        expect(pulumiRefusal(args)).toBeUndefined();
    });
});
