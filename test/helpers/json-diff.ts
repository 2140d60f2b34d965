/** The paths (`a.b[2].c`) at which two JSON values differ; empty when they are equal. */
export function jsonDiff(a: unknown, b: unknown, at = ""): string[] {
    if (Array.isArray(a) && Array.isArray(b)) {
        const paths: string[] = [];
        for (let i = 0; i < Math.max(a.length, b.length); i++) {
            paths.push(...jsonDiff(a[i], b[i], `${at}[${i}]`));
        }
        return paths;
    }
    if (isObject(a) && isObject(b)) {
        const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
        return keys.flatMap((k) => jsonDiff(a[k], b[k], at ? `${at}.${k}` : k));
    }
    return Object.is(a, b) ? [] : [at || "(root)"];
}

function isObject(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}
