/**
 * A tracer that records the spans made with it (an Effect `Tracer`, as an exporter would see them):
 * name, kind, parent, attributes, links, how it ended. For the tracing tests.
 */
import type * as Context from "effect/Context"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"

/** One recorded span. */
export class RecordedSpan implements Tracer.Span {
  readonly _tag = "Span"
  readonly traceId: string
  readonly spanId: string
  readonly sampled = true
  status: Tracer.SpanStatus
  readonly attributes = new Map<string, unknown>()
  readonly links: Array<Tracer.SpanLink>
  constructor(
    readonly name: string,
    readonly parent: Option.Option<Tracer.AnySpan>,
    readonly context: Context.Context<never>,
    links: ReadonlyArray<Tracer.SpanLink>,
    startTime: bigint,
    readonly kind: Tracer.SpanKind,
    ids: () => string
  ) {
    this.traceId = Option.isSome(parent) ? parent.value.traceId : ids().padStart(32, "a")
    this.spanId = ids().padStart(16, "b")
    this.links = [...links]
    this.status = { _tag: "Started", startTime }
  }
  end(endTime: bigint, exit: Exit.Exit<unknown, unknown>): void {
    if (this.status._tag === "Started")
      this.status = { _tag: "Ended", startTime: this.status.startTime, endTime, exit }
  }
  attribute(key: string, value: unknown): void {
    this.attributes.set(key, value)
  }
  event(): void {}
  addLinks(links: ReadonlyArray<Tracer.SpanLink>): void {
    this.links.push(...links)
  }

  /** Whether it ended, and with a failure. */
  get failed(): boolean {
    return this.status._tag === "Ended" && Exit.isFailure(this.status.exit)
  }
  get ended(): boolean {
    return this.status._tag === "Ended"
  }
  /** The parent's span id, if any. */
  get parentSpanId(): string | undefined {
    return Option.isSome(this.parent) ? this.parent.value.spanId : undefined
  }
  /** The span ids it links to. */
  get linkedSpanIds(): ReadonlyArray<string> {
    return this.links.map((link) => link.span.spanId)
  }
  /** Its context as a W3C traceparent. */
  get traceparent(): string {
    return `00-${this.traceId}-${this.spanId}-01`
  }
}

/** A recording tracer and what it recorded. */
export const make = () => {
  const spans: Array<RecordedSpan> = []
  let n = 0
  const ids = () => (++n).toString(16)
  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind) => {
      const span = new RecordedSpan(name, parent, context, links, startTime, kind, ids)
      spans.push(span)
      return span
    },
    context: (f) => f()
  })
  /** The spans named `name`, in the order made. */
  const named = (name: string) => spans.filter((span) => span.name === name)
  return { tracer, spans, named }
}
