/** HTTP(S) downloads with a deadline (chart repositories, manifests, registry token endpoints). */

/** A fetch with a deadline and a message naming the URL. */
export async function get(url: string, init: { headers?: Record<string, string> }, timeoutMs: number): Promise<Response> {
    try {
        return await fetch(url, { headers: init.headers, redirect: "follow", signal: AbortSignal.timeout(timeoutMs) });
    } catch (e) {
        const cause = (e as { cause?: { message?: string } }).cause?.message;
        throw new Error(`GET ${url} failed: ${(e as Error).message}${cause ? ` (${cause})` : ""}`);
    }
}

export async function getOk(url: string, timeoutMs: number, headers?: Record<string, string>): Promise<Buffer> {
    const res = await get(url, { headers }, timeoutMs);
    if (!res.ok) {
        await res.body?.cancel();
        throw new Error(`GET ${url}: HTTP ${res.status}`);
    }
    return Buffer.from(await res.arrayBuffer());
}
