import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { V1Container, V1Pod, V1PodSpec } from '@kubernetes/client-node'
import { createKubeClient, renderPods } from '@podline/runner/pods'
import { type PodRunOptions, type PodSpec, pipeline } from '@podline/sdk'
import { Pod } from 'kubernetes-models/v1'
import { afterAll, describe, expect, it } from 'vitest'
import { kpoXcom } from './kpo-xcom.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const GUIDE = readFileSync(join(ROOT, 'docs/from-airflow.md'), 'utf8')
const scratch = mkdtempSync(join(tmpdir(), 'podline-from-airflow-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

/**
 * What backs one row of the guide's parameter table:
 * - `renders`: a pod task with the Podline equivalent, rendered as the worker builds it, and the
 *   V1Pod field checked;
 * - `test`: a check run here (the worker's kubeconfig settings, which are not pod fields);
 * - `elsewhere`: a behaviour test in another file of `npm test`, named by its title;
 * - `'not needed'` / `'not supported yet'`: what the row must say, plainly.
 * `mentions` are the Podline names the row must show in code (default: the keys of spec and options).
 */
type Evidence =
  | {
      renders: Partial<PodSpec>
      options?: PodRunOptions
      check: (pod: Rendered) => void
      mentions?: string[]
    }
  | { test: () => void | Promise<void>; mentions: string[] }
  | { elsewhere: string; title: string; mentions: string[] }
  | 'not needed'
  | 'not supported yet'

interface Rendered {
  pod: V1Pod
  spec: V1PodSpec
  base: V1Container
}

async function render(
  spec: Partial<PodSpec>,
  options: PodRunOptions = {},
  runId = 'plan',
): Promise<Rendered> {
  const p = pipeline('kpo').pod('t', options, { image: 'alpine:3.20', ...spec })
  const {
    pods: [pod],
  } = await renderPods(p, undefined, { runId })
  if (!pod?.spec) throw new Error('renderPods returned no pod')
  expect(() => new Pod(pod as ConstructorParameters<typeof Pod>[0]).validate()).not.toThrow()
  const base = pod.spec.containers.find((c) => c.name === 'base')
  if (!base) throw new Error('the pod has no base container')
  return { pod, spec: pod.spec, base }
}

/** A kubeconfig with two contexts, as a worker's `KUBECONFIG` would be. */
const kubeconfig = join(scratch, 'kubeconfig.yaml')
writeFileSync(
  kubeconfig,
  `apiVersion: v1
kind: Config
clusters:
  - name: one
    cluster: { server: 'https://one.example:6443' }
  - name: two
    cluster: { server: 'https://two.example:6443' }
users:
  - name: u
    user: { token: t }
contexts:
  - name: first
    context: { cluster: one, user: u, namespace: etl }
  - name: second
    context: { cluster: two, user: u }
current-context: first
`,
)

const podTemplateFile = join(scratch, 'pod.yaml')
writeFileSync(
  podTemplateFile,
  `apiVersion: v1
kind: Pod
metadata:
  labels: { from: template }
spec:
  priorityClassName: batch-low
  containers:
    - name: base
      image: replaced-by-the-task
      ports: [{ containerPort: 9090 }]
`,
)

function withEnv(vars: Record<string, string | undefined>, fn: () => void): void {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]))
  const apply = (values: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }
  apply(vars)
  try {
    fn()
  } finally {
    apply(saved)
  }
}

const LAUNCHER = 'packages/runner/src/pods/pod-launcher.test.ts'
const ORPHANS = 'packages/runner/src/pods/orphan-pods.test.ts'
const EXAMPLES = 'examples/from-airflow/examples.test.ts'
const reattach = {
  elsewhere: LAUNCHER,
  title: 'attaches to the existing pod when the same attempt is executed again (worker restart)',
  mentions: [],
}
const scheduleTimeout = {
  elsewhere: LAUNCHER,
  title: 'fails a pod still Pending after scheduleTimeout with the FailedScheduling message',
  mentions: ['scheduleTimeout'],
}
const onFinish = {
  elsewhere: LAUNCHER,
  title: 'keeps a failed pod with delete_succeeded_pod, and any pod with keep_pod',
  mentions: ['onFinish', 'delete_pod', 'keep_pod'],
}
const fromFullPodSpec = (spec: Partial<V1PodSpec>, check: (pod: Rendered) => void, field: string) => ({
  renders: { fullPodSpec: { spec: { containers: [], ...spec } } },
  check,
  mentions: ['fullPodSpec', 'podTemplate', field],
})

