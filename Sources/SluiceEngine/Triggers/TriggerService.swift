import Foundation
public import SluiceCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Runs enabled triggers inside the server: watches folders, keeps schedules, follows the model registry, and starts
/// the pipeline once per new file content, scheduled time or model version.
///
/// Each firing is committed with the execution it creates (`TriggerStore.recordFiring`), then handed to `launch`,
/// which drives it as the server drives submitted executions. A process killed in between leaves a queued execution
/// that the next start launches; a second start for the same key is refused by the store.
public final class TriggerService: Sendable {
    /// How often folders, schedules and the registry are looked at.
    public struct Configuration: Sendable {
        /// Seconds between two looks at folders, schedules and the registry.
        public var pollSeconds: Double
        /// A file is complete when its size and modification time stayed the same at two looks in a row at least
        /// this many seconds apart.
        public var settleSeconds: Double
        /// Seconds between two readings of which triggers are enabled.
        public var reloadSeconds: Double

        public init(pollSeconds: Double = 0.05, settleSeconds: Double = 0.1, reloadSeconds: Double = 0.5) {
            self.pollSeconds = pollSeconds
            self.settleSeconds = settleSeconds
            self.reloadSeconds = reloadSeconds
        }
    }

    let store: any TriggerStore & ExecutionStore
    let registry: (any ModelRegistry)?
    let engine: ExecutionEngine
    let configuration: Configuration
    let newID: @Sendable () -> String
    let launch: @Sendable (String, Pipeline) -> Void
    let report: @Sendable (String) -> Void

    /// - Parameters:
    ///   - registry: where `on:` triggers look for model versions (nil: registry triggers never fire).
    ///   - newID: makes an execution id.
    ///   - launch: drives a new execution (already committed) in this process.
    ///   - report: receives one line per firing and per problem (the server's console).
    public init(
        store: any TriggerStore & ExecutionStore, registry: (any ModelRegistry)?, engine: ExecutionEngine,
        configuration: Configuration = Configuration(), newID: @escaping @Sendable () -> String,
        launch: @escaping @Sendable (String, Pipeline) -> Void, report: @escaping @Sendable (String) -> Void
    ) {
        self.store = store
        self.registry = registry
        self.engine = engine
        self.configuration = configuration
        self.newID = newID
        self.launch = launch
        self.report = report
    }

    /// Polls until the task is cancelled.
    public func run() async {
        var state = State()
        relaunchUnstarted()
        var lastReload = -Double.infinity
        while !Task.isCancelled {
            let now = engine.clock.now
            if now - lastReload >= configuration.reloadSeconds {
                reload(&state)
                lastReload = now
            }
            poll(&state)
            try? await Task.sleep(nanoseconds: UInt64(configuration.pollSeconds * 1e9))
        }
    }

    /// What the service remembers between looks; rebuilt from the store after a restart.
    struct State {
        var active: [Active] = []
        /// Each watched file's size and modification time at the last look, and whether it was handled since.
        var files: [Int64: [String: FileSeen]] = [:]
        /// The latest scheduled time fired, per trigger.
        var lastScheduled: [Int64: Int64?] = [:]
        /// Registry keys each trigger is done with, so the store is not asked again at every look.
        var handledKeys: [Int64: Set<String>] = [:]
        /// Problems already reported, so a poll does not repeat them.
        var reported: Set<String> = []
    }

    struct Active {
        var record: EnabledTrigger
        var trigger: Trigger
        var pipeline: Pipeline
    }

    struct FileSeen: Equatable {
        var size: Int64
        var modified: Int64
        /// When the file was first seen with this size and modification time.
        var since: Double
        var handled = false
    }

    /// Executions a firing created that nobody drove (the process stopped right after the commit).
    private func relaunchUnstarted() {
        guard let records = try? store.triggers() else { return }
        for record in records {
            guard let ids = try? store.unfinishedExecutions(triggerID: record.id) else { continue }
            for id in ids {
                guard let execution = try? store.execution(id: id),
                    let pipeline = storedPipeline(execution.pipelineHash)
                else { continue }
                launch(id, pipeline)
            }
        }
    }

    private func reload(_ state: inout State) {
        guard let records = try? store.triggers() else { return }
        var active: [Active] = []
        for record in records where record.enabled {
            guard let pipeline = storedPipeline(record.pipelineHash), record.index < pipeline.triggers.count else {
                reportOnce(
                    &state, "\(record.name): its pipeline version \(record.pipelineHash) is missing; enable it again")
                continue
            }
            active.append(Active(record: record, trigger: pipeline.triggers[record.index], pipeline: pipeline))
        }
        let ids = Set(active.map(\.record.id))
        state.files = state.files.filter { ids.contains($0.key) }
        state.lastScheduled = state.lastScheduled.filter { ids.contains($0.key) }
        state.handledKeys = state.handledKeys.filter { ids.contains($0.key) }
        state.active = active
    }

    private func storedPipeline(_ hash: String) -> Pipeline? {
        guard let definition = try? store.pipelineDefinition(hash: hash) else { return nil }
        return try? JSONDecoder().decode(Pipeline.self, from: Data(definition.utf8))
    }

    private func poll(_ state: inout State) {
        for active in state.active {
            switch active.trigger.kind {
            case .files(let folder, let glob):
                pollFolder(active, folder: folder, glob: glob ?? "*", &state)
            case .schedule, .expression:
                if let schedule = active.trigger.schedule { pollSchedule(active, schedule, &state) }
            case .registry(let event, let group):
                pollRegistry(active, event: event, group: group, &state)
            }
        }
    }

