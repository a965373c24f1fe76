import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import SluiceConsole
import SluiceEngine
import SluiceMonitor
import SluiceServer
import SluiceServing
import SluiceStore
import UnixSignals

/// The server with the engine inside: the store-backed serving runtime, the approval pages, the execution API and
/// the hosted engine, run as services of one group that shuts down gracefully on SIGINT or SIGTERM.
struct HostedServer: Sendable {
    let context: EngineContext
    let engine: HostedEngine
    let runtime: ServeRuntime

    /// Opens `home` and wires the engine into the serving runtime.
    /// - Parameters:
    ///   - workingDirectory: the pipeline root: submissions name pipelines under it, relative paths from it.
    ///   - sink: where hosted executions' step lines and approval links go.
    init(
        home: SluiceHome, configuration: ServeRuntime.Configuration,
        workingDirectory: String = FileManager.default.currentDirectoryPath, logger: Logger? = nil,
        sink: @escaping @Sendable (String) -> Void
    ) throws {
        let bell = ApprovalBell()
        let context = try EngineContext.open(
            home: home, serveURL: configuration.baseURL(port: configuration.port), approvalBell: bell)
        let engine = HostedEngine(context: context, workingDirectory: workingDirectory, sink: sink)
        self.context = context
        self.engine = engine
        // Beyond loopback, running pipelines over HTTP needs a key: a pipeline runs commands on this machine.
        let keyring = APIKeyring()
        let loopback = ["127.0.0.1", "localhost", "::1"].contains(configuration.host)
        let desk = StoreApprovalDesk(store: context.store, bell: bell, clock: context.engine.clock)
        let metrics = ServingMetrics()
        let console = ConsoleRoutes(
            store: context.store, engine: engine, desk: desk, clock: context.engine.clock, metrics: metrics,
            configuration: .init(loopbackOnly: loopback, executionsPath: home.executionsPath),
            keyring: keyring)
        self.runtime = try ServeRuntime(
            home: home, store: context.store, configuration: configuration, logger: logger, keyring: keyring,
            routes: [
                ApprovalRoutes(desk: desk),
                ExecutionRoutes(host: engine, keyring: loopback ? nil : keyring, pipelineRoot: workingDirectory),
                console,
            ],
            services: [
                engine,
                TriggerService(
                    store: context.store, registry: context.store, engine: context.engine,
                    newID: EngineContext.newExecutionID, launch: { engine.host($0, pipeline: $1) }, report: sink),
                MonitorScheduler(runner: context.monitorRunner, report: sink),
            ], metrics: metrics)
    }

    /// Serves until SIGINT/SIGTERM, or until a `companion` service returns (it then shuts the group down
    /// gracefully); `onServerRunning` receives the bound port.
    func run(
        companion: (any Service)? = nil, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws {
        let engine = engine
        let configuration = runtime.configuration
        var services = runtime.services { port in
            engine.baseURL = configuration.baseURL(port: port)
            await onServerRunning(port)
        }.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) }
        if let companion {
            services.append(
                .init(
                    service: companion, successTerminationBehavior: .gracefullyShutdownGroup,
                    failureTerminationBehavior: .gracefullyShutdownGroup))
        }
        let group = ServiceGroup(
            configuration: .init(
                services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: runtime.logger))
        do {
            try await group.run()
        } catch let error as IOError where error.errnoCode == EADDRINUSE {
            throw CLIError(
                "\(runtime.configuration.host):\(runtime.configuration.port) is already in use (another `sluice serve`?); "
                    + "stop it or pick another port with --port")
        }
    }
}
