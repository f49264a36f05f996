import { type XComStore, XComStoreError } from './xcom-store.js'

/**
 * Opens the store a URL names: `file:///absolute/folder` or `s3://bucket[/prefix]`. S3's endpoint,
 * region and credentials come from the standard AWS environment, and `PODLINE_S3_ENDPOINT` for an
 * S3-compatible server (MinIO, R2, GCS interoperability). The S3 client loads only when used.
 */
export async function openXComStore(
  url: string,
  options: { s3Endpoint?: string; s3TimeoutMs?: number } = {},
): Promise<XComStore> {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new XComStoreError(
      `PODLINE_XCOM_STORE=${url} is not a URL; use file:///absolute/folder or s3://bucket/prefix`,
    )
  }
  if (parsed.protocol === 'file:') {
    const { openFileStore } = await import('./file-store.js')
    return openFileStore(parsed)
  }
  if (parsed.protocol === 's3:') {
    const { openS3Store } = await import('./s3-store.js')
    return openS3Store(parsed, {
      ...(options.s3Endpoint ? { s3Endpoint: options.s3Endpoint } : {}),
      ...(options.s3TimeoutMs ? { timeoutMs: options.s3TimeoutMs } : {}),
    })
  }
  throw new XComStoreError(
    `PODLINE_XCOM_STORE=${url}: the scheme ${parsed.protocol} is not one Podline stores XComs in; ` +
      'use file:///absolute/folder or s3://bucket/prefix',
  )
}
