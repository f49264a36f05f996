/** One instruction of a Dockerfile, continuation lines joined and comments dropped. */
export interface Instruction {
  line: number
  keyword: string
  args: string
}

export function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = []
  let pending: Instruction | undefined
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim()
    if (line.startsWith('#') || (!line && !pending)) return
    const continued = line.endsWith('\\')
    const body = continued ? line.slice(0, -1).trim() : line
    if (pending) pending.args = `${pending.args} ${body}`.trim()
    else {
      const [keyword = '', ...rest] = body.split(/\s+/)
      pending = { line: index + 1, keyword: keyword.toUpperCase(), args: rest.join(' ') }
    }
    if (!continued) {
      instructions.push(pending)
      pending = undefined
    }
  })
  return instructions
}

/** A COPY or ADD: its flags (`--from`, `--chmod`, …), sources and destination. */
export interface Copy {
  line: number
  from?: string
  sources: string[]
  destination: string
}

export function copiesOf(instructions: Instruction[]): Copy[] {
  return instructions
    .filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD')
    .map((i) => {
      const words = i.args.startsWith('[') ? (JSON.parse(i.args) as string[]) : i.args.split(/\s+/)
      const flags = words.filter((w) => w.startsWith('--'))
      const paths = words.filter((w) => !w.startsWith('--'))
      const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length)
      return {
        line: i.line,
        ...(from ? { from } : {}),
        sources: paths.slice(0, -1),
        destination: paths.at(-1) ?? '',
      }
    })
}

/** Stage names (`FROM image AS name`), in order. */
export function stagesOf(instructions: Instruction[]): { image: string; name?: string }[] {
  return instructions
    .filter((i) => i.keyword === 'FROM')
    .map((i) => {
      const words = i.args.split(/\s+/).filter((w) => !w.startsWith('--'))
      const as = words.findIndex((w) => w.toUpperCase() === 'AS')
      return { image: words[0] ?? '', ...(as > 0 && words[as + 1] ? { name: words[as + 1] } : {}) }
    })
}

/** True when `.dockerignore` excludes `path` (or a folder above it) from the build context. */
export function isIgnored(dockerignore: string, path: string): boolean {
  const patterns = dockerignore
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
  let ignored = false
  for (const pattern of patterns) {
    const negated = pattern.startsWith('!')
    const glob = (negated ? pattern.slice(1) : pattern).replace(/^\/+|\/+$/g, '')
    const source = glob
      .split('/')
      .map((part) =>
        part === '**' ? '(?:.*)' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*'),
      )
      .join('/')
      .replace(/\(\?:\.\*\)\//g, '(?:.*/)?')
    // A pattern matches the path itself or any folder that contains it.
    if (new RegExp(`^${source}(?:/.*)?$`).test(path)) ignored = !negated
  }
  return ignored
}
