/**
 * A pool's name, as a task's `pool` option names it and `podline pools set` creates it: letters,
 * digits, '-', '_' and '.', starting with a letter or digit (Airflow's `default_pool` fits), at most
 * MAX_POOL_NAME_LENGTH characters. It never becomes part of a Kubernetes name, so capitals are fine.
 */
export const POOL_NAME_PATTERN = /^[A-Za-z0-9][-_.A-Za-z0-9]*$/
export const MAX_POOL_NAME_LENGTH = 100

/** Why `name` cannot name a pool, or undefined when it can: the SDK and `podline pools set` both ask. */
export function poolNameProblem(name: unknown): string | undefined {
  const rule = `a pool name is 1-${MAX_POOL_NAME_LENGTH} letters, digits, '-', '_' or '.', starting with a letter or digit, e.g. "warehouse"`
  if (typeof name !== 'string') return `pool must be a string; ${rule}`
  if (name.length > MAX_POOL_NAME_LENGTH || !POOL_NAME_PATTERN.test(name))
    return `invalid pool name ${JSON.stringify(name)}: ${rule}`
  return undefined
}
