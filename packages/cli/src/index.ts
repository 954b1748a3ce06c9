/**
 * `@maf/events-cli`: the `maf-events` command (tail, publish, consume, group, dead-letters, demo,
 * serve) and its parts, for
 * programs that embed them (the dashboard as a layer, the JSON line format, kind globs).
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Cli from "./Cli.js"
/** @since 0.1.0 */
export * as CliError from "./CliError.js"
/** @since 0.1.0 */
export * as CommonOptions from "./CommonOptions.js"
/** @since 0.2.0 */
export * as ConsumeCommand from "./ConsumeCommand.js"
/** @since 0.1.0 */
export * as Dashboard from "./Dashboard.js"
/** @since 0.2.0 */
export * as DeadLetters from "./DeadLetters.js"
/** @since 0.2.0 */
export * as DeadLettersCommand from "./DeadLettersCommand.js"
/** @since 0.1.0 */
export * as DemoCommand from "./DemoCommand.js"
/** @since 0.3.0 */
export * as EventLine from "./EventLine.js"
/** @since 0.2.0 */
export * as ExecHandler from "./ExecHandler.js"
/** @since 0.1.0 */
export * as Feed from "./Feed.js"
/** @since 0.1.0 */
export * as Format from "./Format.js"
/** @since 0.2.0 */
export * as GroupCommand from "./GroupCommand.js"
/** @since 0.2.0 */
export * as GroupFormat from "./GroupFormat.js"
/** @since 0.2.0 */
export * as GroupLedger from "./GroupLedger.js"
/** @since 0.1.0 */
export * as KindGlob from "./KindGlob.js"
/** @since 0.3.0 */
export * as OptionFile from "./OptionFile.js"
/** @since 0.1.0 */
export * as PublishCommand from "./PublishCommand.js"
/** @since 0.3.0 */
export * as PublishInput from "./PublishInput.js"
/** @since 0.1.0 */
export * as RedisUrl from "./RedisUrl.js"
/** @since 0.1.0 */
export * as ServeCommand from "./ServeCommand.js"
/** @since 0.1.0 */
export * as Simulation from "./Simulation.js"
/** @since 0.1.0 */
export * as TailCommand from "./TailCommand.js"
