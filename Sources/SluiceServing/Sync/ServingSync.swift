import Logging
import ServiceLifecycle
import SluiceCore
import Synchronization

/// Keeps a running server's endpoint table and keyring in step with the store: a cheap counter read decides whether
/// anything changed; changed stages are rebuilt and swapped in whole, so in-flight requests finish on the model
/// they started with. A key the keyring does not hold is looked up in the store before it is refused, so a key
/// works the moment `sluice keys create` returns.
public final class ServingSync: Sendable {
    public let source: StoreServingSource
    public let table: EndpointTable
    public let keyring: APIKeyring
    public let logger: Logger

    private struct Applied: Equatable {
        var deploymentID: Int64
        var endpoint: EndpointRecord?
    }
    private struct State {
        var counter: Int64 = -1
        var applied: [String: Applied] = [:]
    }
    private let state = Mutex(State())

    public init(source: StoreServingSource, table: EndpointTable, keyring: APIKeyring, logger: Logger) {
        self.source = source
        self.table = table
        self.keyring = keyring
        self.logger = logger
        keyring.lookUpMisses { [source] hash in source.keyRecord(hash: hash) }
    }

    /// Reloads what changed since the last call; returns whether the store had changed.
    @discardableResult
    public func refresh() throws -> Bool {
        try state.withLock { state throws -> Bool in
            let store = source.store
            let counter = try store.servingChangeCounter()
            guard counter != state.counter else { return false }
            keyring.replaceAll(with: try source.keyRecords())
            let endpoints = Dictionary(uniqueKeysWithValues: try store.endpoints().map { ($0.name, $0) })
            var seen: Set<String> = []
            let current = try store.currentDeployments()
            for record in current {
                let key = record.endpoint + "\u{0}" + record.stage
                seen.insert(key)
                var endpoint = endpoints[record.endpoint]
                endpoint?.createdAt = 0
                let applied = Applied(deploymentID: record.id, endpoint: endpoint)
                guard state.applied[key] != applied else { continue }
                // Marked applied even when loading fails, so a broken model is reported once, not every poll.
                state.applied[key] = applied
                do {
                    let deployment = try source.stageDeployment(record, endpoint: endpoint)
                    table.deploy(endpoint: record.endpoint, stage: StageName(rawValue: record.stage), deployment)
                    let variants = record.variants.map { "\($0.name)=\($0.reference)" }.joined(separator: ", ")
                    logger.info(
                        "deployed \(record.endpoint) (\(record.stage)): \(variants)",
                        metadata: ["endpoint": .string(record.endpoint), "deployment": .stringConvertible(record.id)])
                } catch {
                    logger.error(
                        "\(record.endpoint) (\(record.stage)) keeps its previous models: \(error)",
                        metadata: ["endpoint": .string(record.endpoint)])
                }
            }
            for key in state.applied.keys where !seen.contains(key) {
                let parts = key.split(separator: "\u{0}", maxSplits: 1).map(String.init)
                table.remove(endpoint: parts[0], stage: StageName(rawValue: parts[1]))
                state.applied[key] = nil
            }
            try source.forgetUnused(current)
            state.counter = counter
            return true
        }
    }
}

/// Polls the store's change counter and reloads what changed, and keeps the quota counts that changed. A crash
/// loses at most one interval of counts.
public struct StorePoller: Service {
    public let sync: ServingSync
    public let meter: UsageMeter
    public let interval: Duration
    /// Called after each poll, to read what else the server shows from the store (the monitor's alert gauges);
    /// an error is logged and the next poll calls it again.
    public let onPoll: @Sendable () throws -> Void

    public init(
        sync: ServingSync, meter: UsageMeter, interval: Duration, onPoll: @escaping @Sendable () throws -> Void = {}
    ) {
        self.sync = sync
        self.meter = meter
        self.interval = interval
        self.onPoll = onPoll
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try sync.refresh()
                } catch {
                    sync.logger.error("cannot read deployments from the store: \(error)")
                }
                keepUsage()
                do {
                    try onPoll()
                } catch {
                    sync.logger.error("cannot read the store after a poll: \(error)")
                }
                try? await Task.sleep(for: interval)
            }
        }
        keepUsage()
    }

    /// Counts are totals: those that fail to save (a full disk) are saved whole at the next try.
    private func keepUsage() {
        let changes = meter.takeChanges()
        do {
            try sync.source.store.saveKeyUsage(changes)
        } catch {
            meter.keepLater(changes)
            sync.logger.error("cannot keep quota counts in the store: \(error)")
        }
    }
}
