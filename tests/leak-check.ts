import { afterAll } from 'vitest'

/*
 * Run after every test file (vitest.config.ts's setupFiles; its afterAll runs after the file's own):
 * a file that leaves a child process, a server or a socket open (a worker not stopped, a pool not
 * ended, a double not closed) fails here, naming what it left, instead of slowing or hanging the
 * files that follow in the same process.
 */
const LEAKS = new Set(['ProcessWrap', 'TCPServerWrap', 'TCPSocketWrap'])
const GRACE_MS = 3000

afterAll(async () => {
  const deadline = Date.now() + GRACE_MS
  let open = leaked()
  // Closing is asynchronous: a socket ended in the file's last hook may take a moment to go.
  while (open.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    open = leaked()
  }
  if (open.length > 0) {
    const byName = new Map<string, number>()
    for (const name of open) byName.set(name, (byName.get(name) ?? 0) + 1)
    const counts = [...byName].map(([name, count]) => `${count} ${name}`)
    throw new Error(
      `this test file left ${counts.join(', ')} open after its last test: stop what it started (workers, pools, servers, child processes) in its afterAll/afterEach`,
    )
  }
})

function leaked(): string[] {
  return process.getActiveResourcesInfo().filter((name) => LEAKS.has(name))
}
