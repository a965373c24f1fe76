import Foundation

/// Runs `body` on a thread of its own and waits for it without holding one of Swift's concurrency threads.
///
/// A test that blocks for long (waiting on processes it started, sleeping between checks) blocks one of the few
/// threads every async test shares; two such tests at once leave none for the servers and clients of the others,
/// which then time out. Blocking tests run their body here instead.
public func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
