/**
 * What the manager's image and replicas may be, in a file without SDK imports:
 * the stack config's schema (environments/config-schema.ts) checks
 * `platform:manager` with the same rules as the component.
 */

/** An image pinned by digest: `[registry[:port]/]repository@sha256:<64 hex>`, no tag (a tag can move to another image). */
export const IMAGE_BY_DIGEST =
    /^(?:[a-z0-9]+(?:[.-][a-z0-9]+)*(?::[0-9]+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*@sha256:[a-f0-9]{64}$/;

/** What an image must be, as messages say it. */
export const IMAGE_ALLOWED = "an image pinned by digest, registry/repository@sha256:<64 lower-case hex digits>, no tag";

/** Replicas: one leads (a Kubernetes Lease), the others stand by and serve reads. */
export const MANAGER_REPLICAS = { min: 1, max: 5, default: 2 } as const;

/** Whether `image` is pinned by digest. */
export function isImagePinnedByDigest(image: unknown): image is string {
    return typeof image === "string" && IMAGE_BY_DIGEST.test(image);
}
