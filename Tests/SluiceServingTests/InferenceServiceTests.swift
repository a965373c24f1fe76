import Foundation
import NIOCore
import SluiceServing
import Testing

@Suite struct InferenceServiceTests {
    private let model = LinearPredictor(coefficients: [2, -1], intercept: 0.5)

    private func service(capture: CaptureWriter? = nil, seed: UInt64 = 42, percent: Double = 0) -> (
        InferenceService, LiveStage
    ) {
        let table = EndpointTable()
        let stage = table.deploy(
            endpoint: "w1", stage: .production,
            StageDeployment(
                variants: [
                    Variant(name: "A", weight: 3, predictor: model), Variant(name: "B", weight: 1, predictor: model),
                ],
                capturePercentage: percent
            )
        )
        return (InferenceService(endpoints: table, keyring: APIKeyring(), capture: capture, captureSeed: seed), stage)
    }

    private func invoke(
        _ service: InferenceService, _ stage: LiveStage, _ body: String, type: String?, shape: ResponseShape,
        variant: String? = nil
    ) throws(ServingError) -> (String, String, String) {
        let result = try service.invoke(
            stage, body: ByteBuffer(string: body), contentType: type, shape: shape, targetVariant: variant,
            allocator: ByteBufferAllocator()
        )
        return (String(buffer: result.body), result.contentType, result.variant)
    }

    @Test func shapesOfTheAnswers() throws {
        let (service, stage) = service()
        #expect(try invoke(service, stage, #"{"x": [[1, 2]]}"#, type: "application/json", shape: .stream).0 == "0.5")
        #expect(try invoke(service, stage, "[[1,2],[3,1]]", type: nil, shape: .batch).0 == "[[0.5],[5.5]]")
        let csv = try invoke(service, stage, "1,2\n3,1\n", type: "text/csv", shape: .invocations)
        #expect(csv.0 == "0.5\n5.5\n" && csv.1 == "text/csv")
        let json = try invoke(service, stage, "[[3,1]]", type: "application/json", shape: .invocations)
        #expect(json.0 == #"{"predictions":[5.5]}"# && json.1 == "application/json")
    }

    @Test func streamTakesOneRow() {
        let (service, stage) = service()
        #expect(throws: ServingError.self) {
            try invoke(service, stage, "[[1,2],[3,4]]", type: nil, shape: .stream)
        }
    }

    @Test func csvOnlyStageAnswersW2Message() {
        let table = EndpointTable()
        let stage = table.deploy(
            endpoint: "abalone", stage: .production,
            StageDeployment(variants: [Variant(name: "A", predictor: model)], formats: [.csv])
        )
        let service = InferenceService(endpoints: table, keyring: APIKeyring())
        #expect(throws: ServingError(.unsupportedMediaType, "Invalid request data type, only 'text/csv' is supported."))
        {
            try invoke(service, stage, "[[1,2]]", type: "application/json", shape: .invocations)
        }
    }

    @Test func targetVariantAndWeights() throws {
        let (service, stage) = service()
        #expect(try invoke(service, stage, "1,2", type: "text/csv", shape: .invocations, variant: "B").2 == "B")
        #expect(throws: ServingError.self) {
            try invoke(service, stage, "1,2", type: "text/csv", shape: .invocations, variant: "C")
        }
        // Weights 3:1 → the first variant below 0.75, the second above.
        #expect(try stage.variant(target: nil, random: 0.74).name == "A")
        #expect(try stage.variant(target: nil, random: 0.76).name == "B")
    }

    @Test func unknownEndpointListsWhatExists() {
        let (service, _) = service()
        do {
            _ = try service.endpoints.stage(endpoint: "nope", stage: .production)
            Issue.record("an unknown endpoint was found")
        } catch {
            #expect(error.code == .unknownEndpoint && error.message.contains("w1/production"))
        }
    }

    @Test func captureLandsInSageMakerLayoutAtTheSampledRate() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-capture-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let writer = CaptureWriter(root: root)
        let draining = Task { await writer.run() }
        let (service, stage) = service(capture: writer, seed: 7, percent: 25)
        let requests = 400
        for i in 0..<requests {
            _ = try invoke(service, stage, "\(i),1", type: "text/csv", shape: .invocations, variant: "A")
        }
        writer.finish()
        await draining.value

        let replay = CaptureSampler(seed: 7)
        let expected = (0..<requests).filter { _ in replay.shouldCapture(percentage: 25) }.count
        #expect(expected > 60 && expected < 140)  // about 25 % of 400

        let date = UTCDate(secondsSince1970: Date().timeIntervalSince1970)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let hourFolder = root.appendingPathComponent(
            "w1/production/A/\(date.year)/\(two(date.month))/\(two(date.day))/\(two(date.hour))"
        )
        let files = try FileManager.default.contentsOfDirectory(atPath: hourFolder.path)
        #expect(files.count == 1 && files[0].hasSuffix(".jsonl"))
        let lines = try String(contentsOf: hourFolder.appendingPathComponent(files[0]), encoding: .utf8)
            .split(separator: "\n")
        #expect(lines.count == expected)
        let first = try #require(
            JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any]
        )
        let data = try #require(first["captureData"] as? [String: Any])
        let input = try #require(data["endpointInput"] as? [String: Any])
        let output = try #require(data["endpointOutput"] as? [String: Any])
        #expect(input["observedContentType"] as? String == "text/csv" && input["encoding"] as? String == "CSV")
        let row = try #require((input["data"] as? String)?.split(separator: ",").first.flatMap { Double($0) })
        #expect(output["data"] as? String == "\(2 * row - 1 + 0.5)\n")
        let metadata = try #require(first["eventMetadata"] as? [String: Any])
        #expect((metadata["eventId"] as? String)?.count == 36)
        #expect(writer.writtenCount == expected && writer.droppedCount == 0)
    }

    @Test func shadowSeesTheTrafficButNeverAnswers() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-shadow-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let writer = CaptureWriter(root: root)
        let draining = Task { await writer.run() }
        let table = EndpointTable()
        let stage = table.deploy(
            endpoint: "w1", stage: .production,
            StageDeployment(
                variants: [Variant(name: "live", predictor: model)],
                shadow: Variant(name: "candidate", predictor: LinearPredictor(coefficients: [0, 0], intercept: 9)),
                capturePercentage: 100
            )
        )
        let service = InferenceService(endpoints: table, keyring: APIKeyring(), capture: writer)
        for _ in 0..<5 {
            let answer = try service.invoke(
                stage, body: ByteBuffer(string: "1,2"), contentType: "text/csv", shape: .invocations,
                targetVariant: nil, allocator: ByteBufferAllocator()
            )
            #expect(String(buffer: answer.body) == "0.5\n" && answer.variant == "live")
        }
        writer.finish()
        await draining.value
        func lines(_ variant: String) throws -> [String] {
            let folder = root.appendingPathComponent("w1/production/\(variant)")
            let files = FileManager.default.enumerator(atPath: folder.path)?.compactMap { $0 as? String } ?? []
            return try files.filter { $0.hasSuffix(".jsonl") }.flatMap {
                try String(contentsOf: folder.appendingPathComponent($0), encoding: .utf8).split(separator: "\n").map(
                    String.init)
            }
        }
        #expect(try lines("live").count == 5)
        let shadow = try lines("candidate")
        #expect(shadow.count == 5 && shadow.allSatisfy { $0.contains(#""data":"9.0\n""#) })
    }
}
