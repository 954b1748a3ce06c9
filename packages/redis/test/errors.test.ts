/**
 * How a failure of ioredis becomes the port's reason: a server's refusal is `Rejected`, but a reply
 * that says the command was not run here and now (a redirection, a cluster or a dataset not ready, a
 * replica that was a master) is `Unavailable`, so that the bus tries it again instead of giving up.
 */
import { describe, expect, it } from "@effect/vitest"
import { reasonOf } from "../src/internal/errors.js"

/** A reply error as ioredis gives it (`redis-errors`' `ReplyError`: its name is what tells it). */
const reply = (message: string) => Object.assign(new Error(message), { name: "ReplyError" })

describe("the reason of a failure", () => {
  it.each([
    "MOVED 3013 127.0.0.1:20994",
    "ASK 3013 127.0.0.1:20994",
    "TRYAGAIN Multiple keys request during rehashing of slot",
    "CLUSTERDOWN The cluster is down",
    "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
    "READONLY You can't write against a read only replica.",
    "LOADING Redis is loading the dataset in memory",
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
  ])("%s: not run, worth trying again (Unavailable)", (message) => {
    expect(reasonOf(reply(message))).toBe("Unavailable")
  })

  it.each([
    "BUSYGROUP Consumer Group name already exists",
    "NOPERM this user has no permissions to run the 'xadd' command",
    "WRONGTYPE Operation against a key holding the wrong kind of value",
    "OOM command not allowed when used memory > 'maxmemory'.",
    "ERR The ID specified in XADD is equal or smaller than the target stream top item",
    "NOSCRIPT No matching script. Please use EVAL."
  ])("%s: refused (Rejected)", (message) => {
    expect(reasonOf(reply(message))).toBe("Rejected")
  })

  it("a command time-out is Timeout; a connection that is not there is Unavailable", () => {
    expect(reasonOf(Object.assign(new Error("no answer within 2000 ms"), { name: "TimeoutError" }))).toBe(
      "Timeout"
    )
    expect(reasonOf(new Error("Command timed out"))).toBe("Timeout")
    expect(reasonOf(new Error("Connection is closed."))).toBe("Unavailable")
  })
})
