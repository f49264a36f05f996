export type LogLevel = 'debug' | 'info' | 'warn' | 'error'
/** Where the runner's own lines go (the worker, its scheduler, runLocal): the CLI prints them, apps/worker writes pino JSON. */
export type WorkerLog = (level: LogLevel, message: string, fields?: Record<string, unknown>) => void
export const silentLog: WorkerLog = () => {}
