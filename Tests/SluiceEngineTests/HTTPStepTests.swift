import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

/// `http` modules through the `sluice` binary against a live local service.
@Suite struct HTTPStepTests {
    static func routes(_ router: Router<BasicRequestContext>) {
        router.post("/score") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            let inputs = try JSONDecoder().decode([String: JSONValue].self, from: Data(body.readableBytesView))
            let answer: JSONValue = ["Score": .double((inputs["x"]?.number ?? 0) + 0.5)]
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: try JSONEncoder().encode(answer))))
        }
        router.post("/broken") { _, _ -> Response in
            Response(status: .internalServerError, body: .init(byteBuffer: ByteBuffer(string: "model exploded")))
        }
    }

    /// Runs the binary without blocking a thread of the cooperative pool (the service under test needs them).
    func run(_ sandbox: Sandbox, _ arguments: [String]) async throws -> (Int32, String) {
        let log = "\(sandbox.folder)/out-\(UUID().uuidString).log"
        let process = sandbox.process(arguments, output: log)
        try process.run()
        while process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        process.waitUntilExit()
        return (
            process.terminationStatus,
            String(decoding: FileManager.default.contents(atPath: log) ?? Data(), as: UTF8.self)
        )
    }

    func write(_ sandbox: Sandbox, base: String) throws {
        for (name, path) in [("Score", "/score"), ("Broken", "/broken")] {
            try sandbox.write(
                "\(name.lowercased()).yaml",
                """
                name: \(name)
                type: HTTP
                implementation:
                  http: \(base)\(path)
                inputs:
                  - name: x
                    type: Float
                outputs:
                  - name: Score
                    type: Float
                """)
        }
        try sandbox.write(
            "record.yaml",
            """
            name: Record
            type: Command
            implementation:
              command: [sh, -c, "echo \\"$SLUICE_STEP $SM_HPS\\" >> \\"$MARKER\\""]
            inputs:
              - name: value
                type: Json
                optional: true
            outputs: []
            """)
    }

    @Test func answerFeedsTheNextStepAndErrorStatusIsCaught() async throws {
        let sandbox = try Sandbox()
        try await withTestServer(Self.routes) { base in
            try write(sandbox, base: base)
            try sandbox.write(
                "pipeline.yaml",
                """
                name: Scored
                steps:
                  - name: Score
                    module: Score
                    inputs: {x: 2}
                  - name: Use
                    module: Record
                    after: [Score]
                    inputs: {value: $.steps.Score.outputs.Score}
                  - name: Broken
                    module: Broken
                    inputs: {x: 1}
                    catch:
                      - errors: [HTTP.500]
                        next: Fallback
                  - name: Fallback
                    module: Record
                """)
            let (status, output) = try await run(sandbox, ["run", "pipeline.yaml"])
            #expect(status == 0, "\(output)")
            let marker = String(
                decoding: FileManager.default.contents(atPath: "\(sandbox.folder)/marker.txt") ?? Data(), as: UTF8.self)
            #expect(marker.contains("Use {\"value\":2.5}"), "\(marker)")
            #expect(marker.contains("Fallback"), "\(marker)")
            let store = try SQLiteStore(path: "\(sandbox.home)/sluice.db")
            let id = try #require(try store.executions(limit: 1).first?.id)
            let broken = try #require(try store.steps(executionID: id).first { $0.name == "Broken" })
            #expect(broken.error?.error == "HTTP.500")
            #expect(broken.error?.cause.contains("model exploded") == true)
        }
    }
}
