import { type ExportResult, ExportResultCode } from '@opentelemetry/core'
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace'

/**
 * What became of the spans handed to the exporters: how many are still on their way, and the one
 * warning a process gives when some are lost. A collector that is down fails every export; saying
 * so each time would bury the process's own output under the same line.
 */
export class SpanDelivery {
  #inFlight = 0
  #warned = false

  constructor(private readonly warn: (message: string) => void) {}

  /** Spans given to an exporter that has not answered for them yet. */
  get inFlight(): number {
    return this.#inFlight
  }

  /** The exporter, with its deliveries counted and its failures reported (`where` names its target). */
  track(exporter: SpanExporter, where: string): SpanExporter {
    return {
      export: (spans: ReadableSpan[], done: (result: ExportResult) => void) => {
        this.#inFlight += spans.length
        exporter.export(spans, (result) => {
          this.#inFlight -= spans.length
          if (result.code !== ExportResultCode.SUCCESS)
            this.dropped(
              spans.length,
              `exporting them to ${where} failed: ${result.error?.message ?? 'no reason given'}`,
            )
          done(result)
        })
      },
      shutdown: () => exporter.shutdown(),
      forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
    }
  }

  /** Says that `count` spans were lost and why, unless this process has said it already. */
  dropped(count: number, why: string): void {
    if (this.#warned) return
    this.#warned = true
    const what =
      count > 0 ? `${count} span${count === 1 ? ' was' : 's were'} dropped` : 'spans may have been dropped'
    this.warn(
      `${what}: ${why}. Check OTEL_EXPORTER_OTLP_ENDPOINT and the collector; the work itself is not affected, and further drops are not reported.`,
    )
  }
}
