import Foundation
import Logging
import SluiceServer
import SluiceServing
import SluiceStore
import SluiceTesting
import Synchronization
import Testing

@testable import SluiceCLI

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A scratch folder holding a `.sluice/` home and pipeline files.
struct Scratch {
    let folder = NSTemporaryDirectory() + "sluice-host-\(UUID().uuidString)"
    var home: String { folder + "/.sluice" }

    init() throws { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let path = folder + "/" + name
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }
}

extension Scratch {
    /// Writes `gate.yaml` (`gatePipeline`) and the Echo module it uses.
    func writeGate() throws {
        try write("gate.yaml", gatePipeline)
        try write("echo.yaml", echoModule)
    }
}

/// Submits the pipeline file `pipeline` over the execution API with `parameters` (a JSON object); returns the
/// execution id.
func submit(_ pipeline: String, at base: URL, parameters: String = "{}") async throws -> String {
    let submitted = try await send(
        base, "/api/executions", method: "POST",
        body: #"{"pipeline": "\#(pipeline)", "parameters": \#(parameters)}"#, contentType: "application/json")
    #expect(submitted.status == 202, "\(submitted.body)")
    return try #require(
        (try JSONSerialization.jsonObject(with: Data(submitted.body.utf8)) as? [String: Any])?["id"] as? String)
}

