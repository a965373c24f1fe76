import ArgumentParser
import Foundation
import ServiceLifecycle
import SluiceCore
import SluiceEngine
import SluiceExecutors
import SluiceHTTPClient
import SluiceServer
import SluiceServing
import SluiceStore
import Synchronization

/// `sluice demo`: the newcomer's first command. Starts the server on the embedded store, runs W1 end to end inside
/// it over real HTTP (train → evaluate → gate → register → deploy to staging → test → promote to production),
/// creates an API key and prints a ready-to-paste `curl`.
struct DemoCommand: AsyncReportingCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Serve, run the W1 diabetes pipeline end to end over HTTP, and print a ready-to-paste curl.")

    @OptionGroup var address: ListenAddress
    @Option(help: "The pipeline to run.") var pipeline: String = "examples/w1-diabetes/deploy-pipeline.yaml"
    @Option(
        name: [.customShort("p"), .customLong("parameter")],
        help: "A parameter value, KEY=VALUE (repeatable), e.g. -p MaxP95LatencyMs=2000 on a busy machine.")
    var parameters: [String] = []

    @Flag(name: .customLong("exit"), help: "Stop after the pipeline and a self-check request (for scripts and CI).")
    var exitAfterCheck = false

    func execute() async throws {
        let path = URL(fileURLWithPath: pipeline).standardizedFileURL.path
        guard FileManager.default.fileExists(atPath: path) else {
            throw CLIError(
                "\(pipeline): no such file; run `sluice demo` from the Sluice repository folder or pass "
                    + "--pipeline PATH")
        }
        // The hosted engine reads each value as its parameter's declared type, as `sluice run -p` does.
        let overrides = try parameterOverrides(parameters, of: nil).mapValues(JSONValue.string)
        let home = SluiceHome.resolve()
        let hosted = try HostedServer(
            home: home, configuration: .init(host: address.host, port: address.port),
            sink: { line in FileHandle.standardOutput.write(Data((line + "\n").utf8)) })
        let (ports, bound) = AsyncStream.makeStream(of: Int.self)
        let flow = DemoFlow(
            hosted: hosted, submission: ExecutionSubmission(pipeline: path, parameters: overrides),
            exitAfterCheck: exitAfterCheck, ports: ports)
        try await hosted.run(companion: flow) { port in bound.yield(port) }
    }
}

/// The demo's own work, a service beside the server: it returns (shutting the group down) only with `--exit`.
struct DemoFlow: Service {
    let hosted: HostedServer
    let submission: ExecutionSubmission
    let exitAfterCheck: Bool
    let ports: AsyncStream<Int>

    func say(_ text: String) { FileHandle.standardOutput.write(Data((text + "\n").utf8)) }

    func run() async throws {
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { return }
        let base = hosted.runtime.configuration.baseURL(port: port)
        say("sluice demo: serving on \(base) (store \(hosted.context.home.path))")

        // W1's usage plan: 10,000 requests/s, burst 5,000. The key is shown once and stored as a hash.
        let (key, record) = APIKey.generate(name: "demo")
        try hosted.context.store.createAPIKey(
            StoredAPIKey(
                id: record.id, name: "demo", hashHex: Hex.encode(record.hash),
                createdAt: Date().timeIntervalSince1970, rate: 10_000, burst: 5_000))
        EngineContext.secrets.withLock { $0["SLUICE_API_KEY"] = key }
        try hosted.runtime.refresh()

        say("running \(submission.pipeline)")
        let id = try await hosted.engine.submit(submission)
        let status = await hosted.engine.waitForEnd(of: id)
        guard status == .succeeded else {
            throw CLIError(
                "execution \(id) \(status?.rawValue ?? "stopped"); see `sluice show \(id)` and `sluice logs \(id)`")
        }
        let endpoint = try hosted.context.store.execution(id: id)?.parameters["Endpoint"]?.string ?? "diabetes"
        try hosted.runtime.refresh()
        hosted.runtime.server.service.endpoints.defaultEndpoint = endpoint

        let curl =
            "curl -s -H 'x-api-key: \(key)' -d '{\"x\": [[0.3]]}' \(base)/production/stream"
        say(
            """

            W1 is live: trained, gated, registered, tested on staging over HTTP and promoted to production.
              production  \(base)/production/stream   \(base)/production/batch
              endpoint    \(base)/endpoints/\(endpoint)/production/stream   (staging: …/\(endpoint)/staging/stream)
              SageMaker   \(base)/endpoints/\(endpoint)/invocations
              metrics     \(base)/metrics
              execution   \(base)/api/executions/\(id)
            API key (shown once; usage plan 10,000/s, burst 5,000): \(key)
            Try it (≈ 434.08):
              \(curl)
            """)
        guard exitAfterCheck else {
            say("Serving until Ctrl-C.")
            try await gracefulShutdown()
            return
        }
        do {
            try await selfCheck(base: base, key: key)
        } catch {
            say("self-check failed: \(error)")
            throw error
        }
    }

    /// One request with the key (must answer ≈ 434.08) and one without (must be refused).
    private func selfCheck(base: String, key: String) async throws {
        let client = HTTPClient()
        let url = base + "/production/stream"
        let body = Array(#"{"x": [[0.3]]}"#.utf8)
        let answer = try await client.post(
            url, headers: [("Content-Type", "application/json"), ("x-api-key", key)], body: body, timeout: .seconds(30))
        guard answer.isSuccess, let value = Double(answer.text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw CLIError("self-check: POST \(url) answered \(answer.status): \(answer.text)")
        }
        let refused = try await client.post(
            url, headers: [("Content-Type", "application/json")], body: body, timeout: .seconds(30))
        guard refused.status == 401 || refused.status == 403 else {
            throw CLIError("self-check: POST \(url) without a key answered \(refused.status), not 401")
        }
        say("self-check: /production/stream → \(value); without a key → \(refused.status). Stopping (--exit).")
    }
}
