import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SluiceCore
import SluiceExecutors
import SluiceTesting
import Testing

@Suite struct EndpointTestStepTests {
    /// A stage answering `2·x + 1`: `/good` (key `k` required), `/slow` (30 ms per request), `/flaky` (500 on
    /// the third request's x = 3).
    static func routes(_ router: Router<BasicRequestContext>) {
        @Sendable func predict(_ request: Request) async throws -> Double {
            let body = String(buffer: try await request.body.collect(upTo: 1 << 16))
            if request.headers[.contentType] == "text/csv" {
                return 2 * (Double(body.trimmingCharacters(in: .whitespacesAndNewlines)) ?? .nan) + 1
            }
            let value = try JSONDecoder().decode([String: [[Double]]].self, from: Data(body.utf8))
            return 2 * (value["x"]?.first?.first ?? .nan) + 1
        }
        @Sendable func answer(_ value: Double) -> Response {
            Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "\(value)")))
        }
        for route in ["stream", "invocations"] {
            router.post("/good/\(route)") { request, _ -> Response in
                guard request.headers[HTTPField.Name("x-api-key")!] == "k" else {
                    return Response(
                        status: .unauthorized, body: .init(byteBuffer: ByteBuffer(string: #"{"Message":"no key"}"#)))
                }
                return answer(try await predict(request))
            }
        }
        router.post("/slow/stream") { request, _ -> Response in
            try await Task.sleep(for: .milliseconds(30))
            return answer(try await predict(request))
        }
        router.post("/flaky/stream") { request, _ -> Response in
            let value = try await predict(request)
            return value == 7 ? Response(status: .internalServerError) : answer(value)
        }
    }

    /// Runs the step on a test set of x = 1…5 whose labels are `2·x + 1 + offset`. Unless a test gives its own, the
    /// requests' timeout is an hour: this process's test server answers on the same few concurrency threads that
    /// every other test of the run shares, and a busy run may hold them for more than the default 30 s.
    func runStep(_ inputs: [String: JSONValue], offset: Double = 0, base: String) async throws -> [String: JSONValue] {
        let folder = NSTemporaryDirectory() + "endpoint-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let csv = "x,target\n" + (1...5).map { "\($0),\(2 * Double($0) + 1 + offset)" }.joined(separator: "\n") + "\n"
        try Data(csv.utf8).write(to: URL(fileURLWithPath: folder + "/test.csv"))
        var all = inputs
        all["EndpointUrl"] = .string(base + (inputs["EndpointUrl"]?.string ?? "/good"))
        all["Test"] = .string(folder + "/test.csv")
        all["TimeoutSeconds"] = inputs["TimeoutSeconds"] ?? 3600
        let context = BuiltinStepContext(
            inputs: all, options: [:], workDirectory: folder + "/work", executionID: "e1", stepName: "Test Staging")
        return try await EndpointTestStep(secret: { $0 == "DEMO_KEY" ? "k" : nil }).run(context)
    }

    func failure(_ body: () async throws -> [String: JSONValue]) async -> StepFailure? {
        do {
            _ = try await body()
            return nil
        } catch let failure as StepFailure {
            return failure
        } catch {
            Issue.record("not a step failure: \(error)")
            return nil
        }
    }

    @Test func passingStageReportsCountLatencyAndMetric() async throws {
        try await withTestServer(Self.routes) { base in
            for route in ["stream", "invocations"] {
                let outputs = try await runStep(
                    ["ApiKeyEnvironment": "DEMO_KEY", "Route": .string(route), "MetricThreshold": 0.5], base: base)
                #expect(outputs["Count"] == 5 && outputs["Errors"] == 0, "\(route): \(outputs)")
                #expect(outputs["MetricValue"]?.number == 0)
                #expect((outputs["LatencyP95Ms"]?.number ?? 0) > 0)
                let report = try #require(outputs["Report"]?.string)
                let text = String(decoding: FileManager.default.contents(atPath: report) ?? Data(), as: UTF8.self)
                #expect(text.contains(#""regression_metrics""#) && text.contains(#""LatencyP95Ms""#))
            }
        }
    }

    @Test func failsOnErrorsLatencyAndMetric() async throws {
        try await withTestServer(Self.routes) { base in
            let unauthorized = await failure { try await runStep([:], base: base) }
            #expect(unauthorized?.error == "Sluice.EndpointTestFailed")
            #expect(unauthorized?.cause.contains("5 of 5 requests failed; row 1") == true)
            #expect(unauthorized?.cause.contains("answered 401") == true)
            #expect(unauthorized?.cause.contains("SLUICE_API_KEY") == true, "\(unauthorized?.cause ?? "")")

            let flaky = await failure { try await runStep(["EndpointUrl": "/flaky"], base: base) }
            #expect(flaky?.cause.contains("1 of 5 requests failed; row 3: POST") == true, "\(flaky?.cause ?? "")")
            #expect(flaky?.cause.contains("answered 500") == true)

            let slow = await failure {
                try await runStep(["EndpointUrl": "/slow", "MaxP95LatencyMs": 1], base: base)
            }
            #expect(slow?.cause.contains("is above MaxP95LatencyMs 1") == true, "\(slow?.cause ?? "")")

            let metric = await failure {
                try await runStep(
                    ["ApiKeyEnvironment": "DEMO_KEY", "MetricThreshold": 50, "Metric": "rmse"], offset: 10,
                    base: base)
            }
            #expect(metric == nil, "rmse 10 is within 50")
            let mse = await failure {
                try await runStep(["ApiKeyEnvironment": "DEMO_KEY", "MetricThreshold": 50], offset: 10, base: base)
            }
            #expect(mse?.cause.contains("mse 100.0 is above MetricThreshold 50.0") == true, "\(mse?.cause ?? "")")

            let unknown = await failure { try await runStep(["Route": "grpc"], base: base) }
            #expect(unknown?.cause.contains("use stream or invocations") == true)
        }
    }

    /// A request slower than `TimeoutSeconds` counts as failed, naming the request and the limit.
    @Test func aRequestOverTheTimeoutFails() async throws {
        try await withTestServer(Self.routes) { base in
            let slow = await failure {
                try await runStep(["EndpointUrl": "/slow", "TimeoutSeconds": 0.001], base: base)
            }
            #expect(slow?.cause.contains("5 of 5 requests failed; row 1: POST \(base)/slow/stream") == true)
            #expect(slow?.cause.contains("within 0.001 seconds") == true, "\(slow?.cause ?? "")")
            let zero = await failure { try await runStep(["TimeoutSeconds": 0], base: base) }
            #expect(zero?.cause.contains("input 'TimeoutSeconds' is 0.0; give a number of seconds above 0") == true)
        }
    }
}
