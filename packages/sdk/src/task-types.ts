import type { TriggerRule } from './task-options.js'

/**
 * One task in a pipeline's type-level state. The builder accumulates these as a flat union, one
 * member per task, instead of merging them into one object type per step: each merged object
 * referred to the previous one, so reading an early task's output through 50 of them hit the
 * compiler's instantiation depth limit (TS2589). A union stays flat however long the pipeline is.
 */
export interface TaskEntry<N extends string = string, O = unknown> {
  readonly name: N
  readonly output: O
}

/** The output type of task `N`. */
export type OutputOf<Tasks extends TaskEntry, N> = Extract<Tasks, { readonly name: N }>['output']

/** Every task's output keyed by name. Built on demand; the builder itself never needs it. */
export type OutputMap<Tasks extends TaskEntry> = { [E in Tasks as E['name']]: E['output'] }

/**
 * What each trigger rule lets happen, as the runner decides it (engine/trigger-rules.ts). A rule
 * added to TRIGGER_RULES fails to compile here until it is described.
 */
interface RuleTraits {
  all_success: { runsAfterMissingUpstream: false; toleratesFailedUpstream: false; maySkipItself: false }
  all_done: { runsAfterMissingUpstream: true; toleratesFailedUpstream: true; maySkipItself: false }
  all_failed: { runsAfterMissingUpstream: true; toleratesFailedUpstream: true; maySkipItself: true }
  one_success: { runsAfterMissingUpstream: true; toleratesFailedUpstream: true; maySkipItself: true }
  one_failed: { runsAfterMissingUpstream: true; toleratesFailedUpstream: true; maySkipItself: true }
  // Runs after a skipped upstream, is upstream_failed after a failed one.
  none_failed: { runsAfterMissingUpstream: true; toleratesFailedUpstream: false; maySkipItself: false }
}
type RulesWhere<Trait extends keyof RuleTraits[TriggerRule]> = {
  [R in TriggerRule]: RuleTraits[R][Trait] extends true ? R : never
}[TriggerRule]

/** Rules under which a task runs although an upstream failed or was skipped. */
type ToleratesMissingUpstream = RulesWhere<'runsAfterMissingUpstream'>
/** Rules under which a task runs although an upstream failed: the failure does not fail the run. */
type ToleratesFailedUpstream = RulesWhere<'toleratesFailedUpstream'>
/** Rules that can leave the task itself skipped or upstream_failed in a successful run. */
type MaySkipItself = RulesWhere<'maySkipItself'>

/**
 * What a task receives: the outputs of exactly the tasks it needs. Under a rule that lets it run
 * after an upstream failed or was skipped, that upstream's output may be missing: `T | undefined`.
 */
export type InputsFor<
  Tasks extends TaskEntry,
  Needs extends readonly PropertyKey[],
  Rule extends TriggerRule,
> = DrainOuterGeneric<{
  [K in Needs[number]]: OutputOf<Tasks, K> | ([Rule] extends [ToleratesMissingUpstream] ? undefined : never)
}>

/** Evaluates `T` where it is used, so messages show the object itself rather than an alias (Kysely's trick). */
type DrainOuterGeneric<T> = [T] extends [unknown] ? T : never

/**
 * The names of the tasks a successful run may lack, after adding task `N`. A rule that tolerates a
 * failed upstream lets a successful run contain failed tasks; which ones is a graph question, so
 * every task defined before it counts as possibly absent (sound, and cheap to compute). The new
 * task itself may be absent when its rule can skip it, when a pod may skip itself
 * (`skipOnExitCode`), or when it needs a possibly absent task and can be skipped or
 * upstream_failed with it. Kept as a union of names beside the entries, so the common case (no
 * such task) costs nothing per step.
 */
export type AddAbsent<
  Tasks extends TaskEntry,
  Absent extends string,
  N extends string,
  Needs extends readonly PropertyKey[],
  Rule extends TriggerRule,
  SkipsItself extends boolean = false,
> =
  | ([Extract<Rule, ToleratesFailedUpstream>] extends [never] ? Absent : Absent | Tasks['name'])
  | (true extends SkipsItself
      ? N
      : [Extract<Rule, MaySkipItself>] extends [never]
        ? [Rule] extends ['all_done']
          ? never
          : [Needs[number] & Absent] extends [never]
            ? never
            : N
        : N)

/**
 * What a successful run returns: the tasks that may be absent are optional members, the rest are
 * certain. A run that does not succeed returns nothing (runLocal rejects).
 */
export type RunOutputs<Tasks extends TaskEntry, Absent extends string> = Simplify<
  { [E in Tasks as E['name'] extends Absent ? never : E['name']]: E['output'] } & {
    [E in Tasks as E['name'] extends Absent ? E['name'] : never]?: E['output']
  }
>

export type Simplify<T> = { [K in keyof T]: T[K] } & {}
