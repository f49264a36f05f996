/**
 * Keeps the id of the run runLocal makes (pass `onRun` in its options): a test reads the run's
 * states, XComs and logs by it, also after the run failed.
 */
export function runIdKeeper(): { readonly id: string; readonly onRun: (runId: string) => void } {
  let id = ''
  return {
    get id() {
      return id
    },
    onRun: (runId) => {
      id = runId
    },
  }
}
