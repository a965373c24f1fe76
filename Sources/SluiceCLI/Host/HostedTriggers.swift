import ServiceLifecycle
import SluiceCore
import SluiceEngine

/// The enabled triggers, run as a service of the server's group; their executions are driven by the hosted engine.
struct HostedTriggers: Service {
    let service: TriggerService

    init(context: EngineContext, engine: HostedEngine, sink: @escaping @Sendable (String) -> Void) {
        service = TriggerService(
            store: context.store, registry: context.store, engine: context.engine,
            newID: { EngineContext.newExecutionID() }, launch: { engine.host($0, pipeline: $1) }, report: sink)
    }

    func run() async throws {
        await cancelWhenGracefulShutdown { await service.run() }
    }
}
