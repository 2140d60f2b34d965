/** IPv4 CIDR blocks: parsing, containment and overlap, for config validation. */

export interface Cidr {
    /** Network address as an unsigned 32-bit integer. */
    base: number;
    prefix: number;
}

const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/** True when an octet or the prefix is written with a leading zero (`010.0.0.0/16`), which some tools read as octal. */
export function hasLeadingZeros(text: string): boolean {
    return /(^|[./])0\d/.test(text);
}

/** Parses `a.b.c.d/n`; undefined when malformed, written with leading zeros, or when host bits are set. */
export function parseCidr(text: string): Cidr | undefined {
    const m = CIDR.exec(text);
    if (!m || hasLeadingZeros(text)) {
        return undefined;
    }
    const octets = m.slice(1, 5).map(Number);
    const prefix = Number(m[5]);
    if (octets.some((o) => o > 255) || prefix > 32) {
        return undefined;
    }
    const base = ((octets[0] << 24) >>> 0) + (octets[1] << 16) + (octets[2] << 8) + octets[3];
    const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
    if ((base & mask) >>> 0 !== base) {
        return undefined;
    }
    return { base, prefix };
}

function range(c: Cidr): [number, number] {
    return [c.base, c.base + 2 ** (32 - c.prefix) - 1];
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
    const [a0, a1] = range(a);
    const [b0, b1] = range(b);
    return a0 <= b1 && b0 <= a1;
}

export function formatCidr(c: Cidr): string {
    return `${[24, 16, 8, 0].map((s) => (c.base >>> s) & 255).join(".")}/${c.prefix}`;
}

/** The `index`-th block of size `prefix` inside a network, as text. */
export function subnetOf(network: Cidr, prefix: number, index: number): string {
    return formatCidr({ base: network.base + index * 2 ** (32 - prefix), prefix });
}

/** The `n`-th address of a network, as text (e.g. the cluster DNS service at .10). */
export function hostOf(network: Cidr, n: number): string {
    return formatCidr({ base: network.base + n, prefix: 32 }).replace(/\/32$/, "");
}

/** Whether `inner` lies entirely inside `outer`. */
export function cidrContains(outer: Cidr, inner: Cidr): boolean {
    const [o0, o1] = range(outer);
    const [i0, i1] = range(inner);
    return o0 <= i0 && i1 <= o1;
}