/** Every parameter of KubernetesPodOperator.__init__ (cncf-kubernetes provider), in its order. */
const EVIDENCE: Record<string, Evidence> = {
  kubernetes_conn_id: {
    test: () => {
      const kube = createKubeClient({ kubeconfig })
      expect(kube.config.getCurrentCluster()?.server).toBe('https://one.example:6443')
    },
    mentions: ['KUBECONFIG', 'kube.kubeconfig'],
  },
  namespace: {
    test: async () => {
      expect((await render({ namespace: 'etl' })).pod.metadata?.namespace).toBe('etl')
      expect(createKubeClient({ kubeconfig, namespace: 'ops' }).namespace).toBe('ops')
      expect(createKubeClient({ kubeconfig }).namespace).toBe('etl')
      expect(createKubeClient({ kubeconfig, context: 'second' }).namespace).toBe('default')
    },
    mentions: ['namespace', 'PODLINE_NAMESPACE', 'default'],
  },
  image: {
    renders: { image: 'ghcr.io/acme/load:1.4' },
    check: ({ base }) => expect(base.image).toBe('ghcr.io/acme/load:1.4'),
  },
  name: {
    renders: {},
    check: ({ pod }) => expect(pod.metadata?.name).toMatch(/^kpo-t-a1-[0-9a-z]+$/),
    mentions: [],
  },
  random_name_suffix: {
    test: async () => {
      const name = async (runId: string) => (await render({}, {}, runId)).pod.metadata?.name
      expect(await name('run-1')).toBe(await name('run-1'))
      expect(await name('run-1')).not.toBe(await name('run-2'))
    },
    mentions: [],
  },
  cmds: {
    renders: { command: ['python', 'load.py'] },
    check: ({ base }) => expect(base.command).toEqual(['python', 'load.py']),
  },
  arguments: {
    renders: { args: ['--day', '2026-11-21'] },
    check: ({ base }) => expect(base.args).toEqual(['--day', '2026-11-21']),
  },
  ports: {
    renders: { fullPodSpec: { spec: { containers: [{ name: 'base', ports: [{ containerPort: 8080 }] }] } } },
    check: ({ base }) => {
      expect(base.ports).toEqual([{ containerPort: 8080 }])
      expect(base.image).toBe('alpine:3.20')
    },
    mentions: ['ports', 'base', 'fullPodSpec', 'podTemplate'],
  },
  volume_mounts: {
    renders: {
      volumes: [{ name: 'data', emptyDir: {} }],
      volumeMounts: [{ name: 'data', mountPath: '/data' }],
    },
    check: ({ base }) => expect(base.volumeMounts).toContainEqual({ name: 'data', mountPath: '/data' }),
    mentions: ['volumeMounts'],
  },
  volumes: {
    renders: {
      volumes: [{ name: 'data', emptyDir: {} }],
      volumeMounts: [{ name: 'data', mountPath: '/data' }],
    },
    check: ({ spec }) => expect(spec.volumes).toContainEqual({ name: 'data', emptyDir: {} }),
    mentions: ['volumes'],
  },
  env_vars: {
    renders: { env: { DAY: '2026-11-21' } },
    check: ({ base }) => expect(base.env).toContainEqual({ name: 'DAY', value: '2026-11-21' }),
  },
  env_from: {
    renders: { envFrom: [{ secretRef: { name: 'db' } }] },
    check: ({ base }) => expect(base.envFrom).toEqual([{ secretRef: { name: 'db' } }]),
  },
  secrets: {
    renders: {
      secrets: [
        { deployType: 'env', secret: 'db', key: 'password', deployTarget: 'DB_PASSWORD' },
        { deployType: 'volume', secret: 'tls', deployTarget: '/etc/tls' },
      ],
    },
    check: ({ base, spec }) => {
      expect(base.env).toContainEqual({
        name: 'DB_PASSWORD',
        valueFrom: { secretKeyRef: { name: 'db', key: 'password' } },
      })
      const volume = spec.volumes?.find((v) => v.secret?.secretName === 'tls')
      expect(base.volumeMounts).toContainEqual({ name: volume?.name, mountPath: '/etc/tls', readOnly: true })
    },
    mentions: ['secrets', 'deployType', 'deployTarget'],
  },
  in_cluster: {
    test: () =>
      withEnv({ KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }, () => {
        const kube = createKubeClient({ inCluster: true, kubeconfig })
        expect(kube.config.getCurrentCluster()?.server).toBe('https://10.96.0.1:443')
      }),
    mentions: ['kube.inCluster'],
  },
  cluster_context: {
    test: () => {
      const kube = createKubeClient({ kubeconfig, context: 'second' })
      expect(kube.config.getCurrentCluster()?.server).toBe('https://two.example:6443')
      expect(() => createKubeClient({ kubeconfig, context: 'third' })).toThrow(
        /no context "third".*first, second/,
      )
    },
    mentions: ['--kube-context', 'PODLINE_KUBE_CONTEXT', 'kube.context'],
  },
  labels: {
    renders: { labels: { team: 'data', 'podline.dev/task': 'not-this' } },
    check: ({ pod }) => expect(pod.metadata?.labels).toMatchObject({ team: 'data', 'podline.dev/task': 't' }),
  },
  reattach_on_restart: reattach,
  startup_timeout_seconds: scheduleTimeout,
  startup_check_interval_seconds: 'not needed',
  schedule_timeout_seconds: scheduleTimeout,
  get_logs: {
    elsewhere: EXAMPLES,
    title: 'kpo-xcom: key1 reaches a Python-style task typed, and a second pod in its arguments',
    mentions: ['base', 'podline logs <run> <task>'],
  },
  base_container_name: 'not supported yet',
  base_container_status_polling_interval: 'not needed',
  init_container_logs: 'not supported yet',
  container_logs: 'not supported yet',
  image_pull_policy: {
    renders: { imagePullPolicy: 'Always' },
    check: ({ base }) => expect(base.imagePullPolicy).toBe('Always'),
  },
  annotations: {
    renders: { annotations: { owner: 'data-team' } },
    check: ({ pod }) =>
      expect(pod.metadata?.annotations).toMatchObject({ owner: 'data-team', 'podline.dev/run-id': 'plan' }),
  },
  container_resources: {
    renders: { resources: { requests: { cpu: '500m' }, limits: { memory: '1Gi' } } },
    check: ({ base }) =>
      expect(base.resources).toEqual({ requests: { cpu: '500m' }, limits: { memory: '1Gi' } }),
  },
  affinity: {
    renders: {
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: 'pool', operator: 'In', values: ['etl'] }] }],
          },
        },
      },
    },
    check: ({ spec }) =>
      expect(
        spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms,
      ).toHaveLength(1),
  },
  config_file: {
    test: () => {
      expect(createKubeClient({ kubeconfig }).config.getCurrentCluster()?.server).toBe(
        'https://one.example:6443',
      )
      withEnv({ KUBECONFIG: kubeconfig }, () =>
        expect(createKubeClient().config.getCurrentCluster()?.server).toBe('https://one.example:6443'),
      )
    },
    mentions: ['KUBECONFIG', 'kube.kubeconfig'],
  },
  node_selector: {
    renders: { nodeSelector: { pool: 'etl' } },
    check: ({ spec }) => expect(spec.nodeSelector).toEqual({ pool: 'etl' }),
  },
  image_pull_secrets: {
    renders: { imagePullSecrets: ['regcred', { name: 'mirror' }] },
    check: ({ spec }) => expect(spec.imagePullSecrets).toEqual([{ name: 'regcred' }, { name: 'mirror' }]),
  },
  service_account_name: {
    renders: { serviceAccountName: 'loader' },
    check: ({ spec }) => expect(spec.serviceAccountName).toBe('loader'),
  },
  automount_service_account_token: fromFullPodSpec(
    { automountServiceAccountToken: false },
    ({ spec }) => expect(spec.automountServiceAccountToken).toBe(false),
    'automountServiceAccountToken',
  ),
  hostnetwork: { renders: { hostNetwork: true }, check: ({ spec }) => expect(spec.hostNetwork).toBe(true) },
  host_aliases: fromFullPodSpec(
    { hostAliases: [{ ip: '10.0.0.7', hostnames: ['warehouse'] }] },
    ({ spec }) => expect(spec.hostAliases).toEqual([{ ip: '10.0.0.7', hostnames: ['warehouse'] }]),
    'hostAliases',
  ),
  tolerations: {
    renders: { tolerations: [{ key: 'batch', operator: 'Exists', effect: 'NoSchedule' }] },
    check: ({ spec }) =>
      expect(spec.tolerations).toEqual([{ key: 'batch', operator: 'Exists', effect: 'NoSchedule' }]),
  },
  security_context: {
    renders: { securityContext: { runAsNonRoot: true, fsGroup: 1000 } },
    check: ({ spec }) => expect(spec.securityContext).toEqual({ runAsNonRoot: true, fsGroup: 1000 }),
  },
  container_security_context: {
    renders: { containerSecurityContext: { readOnlyRootFilesystem: true } },
    check: ({ base }) => expect(base.securityContext).toEqual({ readOnlyRootFilesystem: true }),
  },
  dnspolicy: {
    renders: { dnsPolicy: 'ClusterFirstWithHostNet' },
    check: ({ spec }) => expect(spec.dnsPolicy).toBe('ClusterFirstWithHostNet'),
  },
  dns_config: fromFullPodSpec(
    { dnsConfig: { nameservers: ['10.0.0.53'] } },
    ({ spec }) => expect(spec.dnsConfig).toEqual({ nameservers: ['10.0.0.53'] }),
    'dnsConfig',
  ),
  hostname: fromFullPodSpec(
    { hostname: 'loader' },
    ({ spec }) => expect(spec.hostname).toBe('loader'),
    'hostname',
  ),
  subdomain: fromFullPodSpec(
    { subdomain: 'etl' },
    ({ spec }) => expect(spec.subdomain).toBe('etl'),
    'subdomain',
  ),
  schedulername: fromFullPodSpec(
    { schedulerName: 'batch-scheduler' },
    ({ spec }) => expect(spec.schedulerName).toBe('batch-scheduler'),
    'schedulerName',
  ),
  full_pod_spec: {
    renders: {
      fullPodSpec: {
        metadata: { labels: { from: 'full-pod-spec' } },
        spec: {
          containers: [
            { name: 'base', image: 'replaced-by-the-task', workingDir: '/work' },
            { name: 'proxy', image: 'envoyproxy/envoy:v1.31' },
          ],
        },
      },
    },
    check: ({ pod, spec, base }) => {
      expect(base).toMatchObject({ image: 'alpine:3.20', workingDir: '/work' })
      expect(spec.containers.map((c) => c.name)).toContain('proxy')
      expect(pod.metadata?.labels?.from).toBe('full-pod-spec')
    },
    mentions: ['fullPodSpec', 'podTemplate'],
  },
  init_containers: {
    renders: { initContainers: [{ name: 'fetch', image: 'alpine:3.20', command: ['true'] }] },
    // The user's init containers first, so they finish before the native XCom sidecar starts.
    check: ({ spec }) => expect(spec.initContainers?.map((c) => c.name)).toEqual(['fetch', 'podline-xcom']),
  },
  log_events_on_failure: { ...scheduleTimeout, mentions: ['FailedScheduling'] },
  do_xcom_push: {
    elsewhere: LAUNCHER,
    title: 'gives no return_value when no file was written',
    mentions: ['/airflow/xcom/return.json', 'return_value'],
  },
  pod_template_file: {
    renders: { podTemplate: podTemplateFile },
    check: ({ pod, spec, base }) => {
      expect(pod.metadata?.labels?.from).toBe('template')
      expect(spec.priorityClassName).toBe('batch-low')
      expect(base).toMatchObject({ image: 'alpine:3.20', ports: [{ containerPort: 9090 }] })
    },
  },
  pod_template_dict: {
    renders: {
      podTemplate: { spec: { containers: [], restartPolicy: 'Always', nodeSelector: { pool: 'etl' } } },
    },
    check: ({ spec }) => {
      expect(spec.nodeSelector).toEqual({ pool: 'etl' })
      expect(spec.restartPolicy).toBe('Never')
    },
  },
  priority_class_name: {
    renders: { priorityClassName: 'batch-high' },
    check: ({ spec }) => expect(spec.priorityClassName).toBe('batch-high'),
  },
  pod_runtime_info_envs: {
    renders: { env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] },
    check: ({ base }) =>
      expect(base.env).toContainEqual({
        name: 'POD_NAME',
        valueFrom: { fieldRef: { fieldPath: 'metadata.name' } },
      }),
    mentions: ['env', 'valueFrom.fieldRef'],
  },
  termination_grace_period: {
    renders: { terminationGracePeriodSeconds: 60 },
    check: ({ spec }) => expect(spec.terminationGracePeriodSeconds).toBe(60),
  },
  configmaps: {
    renders: { envFrom: [{ configMapRef: { name: 'settings' } }] },
    check: ({ base }) => expect(base.envFrom).toEqual([{ configMapRef: { name: 'settings' } }]),
    mentions: ['envFrom', 'configMapRef'],
  },
  skip_on_exit_code: {
    elsewhere: LAUNCHER,
    title: 'skips on an exit code listed in skipOnExitCode',
    mentions: ['skipOnExitCode'],
  },
  deferrable: 'not needed',
  poll_interval: 'not needed',
  log_pod_spec_on_failure: 'not supported yet',
  on_finish_action: onFinish,
  is_delete_operator_pod: onFinish,
  termination_message_policy: {
    renders: {
      fullPodSpec: {
        spec: { containers: [{ name: 'base', terminationMessagePolicy: 'FallbackToLogsOnError' }] },
      },
    },
    check: ({ base }) => expect(base.terminationMessagePolicy).toBe('FallbackToLogsOnError'),
    mentions: ['terminationMessagePolicy', 'base', 'fullPodSpec', 'podTemplate'],
  },
  active_deadline_seconds: {
    renders: { activeDeadlineSeconds: 3600 },
    check: ({ spec }) => expect(spec.activeDeadlineSeconds).toBe(3600),
  },
  callbacks: 'not supported yet',
  progress_callback: 'not supported yet',
  logging_interval: 'not needed',
  trigger_kwargs: 'not needed',
  container_name_log_prefix_enabled: 'not supported yet',
  log_formatter: 'not supported yet',
}

