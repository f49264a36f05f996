import { describe, expect, it } from 'vitest'
import { type KubeObject, render } from './support/render.js'
import { hasProgram, KUSTOMIZATIONS } from './support/repo.js'
import { builtinTypeName, unknownFields } from './support/unknown-fields.js'

// Every rendered object is checked against the API's published schema: kubernetes-models for the
// built-in kinds, @kubernetes-models/keda for KEDA's CRDs. A kind without a schema fails the check
// rather than passing unchecked.

interface ModelClass {
  new (data: KubeObject): { validate(): void }
}

function modelSpecifier(apiVersion: string, kind: string): string {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion]
  if (group === 'keda.sh') return `@kubernetes-models/keda/keda.sh/${version}/${kind}`
  return group ? `kubernetes-models/${group}/${version}/${kind}` : `kubernetes-models/${version}/${kind}`
}

async function modelOf(o: KubeObject): Promise<ModelClass> {
  const specifier = modelSpecifier(o.apiVersion, o.kind)
  try {
    const module = (await import(specifier)) as Record<string, ModelClass | undefined>
    const model = module[o.kind]
    if (model) return model
  } catch {}
  throw new Error(`no schema for ${o.apiVersion} ${o.kind} (looked for ${specifier}); add its model package`)
}

const kubectl = hasProgram('kubectl', ['version', '--client'])

describe.skipIf(!kubectl)(`schemas${kubectl ? '' : ' (skipped: kubectl is not on the PATH)'}`, () => {
  it.each(KUSTOMIZATIONS)('infra/k8s/%s: every object validates against its OpenAPI schema', async (k) => {
    const problems: string[] = []
    for (const o of render(k)) {
      const Model = await modelOf(o)
      try {
        new Model(o).validate()
      } catch (error) {
        problems.push(`${o.kind}/${o.metadata.name}: ${(error as Error).message}`)
      }
    }
    expect(problems).toEqual([])
  })

  it.each(KUSTOMIZATIONS)('infra/k8s/%s: no built-in object has a field the API does not define', (k) => {
    const problems: string[] = []
    for (const o of render(k)) {
      const type = builtinTypeName(o.apiVersion, o.kind)
      if (!type) continue // CRDs: their schema above is all there is
      for (const field of unknownFields(o, type))
        problems.push(`${o.kind}/${o.metadata.name}: unknown field ${field}`)
    }
    expect(problems).toEqual([])
  })

  it('finds a misspelt field and a wrong type (the check itself works)', async () => {
    const deployment = structuredClone(render('base').find((o) => o.kind === 'Deployment')) as KubeObject
    const spec = deployment.spec as Record<string, unknown>
    spec.replica = 3
    expect(unknownFields(deployment, 'V1Deployment')).toEqual(['spec.replica'])
    spec.replicas = 'three'
    const Model = await modelOf(deployment)
    expect(() => new Model(deployment).validate()).toThrow(/replicas must be integer/)
  })
})
