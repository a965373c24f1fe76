public import Hummingbird
import Logging
import NIOCore

/// A real Hummingbird server on 127.0.0.1 with an ephemeral port, routed by `configure`, for the duration of `body`.
public func withTestServer(
    _ configure: (Router<BasicRequestContext>) -> Void,
    _ body: @Sendable (_ base: String) async throws -> Void
) async throws {
    let router = Router(context: BasicRequestContext.self)
    configure(router)
    let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
    let application = Application(
        router: router,
        configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: nil),
        onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) },
        logger: Logger(label: "test-server", factory: { _ in SwiftLogNoOpLogHandler() })
    )
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await application.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { return }
        try await body("http://127.0.0.1:\(port)")
        group.cancelAll()
    }
}