/**
 * The rows of the markdown table under `heading`: a hand-written split rather than a markdown
 * library, because the guide's tables are ours and in one form (one row a line, `\|` for a pipe).
 */
function tableRows(markdown: string, heading: string): string[][] {
  const section = markdown.split(/^## /m).find((s) => s.startsWith(heading))
  if (!section) throw new Error(`the guide has no "## ${heading}" section`)
  return section
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .slice(2)
    .map((line) =>
      line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim().replaceAll('\\|', '|')),
    )
}

const rows = tableRows(GUIDE, 'KubernetesPodOperator parameters').map(([param = '', podline = '']) => ({
  param: param.replace(/^`(.*)`$/, '$1'),
  podline,
}))

/** The text of the cell's code spans, where the Podline names must appear. */
function codeIn(cell: string): string[] {
  return [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '')
}

/** `name` as a whole word of a code span: `env` is in `env: {…}` but not in `envFrom`. */
function mentionsName(span: string, name: string): boolean {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  return new RegExp(`(^|\\W)${escaped}($|\\W)`).test(span)
}

describe('docs/from-airflow.md, the KubernetesPodOperator parameter table', () => {
  it("has one row for every parameter of the operator, in the operator's order", () => {
    expect(rows.map((r) => r.param)).toEqual(Object.keys(EVIDENCE))
  })

  it.each(rows)(
    '`$param` is backed by a test or says plainly that it is not supported',
    async ({ param, podline }) => {
      const evidence = EVIDENCE[param]
      if (evidence === undefined) throw new Error(`no evidence for ${param}`)
      if (evidence === 'not supported yet') {
        expect(podline).toMatch(/^not supported yet\b/)
        return
      }
      if (evidence === 'not needed') {
        expect(podline).toMatch(/^not needed, because /)
        return
      }
      expect(podline).not.toMatch(/not supported yet/)
      const mentions =
        'renders' in evidence
          ? (evidence.mentions ?? [...Object.keys(evidence.renders), ...Object.keys(evidence.options ?? {})])
          : evidence.mentions
      const code = codeIn(podline)
      for (const name of mentions) {
        const shown = code.some((span) => mentionsName(span, name))
        expect(shown, `the row of ${param} shows \`${name}\``).toBe(true)
      }
      if ('renders' in evidence) evidence.check(await render(evidence.renders, evidence.options))
      else if ('test' in evidence) await evidence.test()
      else {
        const file = join(ROOT, evidence.elsewhere)
        expect(existsSync(file), `${evidence.elsewhere} exists`).toBe(true)
        expect(readFileSync(file, 'utf8')).toContain(`'${evidence.title}'`)
      }
    },
  )
})

