import ArgumentParser
import Foundation
import Logging
import SluiceCore
import SluiceEngine
import SluiceServer
import SluiceStore
import Synchronization

/// `sluice-bench console-bench`: the web console's speed with many executions in the store.
///
/// Figures: time to the first byte of the executions page (and of a filtered page, a deep page and one execution's
/// page) beside `/ping` on the same server, and the time from an approval's commit to the state event an open
/// execution page receives over server-sent events.
struct ConsoleBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console-bench", abstract: "Measure the web console's first byte and live-update latency.")

    @Option(help: "Executions in the store.") var executions: Int = 10_000
    @Option(help: "Requests per page measured.") var requests: Int = 200
    @Option(help: "Approvals whose state change is timed to an open page.") var changes: Int = 20

    func run() async throws {
        let folder = NSTemporaryDirectory() + "sluice-console-bench-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Self.gate.write(toFile: folder + "/gate.yaml", atomically: true, encoding: .utf8)
        try Self.echo.write(toFile: folder + "/echo.yaml", atomically: true, encoding: .utf8)
        let home = SluiceHome(path: folder + "/.sluice")
        let filled = Date()
        try fill(home)
        print(
            String(
                format: "console benchmark: %d finished executions recorded in %.1f s (%@)", executions,
                Date().timeIntervalSince(filled), folder))

        let lines = PrintedLines()
        var logger = Logger(label: "sluice.bench")
        logger.logLevel = .critical
        let server = try HostedServer(
            home: home, configuration: .init(host: "127.0.0.1", port: 0), workingDirectory: folder, logger: logger,
            sink: { line in lines.append(line) })
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run { continuation.yield($0) } }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { return }
            let newest = try server.context.store.executions(limit: 60)
            let deep = try server.context.store.executions(limit: executions / 2).last!
            let pages = [
                ("GET /ping (the peer: no page, same server)", "/ping"),
                ("executions page (newest 50)", "/console/executions"),
                ("executions page filtered by status", "/console/executions?status=succeeded"),
                ("executions page half-way down", "/console/executions?before=\(deep.createdAt)~\(deep.id)"),
                ("one execution's page", "/console/executions/\(newest[0].id)"),
            ]
            var peer = 0.0
            for (label, path) in pages {
                let times = try await Self.blocking { [requests] in
                    try (0..<requests).map { _ in try RawHTTP.firstByte(port: port, path: path) }.sorted()
                }
                let median = times[times.count / 2]
                if peer == 0 { peer = median }
                print(
                    String(
                        format: "  %@: first byte p50 %.2f ms, p99 %.2f ms, max %.2f ms (%.1f× /ping)", label,
                        median * 1000, times[times.count * 99 / 100] * 1000, times.last! * 1000, median / peer))
            }
            var latencies: [Double] = []
            var token: String?
            for _ in 0..<changes {
                let (latency, used) = try await stateChangeLatency(port: port, lines: lines, after: token)
                latencies.append(latency)
                token = used
            }
            latencies.sort()
            print(
                String(
                    format: "  approval committed → state event on the open execution page: p50 %.0f ms, "
                        + "max %.0f ms over %d changes (the page's stream reads the store every %.0f ms)",
                    latencies[latencies.count / 2] * 1000, latencies.last! * 1000, latencies.count, 100.0))
            group.cancelAll()
        }
    }

    /// Records `executions` finished executions of a three-step pipeline, spread over a month.
    private func fill(_ home: SluiceHome) throws {
        let context = try EngineContext.open(home: home, durability: .process)
        let noop = Module(name: "Noop", kind: .builtin, implementation: .builtin(name: "noop", options: [:]))
        let pipelines = ["Nightly Training", "Hourly Scoring", "Feature Backfill"].map { name in
            Pipeline(
                name: name,
                steps: ["Prepare", "Train", "Evaluate"].enumerated().map { index, step in
                    Step(
                        name: step, kind: .task(TaskSpec(module: "Noop")),
                        after: index == 0 ? [] : [Dependency(["Prepare", "Train"][index - 1])])
                }, modules: ["Noop": noop])
        }
        let start = 1_780_000_000.0
        for index in 0..<executions {
            var execution = try context.engine.prepare(
                pipeline: pipelines[index % 3], overrides: [:], id: String(format: "bench-%06d", index))
            execution.createdAt = start + Double(index) * 240
            try context.store.createExecution(execution)
            var finished = ExecutionChanges(executionID: execution.id, now: execution.createdAt + 30)
            finished.executionStatus = (index % 17 == 0 ? .failed : .succeeded, nil)
            try context.store.apply(finished)
        }
    }

    /// Submits the gate pipeline, opens its execution's stream, approves it, and times the commit → state event.
    private func stateChangeLatency(port: Int, lines: PrintedLines, after usedToken: String?) async throws -> (
        Double, String
    ) {
        let submitted = try RawHTTP.exchange(
            port: port, method: "POST", path: "/api/executions", body: #"{"pipeline": "gate.yaml"}"#,
            contentType: "application/json")
        guard let id = submitted.firstMatch(of: /"id":"([^"]+)"/)?.output.1 else {
            throw CLIError("the submission failed: \(submitted)")
        }
        // One gate execution waits at a time: its link is the newest one printed.
        var token: String?
        for _ in 0..<400 where token == nil {
            token = lines.text.matches(of: /\/approvals\/(sl-[0-9a-f]+)/).last.map { String($0.output.1) }
            if token == usedToken { token = nil }
            if token == nil { try await Task.sleep(nanoseconds: 10_000_000) }
        }
        guard let token else { throw CLIError("no approval link for \(id)") }
        let stream = try RawHTTP.Stream(port: port, path: "/console/executions/\(id)/events")
        defer { stream.close() }
        // The open page has seen the step waiting.
        _ = try await Self.blocking { try stream.read(until: #""status":"waiting""#) }
        let decided = Date()
        _ = try RawHTTP.exchange(
            port: port, method: "POST", path: "/approvals/\(token)", body: "decision=approve",
            contentType: "application/x-www-form-urlencoded")
        _ = try await Self.blocking { try stream.read(until: #""name":"Ship It","status":"succeeded""#) }
        return (Date().timeIntervalSince(decided), token)
    }

    /// Runs blocking socket work on a thread of its own, off Swift's small concurrency pool that serves the server.
    static func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }

    static let gate = """
        name: Gate
        steps:
          - name: Ship It
            type: Approval
            message: Ship it?
          - name: Echo
            module: Echo
            after: [Ship It]
            inputs: {value: shipped}
        """

    static let echo = """
        name: Echo
        implementation: {builtin: echo}
        inputs: [{name: value, type: String}]
        outputs: [{name: value, type: String}]
        """
}

/// The lines the hosted server printed (approval links).
final class PrintedLines: Sendable {
    private let lines = Mutex<[String]>([])

    func append(_ line: String) { lines.withLock { $0.append(line) } }

    var text: String { lines.withLock { $0.joined(separator: "\n") } }
}

/// Blocking HTTP/1.1 over a loopback socket, to time the first byte of an answer.
enum RawHTTP {
    static func connect(port: Int) throws -> Int32 {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard socket >= 0, connected == 0 else { throw CLIError("cannot connect to 127.0.0.1:\(port)") }
        return socket
    }

    static func send(_ socket: Int32, _ text: String) {
        _ = text.utf8CString.withUnsafeBufferPointer { Glibc.send(socket, $0.baseAddress, $0.count - 1, 0) }
    }

    /// Seconds from sending a GET (on a new connection) to its answer's first byte; the rest is read and dropped.
    static func firstByte(port: Int, path: String) throws -> Double {
        let socket = try connect(port: port)
        defer { Glibc.close(socket) }
        let start = DispatchTime.now().uptimeNanoseconds
        send(socket, "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        var buffer = [UInt8](repeating: 0, count: 65_536)
        guard recv(socket, &buffer, 1, 0) == 1 else { throw CLIError("no answer to GET \(path)") }
        let first = DispatchTime.now().uptimeNanoseconds - start
        while recv(socket, &buffer, buffer.count, 0) > 0 {}
        return Double(first) / 1e9
    }

    /// One whole exchange; returns the answer's text.
    static func exchange(port: Int, method: String, path: String, body: String, contentType: String) throws -> String {
        let socket = try connect(port: port)
        defer { Glibc.close(socket) }
        send(
            socket,
            "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: \(contentType)\r\n"
                + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)")
        var answer = Data()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = recv(socket, &buffer, buffer.count, 0)
            if count <= 0 { break }
            answer.append(contentsOf: buffer[0..<count])
        }
        return String(decoding: answer, as: UTF8.self)
    }

    /// A streaming GET whose answer is read as it arrives.
    final class Stream: @unchecked Sendable {
        let socket: Int32
        private var received = ""

        init(port: Int, path: String) throws {
            socket = try RawHTTP.connect(port: port)
            RawHTTP.send(socket, "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        }

        /// Reads until `marker` appears in what arrived since the last call.
        func read(until marker: String) throws {
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while !received.contains(marker) {
                let count = recv(socket, &buffer, buffer.count, 0)
                guard count > 0 else { throw CLIError("the stream ended before \(marker)") }
                received += String(decoding: buffer[0..<count], as: UTF8.self)
            }
            received = String(received[received.range(of: marker)!.upperBound...])
        }

        func close() { Glibc.close(socket) }
    }
}
