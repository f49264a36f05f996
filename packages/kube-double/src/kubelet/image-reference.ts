import { createHash } from 'node:crypto'

// The distribution reference grammar (github.com/distribution/reference), which the kubelet applies
// before pulling. Hand-written: no npm package implements Docker's normalisation rules.
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*'
const DOMAIN =
  '(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?|\\[[0-9a-fA-F:]+\\](?::[0-9]+)?)'
const REFERENCE = new RegExp(
  `^(?:(${DOMAIN})/)?(${COMPONENT}(?:/${COMPONENT})*)(?::([\\w][\\w.-]{0,127}))?(?:@([A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?$`,
)

export type ParsedImage =
  | {
      valid: true
      normalized: string
      repository: string
      tag: string | undefined
      digest: string | undefined
    }
  | { valid: false; message: string }

/** Parses and normalises an image reference (`busybox` → `docker.io/library/busybox:latest`). */
export function parseImage(image: string): ParsedImage {
  const match = REFERENCE.exec(image)
  if (!match) {
    const lower = REFERENCE.exec(image.toLowerCase())
    const reason =
      lower && image !== image.toLowerCase()
        ? `repository name (${qualifyPath(image.split(/[:@]/)[0] ?? image, false)}) must be lowercase`
        : 'invalid reference format'
    const detail = reason.startsWith('repository') ? `invalid reference format: ${reason}` : reason
    return {
      valid: false,
      message: `Failed to apply default image tag "${image}": couldn't parse image name "${image}": ${detail}`,
    }
  }
  const [, domain, path = '', tag, digest] = match
  const isDomain =
    domain !== undefined && (domain.includes('.') || domain.includes(':') || domain === 'localhost')
  const registry = isDomain ? domain : 'docker.io'
  const fullPath = isDomain ? path : qualifyPath(domain ? `${domain}/${path}` : path, true)
  const repository = `${registry}/${fullPath}`
  const effectiveTag = tag ?? (digest ? undefined : 'latest')
  const normalized = `${repository}${effectiveTag ? `:${effectiveTag}` : ''}${digest ? `@${digest}` : ''}`
  return { valid: true, normalized, repository, tag: effectiveTag, digest }
}

function qualifyPath(path: string, _docker: boolean): string {
  return path.includes('/') ? path : `library/${path}`
}

/** A stable, plausible image ID (`repo@sha256:…`), as containerd reports in containerStatuses. */
export function imageIdOf(repository: string, normalized: string): string {
  return `${repository}@sha256:${createHash('sha256').update(normalized).digest('hex')}`
}