const BUILDER = 'packages/runner/src/pods/pod-builder.test.ts'
const FRAME = 'packages/runner/src/pods/xcom-frame.test.ts'
const nativeSidecar = {
  file: BUILDER,
  title:
    'adds a native sidecar (an init container with restartPolicy Always) after the user init containers, with resources',
}
const roundTrip = {
  file: LAUNCHER,
  title:
    'returns what base wrote to the hard-coded /airflow/xcom/return.json, storing pod_name and pod_namespace first',
}

/** The tests that pin each row of the failures table, keyed by the first upstream issue it cites. */
const FAILURES: Record<string, { file: string; title: string }[]> = {
  '10722': [
    nativeSidecar,
    {
      file: LAUNCHER,
      title: 'fails fatally on a ResourceQuota 403, naming what is missing (the sidecar has its limits)',
    },
  ],
  '20884': [
    { file: LAUNCHER, title: 'detects a truncated frame when the sidecar log arrives cut short' },
    { file: FRAME, title: 'reports a checksum mismatch' },
  ],
  '22318': [nativeSidecar, roundTrip],
  '38115': [nativeSidecar, { file: LAUNCHER, title: scheduleTimeout.title }],
  '71369': [nativeSidecar, roundTrip],
  '10544': [
    { file: LAUNCHER, title: reattach.title },
    { file: LAUNCHER, title: 'refuses to attach to a same-named pod of another task run' },
  ],
  '37263': [
    { file: LAUNCHER, title: 'deletes the pod when the task is cancelled' },
    {
      file: ORPHANS,
      title:
        'cancelling a run deletes only its own store’s pods, even when a cloned store has the same run id',
    },
    {
      file: ORPHANS,
      title: 'a pod whose run label is not a uuid is skipped, not an abort of the whole sweep',
    },
  ],
}

