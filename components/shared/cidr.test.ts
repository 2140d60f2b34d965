import { describe, expect, it } from "vitest";

import { cidrsOverlap, formatCidr, hostOf, parseCidr, subnetOf } from "./cidr";

describe("CIDR helpers", () => {
    it("parses networks and refuses malformed ones or set host bits", () => {
        expect(formatCidr(parseCidr("10.40.0.0/16")!)).toBe("10.40.0.0/16");
        expect(formatCidr(parseCidr("10.0.0.0/8")!)).toBe("10.0.0.0/8");
        // Leading zeros: some tools read them as octal, so 010.40.0.0 is not 10.40.0.0 everywhere.
        for (const bad of ["10.40.0.0", "10.40.0.0/33", "10.400.0.0/16", "10.40.1.0/16", "ten/8", "010.40.0.0/16", "10.040.0.0/16", "10.40.0.0/016"]) {
            expect(parseCidr(bad), bad).toBeUndefined();
        }
    });

    it("detects overlap, and its absence", () => {
        expect(cidrsOverlap(parseCidr("10.0.0.0/16")!, parseCidr("10.0.128.0/17")!)).toBe(true);
        expect(cidrsOverlap(parseCidr("10.0.0.0/16")!, parseCidr("10.1.0.0/16")!)).toBe(false);
        expect(cidrsOverlap(parseCidr("0.0.0.0/0")!, parseCidr("192.168.1.0/24")!)).toBe(true);
    });

    it("carves subnets and hosts", () => {
        const net = parseCidr("10.40.0.0/16")!;
        expect(subnetOf(net, 19, 1)).toBe("10.40.32.0/19");
        expect(subnetOf(net, 22, 24)).toBe("10.40.96.0/22");
        expect(subnetOf(net, 24, 8)).toBe("10.40.8.0/24");
        expect(hostOf(parseCidr("10.0.0.0/16")!, 10)).toBe("10.0.0.10");
    });
});
