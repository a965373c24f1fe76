import ArgumentParser
import Foundation
import SluiceCore
import SluiceServer
import SluiceServing
import SluiceStore

/// `sluice serve`: serves what the store says is deployed, following deploys and key changes while it runs.
struct ServeCommand: AsyncReportingCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the deployed endpoints over HTTP (SageMaker routes, /stream, /batch, /metrics) until Ctrl-C."
    )

    @OptionGroup var address: ListenAddress
    @Flag(help: "Log one line per request.") var accessLog = false

    @Flag(help: "Require x-api-key on /invocations too (boto3 sends no key, so it is off by default).")
    var requireKeyForInvocations = false

    @Option(help: "The endpoint behind the unqualified routes (/production/stream, /batch, …); default: the first.")
    var defaultEndpoint: String?

    @Option(help: "Event-loop threads answering HTTP (default: one per core).") var threads: Int?

    @Option(
        help: ArgumentHelp(
            "The folder of the pipelines that POST /api/executions may run (default: the working folder); "
                + "paths outside it are refused with 403.", valueName: "dir"))
    var pipelines: String?

    /// The `--pipelines` folder as an absolute path, checked to be a folder.
    func pipelineRoot() throws -> String {
        let current = FileManager.default.currentDirectoryPath
        guard let pipelines else { return current }
        let path = pipelines.hasPrefix("/") ? pipelines : current + "/" + pipelines
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CLIError("--pipelines \(pipelines): no such folder; give the folder holding the pipelines to serve")
        }
        return path
    }

    func execute() async throws {
        if let threads, threads < 1 { throw CLIError("--threads \(threads) must be at least 1") }
        let home = SluiceHome.resolve()
        // The engine runs inside the server: submitted pipelines, resumed executions, approval pages.
        let hosted = try HostedServer(
            home: home,
            configuration: .init(
                host: address.host, port: address.port, accessLog: accessLog,
                invocationsRequireKey: requireKeyForInvocations,
                eventLoopThreads: threads),
            workingDirectory: try pipelineRoot(),
            sink: { line in FileHandle.standardOutput.write(Data((line + "\n").utf8)) })
        let host = address.host
        let store = hosted.context.store
        let endpoints = hosted.runtime.server.service.endpoints
        if let defaultEndpoint {
            let known = try store.endpoints().map(\.name)
            guard known.contains(defaultEndpoint) else {
                let hint = closestMatch(to: defaultEndpoint, in: known).map { "did you mean '\($0)'? " } ?? ""
                throw CLIError(
                    "no endpoint '\(defaultEndpoint)' for --default-endpoint; \(hint)endpoints: "
                        + (known.isEmpty ? "none yet (deploy one first)" : known.joined(separator: ", ")))
            }
            endpoints.defaultEndpoint = defaultEndpoint
        }
        try await hosted.run { bound in
            var lines = [
                "sluice serve: listening on http://\(host):\(bound) (store \(home.path); Ctrl-C stops)",
                "  engine: POST http://\(host):\(bound)/api/executions runs a pipeline; approval links open here",
            ]
            if let name = endpoints.defaultEndpoint {
                lines.append("  /production/stream, /production/batch and /invocations answer for endpoint \(name)")
            } else if endpoints.endpointNames.count > 1 {
                lines.append(
                    "  /production/stream, /invocations, …: several endpoints, so name one in the path "
                        + "(/endpoints/NAME/STAGE/stream) or start with --default-endpoint NAME")
            }
            for deployment in (try? store.currentDeployments()) ?? [] {
                lines.append(
                    "  http://\(host):\(bound)/endpoints/\(deployment.endpoint)/\(deployment.stage)/stream  "
                        + deployment.variantSummary)
            }
            FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
        }
    }
}

/// Where `serve` and `demo` listen.
struct ListenAddress: ParsableArguments {
    @Option(help: "Address to bind (loopback by default; use 0.0.0.0 to expose it).") var host: String = "127.0.0.1"
    @Option(help: "Port to listen on (0 picks a free one).") var port: Int = 8080

    func validate() throws {
        guard (0...65_535).contains(port) else { throw ValidationError("--port \(port) is not a port; use 0…65535") }
    }
}

extension ServeRuntime.Configuration {
    /// `http://HOST:port`, an IPv6 host in brackets.
    func baseURL(port: Int) -> String { "http://\(host.contains(":") ? "[\(host)]" : host):\(port)" }
}