describe('docs/from-airflow.md, the KPO failures Podline avoids', () => {
  const failures = tableRows(GUIDE, 'What Podline adds').map(([failure = '', upstream = '']) => ({
    failure,
    issues: [...upstream.matchAll(/\]\(https:\/\/github\.com\/apache\/airflow\/issues\/(\d+)\)/g)].map(
      (m) => m[1],
    ),
    links: [...upstream.matchAll(/\]\(([^)]+)\)/g)].map((m) => m[1]),
  }))

  it('cites apache/airflow issues only, and names the tests that pin each row', () => {
    for (const row of failures) {
      expect(row.issues.length, row.failure).toBeGreaterThan(0)
      expect(row.issues).toHaveLength(row.links.length)
    }
    // Sorted: integer-like keys do not keep their order in an object.
    expect(failures.map((r) => r.issues[0]).sort()).toEqual(Object.keys(FAILURES).sort())
    for (const { file, title } of Object.values(FAILURES).flat())
      expect(readFileSync(join(ROOT, file), 'utf8'), `${file} has the test "${title}"`).toContain(
        `'${title}'`,
      )
  })
})

describe('docs/from-airflow.md, the examples', () => {
  const blocks = [...GUIDE.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? '')
  const files = ['kpo-xcom.ts', 'trigger-rules.ts'].map((f) =>
    readFileSync(join(ROOT, 'examples/from-airflow', f), 'utf8'),
  )

  it('shows the code that the tests run, as it is in examples/from-airflow, from its imports on', () => {
    expect(blocks).toHaveLength(2)
    for (const [i, block] of blocks.entries()) {
      expect(block.startsWith('import '), 'a block starts with its imports').toBe(true)
      const file = files[i] ?? ''
      expect(file.slice(file.indexOf('import '))).toBe(block)
    }
  })

  it('podline plan shows where the Jinja template’s value goes', async () => {
    const {
      pods: [echo],
    } = await renderPods(kpoXcom, undefined, { task: 'echo-key1' })
    expect(echo?.spec?.containers.find((c) => c.name === 'base')?.args).toEqual(['{{ write-xcom.key1 }}'])
    expect(GUIDE).toContain('`{{ write-xcom.key1 }}`')
  })
})
