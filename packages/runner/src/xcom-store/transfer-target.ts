/**
 * How a pod reaches one object of the XCom store without the store's credentials: a presigned URL
 * (S3: valid for that object, that method and a bounded time), a path in the store's folder (the
 * file store, for the process runtime's local processes), or no way at all, with the reason.
 */
export type TransferTarget =
  | { readonly kind: 'url'; readonly url: string; readonly expiresAt: Date }
  | { readonly kind: 'path'; readonly path: string }
  | { readonly kind: 'unavailable'; readonly reason: string }

/** SigV4 refuses presigned URLs valid for longer than 7 days. */
export const SIGV4_MAX_EXPIRY_SECONDS = 7 * 24 * 60 * 60

/** A URL's life for an attempt without a timeout: a pod that runs longer needs a `timeout`. */
export const DEFAULT_TRANSFER_EXPIRY_SECONDS = 24 * 60 * 60

/** Added to the time left before the deadline: a result written at the deadline's edge still lands. */
const EXPIRY_MARGIN_SECONDS = 5 * 60

/**
 * How long a URL minted for an attempt stays valid: until the attempt's deadline (plus a margin),
 * the default when it has none, never past SigV4's cap.
 */
export function transferExpirySeconds(msToDeadline: number | null | undefined): number {
  const seconds =
    msToDeadline === null || msToDeadline === undefined
      ? DEFAULT_TRANSFER_EXPIRY_SECONDS
      : Math.ceil(msToDeadline / 1000) + EXPIRY_MARGIN_SECONDS
  return Math.min(SIGV4_MAX_EXPIRY_SECONDS, Math.max(60, seconds))
}

/** The query of a presigned S3 URL, replaced wherever a pod's spec, env or messages are shown. */
const PRESIGNED_QUERY =
  /(https?:\/\/[^\s"'?]+)\?[^\s"']*X-Amz-(?:Signature|Credential|Security-Token)[^\s"']*/gi

/** The text with every presigned URL's query (its signature and key id) replaced by `<redacted>`. */
export function redactPresignedUrls(text: string): string {
  return text.replace(PRESIGNED_QUERY, '$1?<redacted>')
}
