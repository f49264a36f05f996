/**
 * The image the pipelines' pods run: the suite's shell image (support/cluster.ts), handed to the
 * worker processes through their environment, or what infra/cluster provides.
 */
// biome-ignore lint/suspicious/noUndeclaredEnvVars: set by the e2e suite for its workers only, no build reads it.
export const SHELL_IMAGE = process.env.PODLINE_E2E_SHELL_IMAGE || 'podline.local/shell:1'
