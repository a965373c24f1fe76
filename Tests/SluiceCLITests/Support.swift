import Foundation
import SluiceCore
import SluiceML
import SluiceStore
import SluiceTesting

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A scratch `.sluice/` home with a real store and linear models registered as `G/1`, `G/2`, … .
struct ServingSandbox {
    let folder = NSTemporaryDirectory() + "sluice-serving-\(UUID().uuidString)"
    var homePath: String { folder + "/.sluice" }
    let store: SQLiteStore

    init() throws {
        try FileManager.default.createDirectory(atPath: folder + "/.sluice", withIntermediateDirectories: true)
        store = try SQLiteStore(path: folder + "/.sluice/sluice.db", durability: .process)
    }

    /// Registers `y = slope · x + intercept` (one feature) in `group`; returns its version number.
    @discardableResult
    func register(
        _ group: String, slope: Double, intercept: Double = 0, status: ModelApprovalStatus = .approved,
        time: Double = 0
    ) throws -> Int {
        let model = ModelArtifact(
            inputColumns: ["x"], features: ["x"], label: "y", transforms: [], algorithm: "linear",
            linear: LinearModel(coefficients: [slope], intercept: intercept),
            training: .init(rows: 1, trainedAt: "2026-11-21T00:00:00Z"))
        let path = folder + "/model-\(UUID().uuidString).json"
        try model.save(to: path)
        let hash = "sha256:" + SHA256.hex(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        return try store.registerModelVersion(
            NewModelVersion(
                group: group, artifactPath: path, artifactHash: hash, status: status,
                createdAt: time),
            by: "test"
        ).version
    }

    /// Starts the built `sluice` binary in the sandbox, its output going to two files.
    ///
    /// With `prelude`, the binary runs in a private mount namespace (`unshare -m`) after the shell commands of
    /// `prelude` (e.g. mounting a small filesystem, gone with the process). Each program execs the next, so the
    /// process is still the binary: killing it stops everything, and `/proc/PID/root` shows the namespace's files.
    func start(_ arguments: [String], inNamespaceAfter prelude: String? = nil) throws -> RunningCommand {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: SluiceBinary.path)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        var environment = ProcessInfo.processInfo.environment
        environment["SLUICE_HOME"] = homePath
        environment["SLUICE_DURABILITY"] = "process"
        if let prelude {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
            process.arguments = ["-m", "/bin/sh", "-c", prelude + "\nexec \"$SLUICE\" \"$@\"", "sh"] + arguments
            environment["SLUICE"] = SluiceBinary.path
        }
        process.environment = environment
        let out = folder + "/out-\(UUID().uuidString)"
        let err = out + ".err"
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        _ = FileManager.default.createFile(atPath: err, contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: out)
        process.standardError = FileHandle(forWritingAtPath: err)
        try process.run()
        return RunningCommand(process: process, outPath: out, errPath: err)
    }

    /// Runs the built `sluice` binary to the end; returns its exit status, standard output and standard error.
    func run(_ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
        let command = try start(arguments)
        command.process.waitUntilExit()
        return (command.process.terminationStatus, command.out(), command.err())
    }
}

/// A `sluice` process started by a test.
struct RunningCommand {
    let process: Process
    let outPath: String
    let errPath: String

    func out() -> String { String(decoding: FileManager.default.contents(atPath: outPath) ?? Data(), as: UTF8.self) }
    func err() -> String { String(decoding: FileManager.default.contents(atPath: errPath) ?? Data(), as: UTF8.self) }
    func output() -> String { out() + err() }

    /// The first capture of `pattern` in standard output, waiting up to 60 s for it to be printed.
    func firstMatch(of pattern: Regex<(Substring, Substring)>) async -> String? {
        var found: String?
        _ = await eventually(within: 60) {
            found = out().firstMatch(of: pattern).map { String($0.1) }
            return found != nil || !process.isRunning
        }
        return found
    }
}

/// One HTTP exchange: status, body, the variant header, Retry-After and the captured inference's id.
struct Exchange: Sendable {
    var status: Int
    var body: String
    var variant: String?
    var retryAfter: String?
    var inferenceId: String? = nil
}

let httpSession: URLSession = {
    let configuration = URLSessionConfiguration.ephemeral
    configuration.httpMaximumConnectionsPerHost = 8
    return URLSession(configuration: configuration)
}()

/// GETs `path`; returns the status and the body.
func get(_ port: Int, _ path: String) async throws -> (status: Int, body: String) {
    let (data, response) = try await httpSession.data(from: URL(string: "http://127.0.0.1:\(port)\(path)")!)
    return ((response as! HTTPURLResponse).statusCode, String(decoding: data, as: UTF8.self))
}

/// POSTs JSON `body` to `path` with `key` in `x-api-key` and further `headers`.
func post(
    _ port: Int, _ path: String, _ body: String, key: String?, headers: [String: String] = [:]
) async throws -> Exchange {
    var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
    request.httpMethod = "POST"
    request.httpBody = Data(body.utf8)
    request.setValue("application/json", forHTTPHeaderField: "Content-Type")
    if let key { request.setValue(key, forHTTPHeaderField: "x-api-key") }
    for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
    let (data, response) = try await httpSession.data(for: request)
    let http = response as! HTTPURLResponse
    return Exchange(
        status: http.statusCode, body: String(decoding: data, as: UTF8.self),
        variant: http.value(forHTTPHeaderField: "x-Amzn-Invoked-Production-Variant"),
        retryAfter: http.value(forHTTPHeaderField: "Retry-After"),
        inferenceId: http.value(forHTTPHeaderField: "x-sluice-inference-id"))
}

/// Polls `condition` every 20 ms until it holds or `seconds` pass (generous: the whole suite shares two cores);
/// returns whether it held.
func eventually(within seconds: Double = 60, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

extension ServingSandbox {
    /// `run` on a thread of its own, for async tests: blocking one of Swift's few concurrency threads while the
    /// command works would starve the servers other tests are answering with.
    func running(_ arguments: [String]) async throws -> (status: Int32, out: String, err: String) {
        try await onOwnThread { try self.run(arguments) }
    }
}
