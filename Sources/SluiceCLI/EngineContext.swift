import ArgumentParser
import Foundation
import SluiceCloud
import SluiceCore
import SluiceEngine
import SluiceExecutors
import SluiceMonitor
import SluiceStore
import Synchronization

/// Wires the store, the artifact store, the executors and the engine for one `.sluice/` home.
struct EngineContext {
    let home: SluiceHome
    let store: SQLiteStore
    let engine: ExecutionEngine
    /// Attempt folder trees for command steps, made ahead under `executions/.spare/`.
    let folderPool: AttemptFolderPool

    /// Every built-in step this binary knows, the registry steps writing into `store`.
    static func builtins(
        store: SQLiteStore, artifacts: ArtifactStore, serveURL: String = serveURL
    ) -> [any BuiltinStep] {
        coreBuiltinSteps + mlBuiltinSteps + registryBuiltinSteps(registry: store, artifacts: artifacts)
            + featureBuiltinSteps(store: store) + [NotifyStep(delivery: notifyDelivery(artifacts: artifacts))]
            + endpointBuiltinSteps(endpoints: store, registry: store, serveURL: serveURL)
            + [EndpointTestStep(secret: secret(named:))]
            + [MonitorBaselineStep(maker: MonitorBaselines(store: store, artifacts: artifacts))]
    }

    /// Secrets this process holds for its steps (the demo's fresh API key), by environment variable name.
    static let secrets = Mutex<[String: String]>([:])

    /// A secret a step reads by name: one this process holds, else the environment variable.
    @Sendable static func secret(named name: String) -> String? {
        secrets.withLock { $0[name] } ?? ProcessInfo.processInfo.environment[name]
    }

    /// Where `sluice serve` answers, for the URLs deploy steps report: `$SLUICE_SERVE_URL`, else the default address.
    static var serveURL: String {
        let configured = ProcessInfo.processInfo.environment["SLUICE_SERVE_URL"] ?? ""
        return configured.isEmpty ? "http://127.0.0.1:8080" : configured
    }

    static func executors(
        store: SQLiteStore, artifacts: ArtifactStore, folderPool: AttemptFolderPool, serveURL: String = serveURL
    ) -> [String: any StepExecutor] {
        let command = CommandExecutor(folderPool: folderPool)
        return [
            "builtin": BuiltinExecutor(builtins(store: store, artifacts: artifacts, serveURL: serveURL)),
            "command": command,
            "lambda": command, "glue": command,
            "http": HTTPExecutor(), "container": ContainerExecutor(),
        ]
    }

    /// - Parameters:
    ///   - serveURL: where the server answers, for the URLs deploy steps report (default: `serveURL`).
    ///   - approvalBell: rung by decisions made in this process, so waiting approvals continue at once.
    static func open(
        maxParallel: Int = defaultMaxParallel, home: SluiceHome = .resolve(), durability: SQLiteStore.Durability? = nil,
        groupCommit: Bool = true, serveURL: String = serveURL, approvalBell: ApprovalBell? = nil
    ) throws -> EngineContext {
        let store = try home.open(durability: try durability ?? SluiceHome.durability())
        var configuration = EngineConfiguration(executionsDirectory: home.executionsPath, maxParallel: maxParallel)
        configuration.groupCommit = groupCommit
        configuration.seed = UInt64.random(in: 1...UInt64.max)
        configuration.approvalBell = approvalBell
        let artifacts = ArtifactStore(root: home.artifactsPath)
        let folderPool = AttemptFolderPool(root: "\(home.executionsPath)/.spare")
        let engine = ExecutionEngine(
            store: store, artifacts: artifacts,
            executors: executors(store: store, artifacts: artifacts, folderPool: folderPool, serveURL: serveURL),
            configuration: configuration,
            objects: ObjectStores.fromEnvironment(ProcessInfo.processInfo.environment, embeddedRoot: home.path + "/s3"))
        return EngineContext(home: home, store: store, engine: engine, folderPool: folderPool)
    }

    /// `next`, plus the approval links mailed to each Approval step's `notify` list.
    func approvalMailer(
        executionID: String, next: any ExecutionObserver, baseURL: @escaping @Sendable () -> String,
        report: @escaping @Sendable (String) -> Void
    ) -> ApprovalMailer {
        ApprovalMailer(next: next, executionID: executionID, deliver: deliver, baseURL: baseURL, report: report)
    }

