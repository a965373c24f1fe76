import Foundation
import Logging
import ServiceLifecycle
import SluiceEngine
import SluiceServer
import SluiceServing
import UnixSignals

/// The server with the engine inside: serving's routes, the approval pages, the execution API and the hosted
/// engine, run as services of one group that shuts down gracefully on SIGINT or SIGTERM.
struct HostedServer: Sendable {
    let context: EngineContext
    let engine: HostedEngine
    let server: SluiceServer

    /// - Parameters:
    ///   - service: the serving side (endpoints, keys, capture) the routes answer from.
    ///   - sink: where hosted executions' step lines and approval links go.
    init(
        context: EngineContext, service: InferenceService, configuration: SluiceServer.Configuration,
        workingDirectory: String = FileManager.default.currentDirectoryPath,
        logger: Logger = Logger(label: "sluice.serve"), sink: @escaping @Sendable (String) -> Void
    ) {
        self.context = context
        let engine = HostedEngine(context: context, workingDirectory: workingDirectory, sink: sink)
        self.engine = engine
        self.server = SluiceServer(
            service: service, configuration: configuration, logger: logger,
            routes: [ApprovalRoutes(desk: StoreApprovalDesk(store: context.store)), ExecutionRoutes(host: engine)],
            services: [engine])
    }

    /// Serves until SIGINT/SIGTERM, or until a `companion` service returns (it then shuts the group down
    /// gracefully); `onServerRunning` receives the bound port.
    func run(
        companion: (any Service)? = nil, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws {
        let engine = engine
        let host = server.configuration.host
        let application = server.makeApplication { port in
            engine.baseURL = "http://\(host.contains(":") ? "[\(host)]" : host):\(port)"
            await onServerRunning(port)
        }
        var services = [ServiceGroupConfiguration.ServiceConfiguration(service: application)]
        if let companion {
            services.append(.init(service: companion, successTerminationBehavior: .gracefullyShutdownGroup))
        }
        let group = ServiceGroup(
            configuration: .init(
                services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: server.logger))
        try await group.run()
    }
}