    // MARK: Files

    private func pollFolder(_ active: Active, folder: String, glob: String, _ state: inout State) {
        let id = active.record.id
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else {
            reportOnce(&state, "\(active.record.name): cannot read the folder \(folder); create it or fix 'files:'")
            return
        }
        var seen = state.files[id] ?? [:]
        var present: Set<String> = []
        for name in names.sorted() where Self.watches(name, glob: glob) {
            let path = folder.hasSuffix("/") ? folder + name : folder + "/" + name
            var info = stat()
            guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            present.insert(path)
            let now = FileSeen(
                size: Int64(info.st_size),
                modified: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec),
                since: engine.clock.now)
            guard var before = seen[path], before.size == now.size, before.modified == now.modified else {
                seen[path] = now  // new or still changing: look again next time
                continue
            }
            guard !before.handled, now.since - before.since >= configuration.settleSeconds else { continue }
            before.handled = fireFile(active, path: path, &state)
            seen[path] = before
        }
        state.files[id] = seen.filter { present.contains($0.key) }
    }

    /// Hidden files and `*.tmp` are being written by convention; the rest must match the glob.
    static func watches(_ name: String, glob: String) -> Bool {
        !name.hasPrefix(".") && !name.hasSuffix(".tmp") && fnmatch(glob, name, 0) == 0
    }

    /// Fires for a complete file unless its content already fired; true when the file needs no further look.
    private func fireFile(_ active: Active, path: String, _ state: inout State) -> Bool {
        guard let data = FileManager.default.contents(atPath: path) else { return false }
        let key = "file:\(path):sha256:\(SHA256.hex(data))"
        return fire(active, key: key, scheduledTime: nil, value: path, &state)
    }

    // MARK: Schedules

    private func pollSchedule(_ active: Active, _ schedule: ScheduleExpression, _ state: inout State) {
        let id = active.record.id
        if state.lastScheduled[id] == nil {
            do {
                state.lastScheduled[id] = .some(try store.lastFiring(triggerID: id)?.scheduledTime)
            } catch {
                return
            }
        }
        let last = state.lastScheduled[id] ?? nil
        let anchor = Int64(active.record.anchor.rounded(.up))
        guard let due = schedule.due(after: last, now: Int64(engine.clock.now.rounded(.down)), anchor: anchor) else {
            return
        }
        // One at a time unless the pipeline allows more: a firing due meanwhile waits, and the missed ones become
        // one catch-up firing when the running one ends.
        guard let running = try? store.unfinishedExecutions(triggerID: id),
            running.count < max(1, active.pipeline.maxConcurrentExecutions)
        else { return }
        if fire(active, key: "schedule:\(due)", scheduledTime: due, value: nil, &state) {
            state.lastScheduled[id] = .some(due)
        }
    }

    // MARK: Registry

    private func pollRegistry(
        _ active: Active, event: Trigger.RegistryEvent, group: String, _ state: inout State
    ) {
        guard let registry, let events = try? registry.modelEvents(group: group) else { return }
        for record in events where record.time >= active.record.anchor {
            guard let version = record.version else { continue }
            let matches: Bool
            switch event {
            case .modelRegistered: matches = record.kind == "registered"
            case .modelApproved:
                matches =
                    record.kind == "approved"
                    || (record.kind == "registered"
                        && (try? registry.modelVersion(group: group, version: version))??.status == .approved)
            }
            guard matches else { continue }
            let key = "model:\(group)/\(version)"
            if state.handledKeys[active.record.id]?.contains(key) == true { continue }
            guard let fired = try? store.hasFired(triggerID: active.record.id, key: key) else { continue }
            if fired || fire(active, key: key, scheduledTime: nil, value: "\(group)/\(version)", &state) {
                state.handledKeys[active.record.id, default: []].insert(key)
            }
        }
    }

    // MARK: Firing

    /// Commits the firing with a new execution and launches it; true when the key is done with (fired now or before,
    /// or refused for good by the pipeline's parameters).
    private func fire(
        _ active: Active, key: String, scheduledTime: Int64?, value: String?, _ state: inout State
    ) -> Bool {
        var overrides = active.trigger.parameters.mapValues { $0.string ?? $0.canonicalJSON }
        overrides.merge(active.record.parameters) { _, given in given }
        if let name = active.trigger.fileParameter, let value { overrides[name] = value }
        let id = newID()
        do {
            let execution = try engine.prepare(pipeline: active.pipeline, overrides: overrides, id: id)
            let firing = TriggerFiring(
                triggerID: active.record.id, key: key, scheduledTime: scheduledTime, executionID: id,
                firedAt: engine.clock.now)
            guard try store.recordFiring(firing, execution: execution) else { return true }
        } catch let error as EngineError {
            reportOnce(&state, "\(active.record.name): cannot start \(active.pipeline.name): \(error.message)")
            return true
        } catch {
            report("\(active.record.name): firing \(key) not recorded (\(error)); trying again")
            return false
        }
        report("trigger \(active.record.name)  fired (\(value ?? key))  execution \(id)")
        launch(id, active.pipeline)
        return true
    }

    private func reportOnce(_ state: inout State, _ line: String) {
        if state.reported.insert(line).inserted { report(line) }
    }
}
