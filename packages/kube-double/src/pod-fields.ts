// The downward API's fields have one home with the rest of how a pod's container becomes a process.
export { podField } from '@podline/container-process'
