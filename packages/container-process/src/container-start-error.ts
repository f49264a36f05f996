/** The process could not be started (the runtime's StartError: executable missing, bad working dir). */
export class ContainerStartError extends Error {
  override readonly name = 'ContainerStartError'
  constructor(
    message: string,
    readonly containerName: string,
  ) {
    super(message)
  }
}
