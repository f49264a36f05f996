import { pipeline } from '@podline/sdk'

/*
 * The pod of the real-cluster pod benchmark (pod-cluster.ts), loaded by `podline worker`: its base
 * reads the machine's uptime (/proc/uptime, in hundredths of a second; a container shares the host's)
 * as its last act and returns it, so the bench knows when the container ended to 10 ms, where the
 * pod status's finishedAt is whole seconds. The double runs the same command as a host process.
 */
export default pipeline('bench-cluster-pod').pod(
  'work',
  {},
  {
    image: process.env.PODLINE_BENCH_POD_IMAGE || 'podline.local/shell:1',
    command: ['sh', '-c', 'read up _ </proc/uptime; printf \'{"up":%s}\' "$up" > "$PODLINE_XCOM_PATH"'],
    resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '64Mi' } },
  },
)