    /// Sends a message by SMTP when one is configured, else into the home's outbox.
    var deliver: ApprovalMailer.Deliver {
        let delivery = Self.notifyDelivery(artifacts: ArtifactStore(root: home.artifactsPath))
        return { try await delivery.deliver(to: $0, subject: $1, body: $2, id: $3) }
    }

    /// The monitor over this home: captures under `capture/`, run reports under `monitoring/`.
    var monitorRunner: MonitorRunner {
        MonitorRunner(
            store: store, artifacts: ArtifactStore(root: home.artifactsPath), captureRoot: home.path + "/capture",
            reportsRoot: home.path + "/monitoring", newID: Self.newExecutionID, deliver: deliver)
    }

    /// Task steps run at once unless `--max-parallel` says otherwise.
    static let defaultMaxParallel = 8

    /// This process as a lease owner.
    static let owner = LeaseOwner(id: UUID().uuidString, pid: Int(getpid()))

    /// Whether a process is still alive (a zombie counts as gone only once reaped).
    @Sendable static func isAlive(_ pid: Int) -> Bool {
        kill(pid_t(pid), 0) == 0 || errno == EPERM
    }

    /// A new execution id, sortable by time: `20261121-190712-3fa9c1`.
    static func newExecutionID() -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date()) + "-" + String(format: "%06x", UInt32.random(in: 0...0xff_ffff))
    }

    /// The runner that claims and drives executions as this process.
    var runner: ExecutionRunner { ExecutionRunner(engine: engine, owner: Self.owner, ownerIsAlive: Self.isAlive) }

    /// Claims the execution, waiting in the queue while its pipeline version is at its concurrency limit, then
    /// drives it to the end.
    func claimAndDrive(executionID: String, pipeline: Pipeline, display: LiveDisplay) async throws -> ExecutionStatus {
        var announcedQueue = false
        let outcome = try await runner.run(
            executionID: executionID, pipeline: pipeline,
            observer: approvalMailer(executionID: executionID, next: display, baseURL: { Self.serveURL }) {
                display.line($0)
            },
            onQueued: { running in
                guard !announcedQueue else { return }
                display.line(
                    "queued: \(running) execution(s) of this pipeline version already running "
                        + "(max_concurrent_executions: \(pipeline.maxConcurrentExecutions)); waiting for a slot")
                announcedQueue = true
            })
        switch outcome {
        case .finished(let status):
            return status
        case .ownedByOther(let pid):
            throw CLIError(
                "execution \(executionID) is being driven by process \(pid); wait for it or `sluice cancel \(executionID)`"
            )
        case .alreadyFinished(let status):
            throw CLIError("execution \(executionID) already \(status.rawValue); use `sluice retry` to run it again")
        case .notFound:
            throw CLIError("no execution '\(executionID)'; list them with `sluice executions`")
        }
    }

    /// The pipeline version an execution runs, as stored when it started.
    func storedPipeline(of execution: ExecutionRecord) throws -> Pipeline {
        try runner.storedPipeline(of: execution)
    }

    func findExecution(_ id: String) throws -> ExecutionRecord {
        if let exact = try store.execution(id: id) { return exact }
        let matches = try store.executions(limit: 2, idPrefix: id)
        if matches.count == 1 { return matches[0] }
        throw CLIError(
            matches.isEmpty
                ? "no execution '\(id)' in \(home.path); list them with `sluice executions`"
                : "'\(id)' matches several executions; give more of the id")
    }
}

/// A one-line error for the user; the command exits non-zero.
struct CLIError: MessageError {
    static let code = "usage"
    var description: String
    init(_ message: String) { description = message }
}

/// The live display: one line per step event (state, attempt, duration), the approval token, the summary.
///
/// On a terminal a Map fan-out shows a progress bar redrawn in place under the step lines; otherwise (a pipe, a
/// file, CI) progress is plain lines at every tenth.
final class LiveDisplay: ExecutionObserver, @unchecked Sendable {
    private let lock = NSLock()
    let explainCache: Bool
    let quiet: Bool
    let isTerminal: Bool
    /// The progress bar currently drawn on the last line (terminal only).
    private var bar: String?