/// Submits `gate.yaml` and waits until the hosted engine prints its approval link; returns the execution id and the
/// approval token.
func submitGate(
    at base: URL, console: Console, parameters: String = "{}"
) async throws -> (id: String, token: String) {
    let id = try await submit("gate.yaml", at: base, parameters: parameters)
    return (id, try await console.wait(for: #"/approvals/(sl-[0-9a-f]+)"#))
}

/// An Approval step, then a built-in step that runs only once it is approved.
let gatePipeline = """
    name: Gate
    steps:
      - name: Ship It
        type: Approval
        message: Ship version {parameters.Version}?
      - name: Echo
        module: Echo
        after: [Ship It]
        inputs: {value: $.parameters.Version}
    parameters:
      - {name: Version, type: String, default: "1"}
    """

let echoModule = """
    name: Echo
    implementation: {builtin: echo}
    inputs: [{name: value, type: String}]
    outputs: [{name: value, type: String}]
    """

/// Lines the hosted engine printed, to wait on.
final class Console: Sendable {
    private let lines = Mutex<[String]>([])

    func append(_ line: String) { lines.withLock { $0.append(line) } }

    var text: String { lines.withLock { $0.joined(separator: "\n") } }

    /// Waits (up to 20 s) until a printed line matches, and returns the first capture group.
    func wait(for pattern: String) async throws -> String {
        let regex = try NSRegularExpression(pattern: pattern)
        for _ in 0..<400 {
            let text = text
            if let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
                let range = Range(match.range(at: match.numberOfRanges > 1 ? 1 : 0), in: text)
            {
                return String(text[range])
            }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        throw HostTestError("no line matching \(pattern) in:\n\(text)")
    }
}

struct HostTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The hosted server on a free port over `home`, for the duration of `body`.
func withHostedServer(
    home: String, workingDirectory: String, host: String = "127.0.0.1",
    _ body: @Sendable (URL, HostedServer, Console) async throws -> Void
) async throws {
    let console = Console()
    var logger = Logger(label: "sluice.test")
    logger.logLevel = .critical
    let server = try HostedServer(
        home: .init(path: home), configuration: .init(host: host, port: 0), workingDirectory: workingDirectory,
        logger: logger, sink: { console.append($0) })
    let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.run { continuation.yield($0) } }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { return }
        try await body(URL(string: "http://127.0.0.1:\(port)")!, server, console)
        group.cancelAll()
    }
}

/// One HTTP exchange's outcome.
struct Reply: Sendable {
    var status: Int
    var body: String
    var contentType: String
    /// `x-amzn-ErrorType`, on an error.
    var errorType: String?
}

private let session = URLSession(configuration: .ephemeral)

/// Sends one request over real HTTP.
func send(
    _ base: URL, _ path: String, method: String = "GET", body: String? = nil, contentType: String? = nil,
    headers: [String: String] = [:]
) async throws -> Reply {
    var request = URLRequest(url: URL(string: base.absoluteString + path)!)
    request.httpMethod = method
    request.httpBody = body.map { Data($0.utf8) }
    if let contentType { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
    for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
    let (data, response) = try await session.data(for: request)
    let http = response as! HTTPURLResponse
    return Reply(
        status: http.statusCode, body: String(decoding: data, as: UTF8.self),
        contentType: http.value(forHTTPHeaderField: "Content-Type") ?? "",
        errorType: http.value(forHTTPHeaderField: "x-amzn-ErrorType"))
}

/// Polls `GET /api/executions/{id}` until the execution finishes; returns its final JSON.
func finalStatus(_ base: URL, _ id: String) async throws -> [String: Any] {
    for _ in 0..<400 {
        let reply = try await send(base, "/api/executions/\(id)")
        let object = try JSONSerialization.jsonObject(with: Data(reply.body.utf8)) as? [String: Any] ?? [:]
        if let status = object["status"] as? String, ["succeeded", "failed", "cancelled"].contains(status) {
            return object
        }
        try await Task.sleep(nanoseconds: 50_000_000)
    }
    throw HostTestError("execution \(id) did not finish")
}

/// Waits for a child process to end without blocking a thread of the (small) cooperative pool, which the servers
/// and clients of concurrently running tests need.
func waitForExit(_ process: Process) async {
    while process.isRunning { try? await Task.sleep(nanoseconds: 20_000_000) }
}

/// A `sluice run` in the background over a scratch home, its output in a file.
struct SluiceRun {
    let process = Process()
    let log: String

    init(_ arguments: [String], in scratch: Scratch, environment: [String: String] = [:]) throws {
        log = scratch.folder + "/run-\(UUID().uuidString).log"
        FileManager.default.createFile(atPath: log, contents: nil)
        process.executableURL = URL(fileURLWithPath: SluiceBinary.path)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: scratch.folder)
        process.environment = ProcessInfo.processInfo.environment.merging(["SLUICE_HOME": scratch.home]) { $1 }
            .merging(environment) { $1 }
        process.standardOutput = FileHandle(forWritingAtPath: log)
        process.standardError = FileHandle(forWritingAtPath: log)
        try process.run()
    }

    /// Waits (up to 30 s) until the output matches, and returns the first capture.
    func wait(for pattern: Regex<(Substring, Substring)>) async throws -> String {
        for _ in 0..<600 {
            let text = String(decoding: FileManager.default.contents(atPath: log) ?? Data(), as: UTF8.self)
            if let match = text.firstMatch(of: pattern) { return String(match.output.1) }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        let text = String(decoding: FileManager.default.contents(atPath: log) ?? Data(), as: UTF8.self)
        throw HostTestError("sluice \(process.arguments ?? []) printed nothing matching in:\n\(text)")
    }

    /// Everything printed so far.
    var output: String { String(decoding: FileManager.default.contents(atPath: log) ?? Data(), as: UTF8.self) }

    /// Waits (up to `seconds`) until the output has `count` matches, and returns the first capture of each.
    func wait(for pattern: Regex<(Substring, Substring)>, count: Int, seconds: Int) async throws -> [String] {
        for _ in 0..<(seconds * 20) {
            let captures = output.matches(of: pattern).map { String($0.output.1) }
            if captures.count >= count { return captures }
            if !process.isRunning { break }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        throw HostTestError("sluice \(process.arguments ?? []) printed fewer than \(count) matches in:\n\(output)")
    }

    /// Runs `sluice ARGUMENTS` to its end; returns its exit status and output.
    static func finished(
        _ arguments: [String], in scratch: Scratch, environment: [String: String] = [:]
    ) async throws -> (Int32, String) {
        let run = try SluiceRun(arguments, in: scratch, environment: environment)
        await waitForExit(run.process)
        return (run.process.terminationStatus, run.output)
    }

    /// kill -9, as a crash would.
    func kill() async {
        Glibc.kill(process.processIdentifier, SIGKILL)
        await waitForExit(process)
    }
}

/// A server-sent event stream read over a plain socket, as a browser's `EventSource` reads it.
final class EventStream: @unchecked Sendable {
    private let socket: Int32
    private var text = ""
    /// The `id` of the last event `next` returned, if it had one.
    private(set) var lastID: String?

    /// Opens `GET path` on the loopback server at `base`, with the console cookie `cookie` and the header lines
    /// `headers` (e.g. `Last-Event-ID: 7`) if given.
    init(_ base: URL, _ path: String, cookie: String? = nil, headers: [String] = []) throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(base.port ?? 80).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard socket >= 0, connected == 0 else { throw HostTestError("cannot connect to \(base)") }
        // A stream that stops sending fails the test after 30 s instead of hanging it.
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let request =
            "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
            + (cookie.map { "Cookie: \($0)\r\n" } ?? "") + headers.map { $0 + "\r\n" }.joined() + "\r\n"
        _ = request.utf8CString.withUnsafeBufferPointer { Glibc.send(socket, $0.baseAddress, $0.count - 1, 0) }
    }

    deinit { Glibc.close(socket) }

    /// The data of the next event named `name` (other events are skipped).
    func next(_ name: String) async throws -> String {
        try await onOwnThread { [self] in
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                if let match = text.firstMatch(of: /(?:id: (\d+)\n)?event: (\w+)\ndata: ([^\n]*)\n\n/) {
                    text.removeSubrange(..<match.range.upperBound)
                    if match.output.2 == name {
                        lastID = match.output.1.map(String.init)
                        return String(match.output.3)
                    }
                    continue
                }
                let count = recv(socket, &buffer, buffer.count, 0)
                guard count > 0 else { throw HostTestError("the stream ended before an event '\(name)':\n\(text)") }
                text += String(decoding: buffer[..<count], as: UTF8.self)
            }
        }
    }
}
