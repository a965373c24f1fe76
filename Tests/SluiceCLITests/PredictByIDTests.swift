import Foundation
import SluiceCore
import SluiceML
import SluiceServing
import SluiceStore
import Testing

@testable import SluiceCLI

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Predict-by-id over a real store and the real server: an endpoint configured with a feature group answers the
/// prediction for a record id from the record's latest features, behind an API key, counted and captured.
@Suite struct PredictByIDTests {
    /// A model trained with a `select` that kept its label (W3's Prepare step does): serving rows have no label.
    static let model = ModelArtifact(
        inputColumns: ["x"], features: ["x"], label: "status",
        transforms: [.select(columns: ["x", "status"])], algorithm: "linear",
        linear: LinearModel(coefficients: [2], intercept: 0.5), training: .init(rows: 1, trainedAt: "t"))

    static func prepare(_ sandbox: ServingSandbox) throws {
        let store = sandbox.store
        _ = try store.createFeatureGroup(
            FeatureGroup(
                name: "loans", recordIdentifier: "id", eventTime: "loan_date",
                features: [
                    .init(name: "id", type: .string), .init(name: "loan_date", type: .string),
                    .init(name: "x", type: .fractional), .init(name: "status", type: .integral),
                ],
                onlineStore: true, createdAt: 0))
        _ = try store.putFeatureRecords(
            group: "loans",
            records: [
                FeatureRecord(recordID: "7", eventTime: "2019-05-01", features: ["id": "7", "x": 3.5, "status": 1]),
                FeatureRecord(recordID: "7", eventTime: "2018-01-01", features: ["id": "7", "x": 1.0, "status": 0]),
            ], now: 0)
        let path = sandbox.folder + "/model.json"
        try model.save(to: path)
        let hash = "sha256:" + SHA256.hex(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        let version = try store.registerModelVersion(
            NewModelVersion(
                group: "Risk", artifactPath: path, artifactHash: hash, status: .approved,
                createdAt: 0),
            by: "test"
        ).version
        _ = try store.deploy(
            endpoint: "credit-risk", stage: "prod",
            variant: DeployedVariant(name: "AllTraffic", group: "Risk", version: version),
            replacing: true, allowUnapproved: false, capturePercentage: 100, by: "test", reason: "", now: 1)
        try store.setFeatureLookup(
            endpoint: "credit-risk",
            FeatureLookup(
                group: "loans", idField: "user_id", featuresRoute: "/invokeFeatureStore",
                predictRoute: "/invokeSagemakerAPI"))
    }

    @Test func predictsForARecordIDBehindAKeyCountedAndCaptured() async throws {
        let sandbox = try ServingSandbox()
        try Self.prepare(sandbox)
        // The model evaluated directly on the record's latest features (x = 3.5).
        let direct = try Self.model.predict(Frame(names: ["x"], columns: [.numeric([3.5])]))[0]
        let expected = #"{"result":"\#(direct)"}"#

        // A poll far in the future: the key below works only because a miss asks the store.
        try await withStoreServer(sandbox, pollInterval: .seconds(3600)) { port in
            let path = "/invokeSagemakerAPI"
            let body = #"{"user_id": 7, "sagemaker_endpoint": "credit-risk"}"#
            let anonymous = try await post(port, path, body, key: nil)
            #expect(anonymous.status == 401, "\(anonymous.body)")

            // The key is used at once after it is stored (well within 10 ms; no poll can have run).
            let (key, record) = APIKey.generate(name: "risk")
            try sandbox.store.createAPIKey(
                StoredAPIKey(
                    id: record.id, name: "risk", hashHex: Hex.encode(record.hash),
                    createdAt: Date().timeIntervalSince1970))
            let scored = try await post(port, path, body, key: key)
            #expect(scored.status == 200 && scored.body == expected, "\(scored.body)")

            let canonical = try await post(
                port, "/endpoints/credit-risk/prod/predict-by-id", #"{"user_id": "7"}"#, key: key)
            #expect(canonical.status == 200 && canonical.body == expected, "\(canonical.body)")

            let features = try await post(port, "/invokeFeatureStore", #"{"user_id": 7}"#, key: key)
            #expect(features.status == 200, "\(features.body)")
            let map = try JSONDecoder().decode(JSONValue.self, from: Data(features.body.utf8))
            #expect(map == ["id": "7", "x": 3.5, "status": 1], "the latest record: \(features.body)")

            let unknownUser = try await post(port, path, #"{"user_id": 8}"#, key: key)
            #expect(unknownUser.status == 404 && unknownUser.body.contains("no feature record for user_id '8'"))
            let unknownEndpoint = try await post(
                port, path, #"{"user_id": 7, "sagemaker_endpoint": "nope"}"#, key: key)
            #expect(
                unknownEndpoint.status == 404
                    && unknownEndpoint.body.contains("no model is deployed on endpoint 'nope'"),
                "\(unknownEndpoint.body)")
            let malformed = try await post(port, path, "{user_id", key: key)
            #expect(malformed.status == 400 && malformed.body.contains("must be a JSON object"))
            let missing = try await post(port, path, #"{"id": 7}"#, key: key)
            #expect(missing.status == 400 && missing.body.contains("field 'user_id' is required"))

            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/metrics")!)
            request.httpMethod = "GET"
            let (data, _) = try await httpSession.data(for: request)
            let metrics = String(decoding: data, as: UTF8.self)
            let counted = metrics.split(separator: "\n").first {
                $0.hasPrefix("sluice_requests_total{")
                    && $0.contains(#"endpoint="credit-risk",variant="AllTraffic",status="200""#)
            }
            #expect(counted?.hasSuffix(" 2") == true, "two predictions counted: \(counted ?? "none")\n\(metrics)")
            let refused = metrics.split(separator: "\n").first {
                $0.hasPrefix("sluice_requests_total{") && $0.contains(#"status="401""#)
            }
            #expect(refused != nil, "the refused request is counted too")
        }
        // The server drained its capture buffer on shutdown: both predictions are captured with their answers.
        let captured = try FileManager.default.subpathsOfDirectory(atPath: sandbox.homePath + "/capture/credit-risk")
            .filter { $0.hasSuffix(".jsonl") }
            .map { try String(contentsOfFile: sandbox.homePath + "/capture/credit-risk/" + $0, encoding: .utf8) }
            .joined()
        let lines = captured.split(separator: "\n")
        #expect(lines.count == 2, "\(captured)")
        #expect(lines.allSatisfy { $0.contains(String(direct)) }, "each with its prediction: \(captured)")
    }
}
