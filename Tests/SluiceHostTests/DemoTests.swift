import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The newcomer's command through the real binary, in a fresh folder.
@Suite(.serialized) struct DemoTests {
    static let examples =
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path + "/examples"

    /// A port nothing listens on right now, outside the kernel's ephemeral range (32768–60999), so the demo never
    /// takes a port another test just got from `bind(0)` and closed.
    static func freePort() throws -> Int {
        for _ in 0..<100 {
            let port = Int.random(in: 20_000..<30_000)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            if Self.bindLoopback(fd, port: port) { return port }
        }
        throw HostTestError("no free port in 20000–29999")
    }

    /// Binds socket `fd` to 127.0.0.1:`port`; whether it worked.
    static func bindLoopback(_ fd: Int32, port: Int) -> Bool {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    func demo(_ scratch: Scratch, _ arguments: [String], log: String) throws -> Process {
        FileManager.default.createFile(atPath: log, contents: nil)
        FileManager.default.createFile(atPath: log + ".err", contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: SluiceBinary.path)
        process.arguments = ["demo", "--pipeline", Self.examples + "/w1-diabetes/deploy-pipeline.yaml"] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: scratch.folder)
        var environment = ProcessInfo.processInfo.environment
        environment["SLUICE_HOME"] = nil
        environment["SLUICE_API_KEY"] = nil
        process.environment = environment
        process.standardOutput = FileHandle(forWritingAtPath: log)
        process.standardError = FileHandle(forWritingAtPath: log + ".err")
        try process.run()
        return process
    }

    func read(_ path: String) -> String {
        String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
    }

    /// Runs a shell command and returns what it printed.
    func shell(_ command: String) async throws -> String {
        let output = NSTemporaryDirectory() + "sluice-shell-\(UUID().uuidString).out"
        FileManager.default.createFile(atPath: output, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        process.standardOutput = FileHandle(forWritingAtPath: output)
        try process.run()
        await waitForExit(process)
        return read(output)
    }

    /// W1's latency gate for this test's runs: the demo's staging test measures wall-clock latency, which a loaded
    /// machine stretches past the pipeline's 500 ms default. The gate itself is checked in `EndpointTestStepTests`.
    static let patientLatencyGate = ["-p", "MaxP95LatencyMs=600000"]

    /// `--exit` runs W1 end to end on `.sluice/` in the current folder, self-checks and exits 0; without it the
    /// printed curl answers ≈ 434.0766 while the server runs, a request without the key is refused, and Ctrl-C
    /// stops it cleanly. `-p` sets the pipeline's parameters.
    @Test func demoRunsW1EndToEndAndThePrintedCurlWorks() async throws {
        let scratch = try Scratch()
        let port = try Self.freePort()
        let once = try demo(
            scratch, ["--exit", "--port", "\(port)"] + Self.patientLatencyGate, log: scratch.folder + "/exit.log")
        await waitForExit(once)
        let output = read(scratch.folder + "/exit.log")
        #expect(once.terminationStatus == 0, "\(output)\n\(read(scratch.folder + "/exit.log.err"))")
        #expect(output.contains("✓ Test Staging  succeeded") && output.contains("✓ Deploy Production  succeeded"))
        #expect(output.contains("self-check: /production/stream → 434.07"), "\(output)")
        #expect(FileManager.default.fileExists(atPath: scratch.folder + "/.sluice/sluice.db"))
        let execution = try #require(try SQLiteStore(path: scratch.folder + "/.sluice/sluice.db").executions().first)
        #expect(execution.parameters["MaxP95LatencyMs"]?.number == 600_000, "\(execution.parameters)")

        let servingPort = try Self.freePort()
        let log = scratch.folder + "/serve.log"
        let serving = try demo(scratch, ["--port", "\(servingPort)"] + Self.patientLatencyGate, log: log)
        defer { if serving.isRunning { kill(serving.processIdentifier, SIGKILL) } }
        // Until the demo prints the curl or stops: a busy machine may take minutes to run the pipeline again. The
        // deadline only keeps a demo that never prints it from hanging the suite.
        var curl: String?
        let deadline = ContinuousClock.now + .seconds(900)
        while curl == nil, serving.isRunning, ContinuousClock.now < deadline {
            curl = read(log).split(separator: "\n").first { $0.contains("curl -s -H 'x-api-key:") }.map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            if curl == nil { try await Task.sleep(nanoseconds: 50_000_000) }
        }
        let command = try #require(curl, "no curl printed:\n\(read(log))\n\(read(log + ".err"))")
        #expect(command.hasSuffix("http://127.0.0.1:\(servingPort)/production/stream"))
        let answer = try #require(Double(try await shell(command).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(abs(answer - 434.0766) < 1e-3, "\(answer)")
        let withoutKey = try await shell(
            "curl -s -o /dev/null -w '%{http_code}' -d '{\"x\": [[0.3]]}' http://127.0.0.1:\(servingPort)/production/stream"
        )
        #expect(["401", "403"].contains(withoutKey), "\(withoutKey)")
        kill(serving.processIdentifier, SIGINT)
        await waitForExit(serving)
        #expect(serving.terminationStatus == 0, "\(read(log + ".err"))")
    }

    /// A busy port is one error line naming it and the fix, not a stack of NIO errors.
    @Test func busyPortIsOneErrorLine() async throws {
        let scratch = try Scratch()
        let port = try Self.freePort()
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        let listening = Self.bindLoopback(fd, port: port) && listen(fd, 1) == 0
        try #require(listening)
        let log = scratch.folder + "/busy.log"
        let process = try demo(scratch, ["--exit", "--port", "\(port)"], log: log)
        await waitForExit(process)
        let errors = read(log + ".err").split(separator: "\n").filter { !$0.contains(" info ") }
        #expect(process.terminationStatus == 1)
        #expect(
            errors == [
                "error: 127.0.0.1:\(port) is already in use (another `sluice serve`?); stop it or pick another port with --port"
            ])
    }

    /// A pipeline that fails stops the demo with exit status 1 and one line saying where to look.
    @Test func failingPipelineStopsTheDemoWithOneLine() async throws {
        let scratch = try Scratch()
        try scratch.write("boom.yaml", "name: Boom\nimplementation: {builtin: fail}\ninputs: []\noutputs: []\n")
        let pipeline = try scratch.write("failing.yaml", "name: Failing\nsteps:\n  - name: Boom\n    module: Boom\n")
        let log = scratch.folder + "/failing.log"
        let process = try demo(
            scratch, ["--exit", "--port", "\(try Self.freePort())", "--pipeline", pipeline], log: log)
        await waitForExit(process)
        let errors = read(log + ".err").split(separator: "\n").filter { !$0.contains(" info ") }
        #expect(process.terminationStatus == 1)
        #expect(errors.count == 1 && errors.first?.contains("failed; see `sluice show") == true, "\(errors)")
        #expect(read(log).contains("States.TaskFailed: failed on purpose"))
    }
}
