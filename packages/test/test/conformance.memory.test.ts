import { MemoryStreamBackend, StreamBackend } from "@maf/events"
import { Conformance } from "@maf/events-test"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

Conformance.conformance("the conformance suite on the in-memory backend", Conformance.layerMemory)

// A backend of your own passes the same way: provide it as the StreamBackend, with RawEntries (how to
// write one raw entry into it, as a raw XADD would). Here, the in-memory backend assembled by hand.
const OwnBackend = Layer.effectContext(
  Effect.map(MemoryStreamBackend.make, (backend) =>
    Context.make(StreamBackend.StreamBackend, backend).pipe(
      Context.add(Conformance.RawEntries, {
        append: (stream, fields) => Effect.map(backend.appendFields(stream, [fields]), (ids) => ids[0]!)
      })
    )
  )
)

Conformance.conformance("the conformance suite on a backend assembled by hand", OwnBackend)
