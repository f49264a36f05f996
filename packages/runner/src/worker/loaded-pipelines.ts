import type { AnyPipeline, TaskDefinition } from '@podline/sdk'
import type { ClaimedTaskRun, PoolLane } from '../queue/claim-task-runs.js'

/** A task of a loaded pipeline version, as a claim names it (version and task). */
export interface LoadedTask {
  pipeline: AnyPipeline
  def: TaskDefinition
  /** The names of the pipeline's mapped tasks: their outputs are arrays of their items' values. */
  mappedTasks: ReadonlySet<string>
}

/**
 * The pipeline versions a worker serves: what it claims (versions, kinds of task) and what a claimed
 * task run's version and name resolve to. Known from the loaded plans, so a claim reads nothing more.
 */
export class LoadedPipelines {
  readonly pipelines: readonly AnyPipeline[]
  readonly versions: string[]
  /** The kinds of task the loaded pipelines have: a worker without pod tasks never claims for pods. */
  readonly kinds: Array<ClaimedTaskRun['kind']>
  /** The pools the loaded tasks take slots of, per version and kind: what the claim probes for each. */
  readonly poolLanes: PoolLane[]
  readonly #tasks = new Map<string, LoadedTask>()

  constructor(pipelines: readonly AnyPipeline[]) {
    this.pipelines = pipelines
    const versions = new Set<string>()
    const lanes = new Map<string, PoolLane>()
    for (const pipeline of pipelines) {
      const version = pipeline.plan().version
      versions.add(version)
      const mappedTasks = new Set(pipeline.tasks.filter((t) => t.map !== undefined).map((t) => t.name))
      for (const def of pipeline.tasks) {
        this.#tasks.set(key(version, def.name), { pipeline, def, mappedTasks })
        const { pool } = def.options
        if (pool !== undefined && def.kind !== 'wait')
          lanes.set([version, def.kind, pool].join('\0'), { version, kind: def.kind, pool })
      }
    }
    this.versions = [...versions]
    const kinds = new Set([...this.#tasks.values()].map((t) => t.def.kind))
    this.kinds = (['task', 'pod'] as const).filter((kind) => kinds.has(kind))
    this.poolLanes = [...lanes.values()]
  }

  /** Whether a task of a loaded version takes slots of `pool`. */
  usesPool(pool: string): boolean {
    return this.poolLanes.some((l) => l.pool === pool)
  }

  /** The task a claimed task run runs; undefined when this worker has no such task in that version. */
  task(c: Pick<ClaimedTaskRun, 'version' | 'task'>): LoadedTask | undefined {
    return this.#tasks.get(key(c.version, c.task))
  }

  /**
   * Whether the task run is its run's only one: the pipeline has one task, not mapped (a mapped
   * task's items are task runs of its run too).
   */
  isSoleTask(c: Pick<ClaimedTaskRun, 'version' | 'task'>): boolean {
    const p = this.task(c)?.pipeline
    return p !== undefined && p.tasks.length === 1 && p.tasks[0]?.map === undefined
  }
}

const key = (version: string, task: string) => `${version}\0${task}`
