import Foundation
import Logging
import ServiceLifecycle
import SluiceServer
import SluiceServing
import SluiceStore
import UnixSignals

/// The store-backed server of one `.sluice/` home: endpoints, keys and capture settings come from the store, and CLI
/// changes (deploy, promote, rollback, traffic, key revocation) reach the running server within one poll, without a
/// restart or a dropped request.
///
/// `sluice serve` runs it alone; other commands (the newcomer's demo) run its `services` beside their own work.
struct ServeRuntime: Sendable {
    /// Server settings.
    struct Configuration: Sendable {
        var host: String = "127.0.0.1"
        var port: Int = 8080
        /// How often the store's change counter is read.
        var pollInterval: Duration = .milliseconds(500)
        var accessLog: Bool = false
        /// Whether `/invocations` also needs `x-api-key`.
        var invocationsRequireKey: Bool = false
        /// Event-loop threads; nil = one per core.
        var eventLoopThreads: Int?
    }

    let home: SluiceHome
    let store: SQLiteStore
    let configuration: Configuration
    let sync: ServingSync
    /// Usage-plan counts, restored from the store at start and kept there by the poller.
    let meter: UsageMeter
    let server: SluiceServer
    /// The monitor's alerts on `/metrics`, read after each poll.
    let gauges: MonitorGauges
    let logger: Logger

    /// A runtime over an already open store.
    /// - Parameters:
    ///   - keyring: the keys the server accepts, loaded from the store (shared with routes that check keys).
    ///   - routes: further route groups (approval pages, the execution API).
    ///   - services: further services run inside the server's group (the hosted engine).
    ///   - metrics: the request counts `/metrics` exposes (shared with routes that show them).
    init(
        home: SluiceHome, store: SQLiteStore, configuration: Configuration, logger: Logger? = nil,
        keyring: APIKeyring = APIKeyring(), routes: [any ServerRoutes] = [], services: [any Service] = [],
        metrics: ServingMetrics = ServingMetrics()
    ) throws {
        self.home = home
        self.store = store
        self.configuration = configuration
        let logger = logger ?? Logger(label: "sluice.serve")
        self.logger = logger
        let table = EndpointTable()
        let source = StoreServingSource(store: store, artifacts: ArtifactStore(root: home.artifactsPath))
        sync = ServingSync(source: source, table: table, keyring: keyring, logger: logger)
        try sync.refresh()
        meter = UsageMeter()
        meter.restore(try store.keyUsage())
        let capture = CaptureWriter(
            root: URL(fileURLWithPath: home.path).appendingPathComponent("capture"), logger: logger)
        let service = InferenceService(
            endpoints: table, keyring: keyring, meter: meter, capture: capture, features: store)
        gauges = MonitorGauges(store: store, metrics: metrics)
        server = SluiceServer(
            service: service,
            configuration: .init(
                host: configuration.host, port: configuration.port, accessLog: configuration.accessLog,
                invocationsRequireKey: configuration.invocationsRequireKey,
                eventLoopThreads: configuration.eventLoopThreads),
            metrics: metrics, logger: logger, routes: routes + [GroundTruthRoutes(store: store, keyring: keyring)],
            services: services)
    }

    /// Applies store changes now instead of at the next poll (e.g. right after a deploy in the same process).
    func refresh() throws { try sync.refresh() }

    /// The store poller and the HTTP server, to run in a `ServiceGroup`; `onServerRunning` gets the bound port.
    /// A group stops its services in reverse order, so the poller keeps the last quota counts after the server
    /// has drained.
    func services(onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> [any Service] {
        [
            StorePoller(
                sync: sync, meter: meter, interval: configuration.pollInterval,
                onPoll: { [gauges] in try gauges.refresh() }),
            server.makeApplication(onServerRunning: onServerRunning),
        ]
    }

    /// The server and the poller in one service group that shuts down gracefully on `signals`.
    func serviceGroup(
        signals: [UnixSignal] = [.sigterm, .sigint], onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> ServiceGroup {
        ServiceGroup(
            configuration: .init(
                services: services(onServerRunning: onServerRunning).map { .init(service: $0) },
                gracefulShutdownSignals: signals, logger: logger))
    }
}
