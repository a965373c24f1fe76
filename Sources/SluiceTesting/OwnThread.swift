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

/// Runs `process` to the end on a thread of its own and returns what it printed on standard output and standard
/// error: blocking one of Swift's concurrency threads would starve a server under test that answers the process.
public func runOffThePool(_ process: Process) async throws -> (output: Data, error: String) {
    let errorFile = FileManager.default.temporaryDirectory.appendingPathComponent(
        "sluice-test-\(UUID().uuidString).err")
    _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: errorFile) }
    let output = Pipe()
    process.standardOutput = output
    process.standardError = try FileHandle(forWritingTo: errorFile)
    let data = try await onOwnThread {
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return data
    }
    return (data, (try? String(contentsOf: errorFile, encoding: .utf8)) ?? "")
}