    init(explainCache: Bool = false, quiet: Bool = false, isTerminal: Bool = isatty(STDOUT_FILENO) == 1) {
        self.explainCache = explainCache
        self.quiet = quiet
        self.isTerminal = isTerminal
    }

    func line(_ text: String) {
        guard !quiet else { return }
        lock.lock()
        defer { lock.unlock() }
        var output = text + "\n"
        if isTerminal, let bar {
            // Clear the bar, print the line above it, draw the bar again.
            output = "\r\u{1B}[2K" + output + bar
        }
        FileHandle.standardOutput.write(Data(output.utf8))
    }

    /// Draws (or, when `done == total`, finishes) the progress bar of a Map step.
    private func progress(step: String, done: Int, total: Int) {
        guard !quiet else { return }
        lock.lock()
        defer { lock.unlock() }
        let text = Self.progressBar(step: step, done: done, total: total)
        bar = done < total ? text : nil
        FileHandle.standardOutput.write(Data(("\r\u{1B}[2K" + text + (done < total ? "" : "\n")).utf8))
    }

    /// `  ▸ Each  [██████░░░░░░░░░░░░░░]  30% 3/10 items`
    static func progressBar(step: String, done: Int, total: Int, width: Int = 20) -> String {
        let fraction = total > 0 ? Double(done) / Double(total) : 1
        let filled = min(width, Int((fraction * Double(width)).rounded(.down)))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        return "  ▸ \(step)  [\(bar)] \(String(format: "%3.0f", fraction * 100))% \(done)/\(total) items"
    }

    func notify(_ notice: EngineNotice) {
        if case .mapProgress(let step, let done, let total) = notice, isTerminal {
            progress(step: step, done: done, total: total)
        } else if let text = format(notice) {
            line(text)
        }
    }

    /// The display's line for a notice, or nil when it shows nothing for it.
    func format(_ notice: EngineNotice) -> String? {
        switch notice {
        case .stepStarted(let step, let attempt, _):
            return "  ▸ \(step)  running  attempt \(attempt)"
        case .stepFinished(let step, let attempt, let status, let seconds, let total, let cacheHit, let error):
            let mark = status == .succeeded ? "✓" : status == .skipped ? "–" : status == .caught ? "↪" : "✗"
            var text = "  \(mark) \(step)  \(status.rawValue)  attempt \(attempt)  \(Self.format(seconds))"
            if attempt > 1 { text += "  (\(Self.format(total)) since attempt 1 started)" }
            if cacheHit { text += "  (cache hit)" }
            if let error, status != .succeeded { text += "\n      \(error.error): \(error.cause)" }
            return text
        case .retryScheduled(let step, let attempt, let delay):
            return "  ↻ \(step)  retry as attempt \(attempt) in \(Self.format(delay))"
        case .approvalRequested(let step, let token, let message, _):
            return "  ⏸ \(step)  waiting for approval: \(message)\n      approve: sluice approve \(token)\n"
                + "      reject:  sluice reject \(token) --reason \"…\"\n"
                + "      or open \(EngineContext.serveURL)/approvals/\(token) while `sluice serve` runs"
        case .approvalWaiting(let step):
            return "  ⏸ \(step)  still waiting for approval (token printed when the step started)"
        case .cacheDecision(let step, _, _, let explanation):
            return explainCache ? "  cache \(step): \(explanation)" : nil
        case .mapProgress(let step, let done, let total):
            return done == total || done % max(1, total / 10) == 0 ? "  ▸ \(step)  \(done)/\(total) items" : nil
        case .finished:
            return nil
        }
    }

    static func format(_ seconds: Double) -> String {
        seconds < 1 ? String(format: "%.0fms", seconds * 1000) : String(format: "%.2fs", seconds)
    }
}

/// Runs a command's body; a refusal from Sluice (an unknown id or version, a conflict, a bad setting) becomes one
/// `error: …` line and exit status 1, like every other Sluice command.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch {
        throw reported(error)
    }
}

/// `reportingErrors` for asynchronous commands.
func reportingErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch {
        throw reported(error)
    }
}

/// The one place Sluice's errors become exit statuses: any `SluiceError` is printed as one line and exits 1;
/// anything else passes through to ArgumentParser.
private func reported(_ error: any Error) -> any Error {
    guard let error = error as? any SluiceError else { return error }
    printError(error.message)
    return ExitCode.failure
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data(("error: " + message + "\n").utf8))
}
