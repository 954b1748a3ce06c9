/**
 * Partitioned streams: one logical stream over N keys, so that a Redis Cluster spreads its load over
 * N hash slots on different masters. This module is the naming and routing scheme, as pure
 * functions; `EventBus`, `EventReader` and `EventConsumer` take a `partitions` option and apply it.
 *
 * - Keys: one partition is the stream's own key, unchanged. Partition i of N (N ≥ 2) of stream `S`
 *   is `S:p<i>/<N>:{<tag>}` (`maf:events:p0/3:{3}`), its dead letters `S:p<i>/<N>:{<tag>}:dead`: the
 *   hash tag puts both in one slot, chosen in the i-th of N equal slot ranges, so that N partitions
 *   spread evenly over M masters of a cluster made by `redis-cli --cluster create` when N is a
 *   multiple of M.
 * - Routing: an event goes to partition `crc16(routingKey) mod N`, its routing key its arena by
 *   default: one arena's events stay in one partition, in order. Order holds per partition only.
 *
 * @since 0.3.0
 */
import * as Config from "effect/Config"
import type * as Effect from "effect/Effect"
import type * as Event from "./Event.js"
import * as PartitionReader from "./internal/partitionReader.js"
import * as Internal from "./internal/partitions.js"
import type * as ReadResult from "./ReadResult.js"
import type { StreamBackend, StreamBackendError } from "./StreamBackend.js"

/**
 * Redis Cluster's number of hash slots (16384).
 *
 * @since 0.3.0
 * @category constants
 */
export const slotCount: number = Internal.slotCount

/**
 * The most partitions a stream may have (1024: each keeps a range of 16 slots).
 *
 * @since 0.3.0
 * @category constants
 */
export const maxPartitions: number = Internal.maxPartitions

/**
 * CRC16/XMODEM of a string's UTF-8 bytes (polynomial 0x1021, initial value 0), as Redis Cluster
 * hashes keys; Python's `binascii.crc_hqx(text.encode(), 0)` gives the same.
 *
 * @since 0.3.0
 * @category hashing
 */
export const crc16 = (text: string): number => Internal.crc16(text)

/**
 * The hash slot of a key, as Redis Cluster's `CLUSTER KEYSLOT` answers it: the CRC16 of its hash tag
 * (between the first `{` and the next `}`, when not empty), else of the whole key, modulo 16384.
 *
 * @since 0.3.0
 * @category hashing
 */
export const keySlot: (key: string) => number = Internal.keySlot

/**
 * The slots partition `partition` of `partitions` hashes into: the `partition`-th of `partitions`
 * equal ranges of the 16384, less two slots at each end (so that no tool's rounding of a cluster's
 * slot split moves a partition to a neighbouring master).
 *
 * @since 0.3.0
 * @category naming
 */
export const slotRange: (
  partition: number,
  partitions: number
) => { readonly first: number; readonly last: number } = Internal.slotRange

/**
 * The keys of a stream's partitions, partition 0 first: `[stream]` for one partition (today's key,
 * unchanged), else `<stream>:p<i>/<N>:{<tag>}` each, `<tag>` the smallest number whose slot (as a
 * decimal hash tag) lies in {@link slotRange}. Throws a `RangeError` for a count outside 1 to
 * {@link maxPartitions}, or a partitioned stream whose name holds `{` or `}`.
 *
 * @since 0.3.0
 * @category naming
 * @example
 * import { Partitions } from "@maf/events"
 *
 * Partitions.keys("maf:events", 3)
 * // ["maf:events:p0/3:{3}", "maf:events:p1/3:{1}", "maf:events:p2/3:{0}"]: slots 1584, 9842, 13907
 */
export const keys = (stream: string, partitions: number): ReadonlyArray<string> =>
  Internal.keys(stream, partitions)

/**
 * The dead-letter stream of a partition key (or of an unpartitioned stream): `<key>:dead`, in the
 * key's slot. What a consumer group dead-letters to by default.
 *
 * @since 0.3.0
 * @category naming
 */
export const deadLetterKey = (key: string): string => `${key}:dead`

/**
 * The partition of a routing key: CRC16/XMODEM of its UTF-8 bytes, modulo `partitions` (0 for one
 * partition, and for the empty key).
 *
 * @since 0.3.0
 * @category routing
 */
export const partitionOf: (routingKey: string, partitions: number) => number = Internal.partitionOf

/**
 * The default routing key of an event: its arena. An event without an arena has `""`, which goes to
 * partition 0 (so arena-less events keep their order among themselves).
 *
 * @since 0.3.0
 * @category routing
 */
export const byArena: (event: Event.Input<string, unknown>) => string = Internal.byArena

/**
 * The partition count from `MAF_EVENTS_PARTITIONS` (an integer from 1 to {@link maxPartitions}),
 * else 1.
 *
 * @since 0.3.0
 * @category config
 */
export const config: Config.Config<number> = Config.integer("MAF_EVENTS_PARTITIONS").pipe(
  Config.validate({
    message: `MAF_EVENTS_PARTITIONS must be an integer from 1 to ${Internal.maxPartitions}`,
    validation: (n) => n >= 1 && n <= Internal.maxPartitions
  }),
  Config.withDefault(1)
)

/**
 * Where a reader of a partitioned stream stands: the last id delivered, by partition key. Given back
 * as `EventReader`'s `positions`, it resumes each partition right after its entry.
 *
 * @since 0.3.0
 * @category positions
 */
export type Positions = { readonly [partitionKey: string]: string }

/**
 * The positions after a result of a partitioned reader: its entry's id for its partition. A `Gap`
 * (its entry comes next) and a result without a partition leave them as they are.
 *
 * @since 0.3.0
 * @category positions
 */
export const advance = (positions: Positions, result: ReadResult.ReadResult<Event.Any>): Positions =>
  result._tag === "Gap" || result.partition === undefined
    ? positions
    : { ...positions, [result.partition]: result.streamId }

/**
 * The last id of every partition now (as a `"$"` start pins it): a reader given these `positions`
 * reads what is written from now on, and its positions then name every partition, so that a resume
 * neither replays nor skips any.
 *
 * @since 0.3.0
 * @category positions
 */
export const lastIds = (options: {
  readonly stream: string
  readonly partitions: number
}): Effect.Effect<Positions, StreamBackendError, StreamBackend> =>
  PartitionReader.lastIds(options.stream, options.partitions)
