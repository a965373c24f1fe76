import Foundation
public import ServiceLifecycle
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
public final class TriggerService: Service {
    /// How often folders, schedules and the registry are looked at.
    @MemberwiseInit
    public struct Configuration: Sendable {
        /// Seconds between two looks at folders, schedules and the registry.
        public var pollSeconds: Double = 0.05
        /// A file the kernel says nothing about (no inotify, or written before the server watched) is complete when
        /// its size and modification time stayed the same at two looks in a row at least this many seconds apart.
        public var settleSeconds: Double = 0.1
        /// A file closed by its writer is complete when nobody wrote to it again within this many seconds (a file
        /// renamed into the folder is complete at once; one still open for writing waits for its close).
        public var closedSettleSeconds: Double = 0.02
        /// Seconds between two listings of each `s3://` prefix.
        public var objectPollSeconds: Double = 1
        /// Seconds between two readings of which triggers are enabled.
        public var reloadSeconds: Double = 0.5
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

    /// Polls until the task is cancelled or its service group shuts down gracefully.
    public func run() async throws {
        await cancelWhenGracefulShutdown { await self.watch() }
    }

    /// Polls until the task is cancelled: folders, schedules and the registry in one loop woken early by the
    /// kernel's file events, `s3://` prefixes in another.
    private func watch() async {
        relaunchUnstarted()
        let doorbell = Doorbell()
        let watcher = FolderWatcher(wake: { doorbell.ring() })
        defer { watcher.stop() }
        let objectTriggers = ActiveTriggers()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.watchObjects(objectTriggers) }
            var state = State()
            var lastReload = -Double.infinity
            while !Task.isCancelled {
                if engine.clock.now - lastReload >= configuration.reloadSeconds {
                    reload(&state)
                    watcher.watch(Set(state.active.compactMap(\.localFolder)))
                    let prefixes = state.active.filter { $0.objectPrefix != nil }
                    objectTriggers.list.withLock { $0 = prefixes }
                    lastReload = engine.clock.now
                }
                note(watcher.drain(), &state)
                poll(&state)
                await doorbell.wait(seconds: nextLook(state))
            }
            group.cancelAll()
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
        /// What the kernel said about each file since it was last handled, per trigger.
        var marks: [Int64: [String: FileMark]] = [:]
    }

    /// The enabled triggers one loop hands to another.
    final class ActiveTriggers: Sendable {
        let list = Mutex<[Active]>([])
    }

    struct Active {
        var record: EnabledTrigger
        var trigger: Trigger
        var pipeline: Pipeline

        /// The folder of a files trigger on local files.
        var localFolder: String? {
            guard case .files(let folder, _) = trigger.kind, ObjectURI(parsing: folder) == nil else { return nil }
            return folder
        }

        /// The prefix of a files trigger on `s3://` objects.
        var objectPrefix: ObjectURI? {
            guard case .files(let folder, _) = trigger.kind else { return nil }
            return ObjectURI(parsing: folder)
        }
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
        state.marks = state.marks.filter { ids.contains($0.key) }
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
                if active.localFolder != nil { pollFolder(active, folder: folder, glob: glob ?? "*", &state) }
            case .schedule, .expression:
                if let schedule = active.trigger.schedule { pollSchedule(active, schedule, &state) }
            case .registry(let event, let group):
                pollRegistry(active, event: event, group: group, &state)
            }
        }
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
    func fire(
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

    func reportOnce(_ state: inout State, _ line: String) {
        if state.reported.insert(line).inserted { report(line) }
    }
}
