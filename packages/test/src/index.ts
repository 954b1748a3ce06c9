/**
 * @since 0.1.0
 */
export * as RedisTestServer from "./RedisTestServer.js"

/**
 * @since 0.1.0
 */
export * as TcpProxy from "./TcpProxy.js"
