import type { VolumeMount } from './container-spec.js'

// Runs inside the new mount namespace: bind each host folder at its container path, then become the
// container's command (exec keeps the pid, so signals and the exit status are the command's own).
// Arguments are passed positionally so no path is ever parsed by the shell.
const SETUP_SCRIPT = `set -e
while [ "$1" != "--" ]; do
  mkdir -p "$2"
  mount --bind "$1" "$2"
  if [ "$3" = ro ]; then mount -o remount,bind,ro "$2"; fi
  shift 3
done
shift
if [ -n "$1" ]; then mkdir -p "$1" && cd "$1"; fi
shift
exec "$@"`

/**
 * The argv that runs `command` in a private mount namespace with `mounts` bound in place.
 * `unshare` is used rather than a native addon: it is present wherever util-linux is, and needs no build.
 */
export function mountNamespaceCommand(
  command: readonly string[],
  mounts: readonly VolumeMount[],
  workingDir: string | undefined,
): string[] {
  const mountArgs = mounts.flatMap((m) => [m.hostPath, m.containerPath, m.readOnly ? 'ro' : 'rw'])
  return [
    'unshare',
    '--mount',
    '--propagation',
    'private',
    'sh',
    '-c',
    SETUP_SCRIPT,
    'podline-mount',
    ...mountArgs,
    '--',
    workingDir ?? '',
    ...command,
  ]
}
