import Foundation
import Hummingbird
import Logging
import SluiceCore
import SluiceServer
import SluiceStore
import Testing

@testable import SluiceCLI

/// W3's API over a real store and a real HTTP server: features from the online read, a deployed model's answer.
@Suite struct CreditRiskAPITests {
    static let quiet: Logger = {
        var logger = Logger(label: "credit-risk-test")
        logger.logLevel = .critical  // cancelling the server at the end logs errors that say nothing
        return logger
    }()

    @Test func featureLookupAndPredictionAnswerOrSayWhatIsUnknown() async throws {
        let sandbox = try ServingSandbox()
        let store = sandbox.store
        _ = try store.createFeatureGroup(
            FeatureGroup(
                name: "mlops_credit_cards_risk", recordIdentifier: "id", eventTime: "loan_date",
                features: [
                    .init(name: "id", type: .string), .init(name: "loan_date", type: .string),
                    .init(name: "x", type: .fractional),
                ],
                onlineStore: true, createdAt: 0))
        _ = try store.putFeatureRecords(
            group: "mlops_credit_cards_risk",
            records: [
                FeatureRecord(recordID: "7", eventTime: "2019-05-01", features: ["id": "7", "x": 3.5]),
                FeatureRecord(recordID: "7", eventTime: "2018-01-01", features: ["id": "7", "x": 1.0]),
            ], now: 0)
        let version = try sandbox.register("CreditRiskModelGroup", slope: 2, intercept: 0.5)
        _ = try store.deploy(
            endpoint: "credit-risk", stage: "prod",
            variant: DeployedVariant(name: "AllTraffic", group: "CreditRiskModelGroup", version: version),
            replacing: true, allowUnapproved: false, capturePercentage: nil, by: "test", reason: "", now: 1)

        let router = Router(context: BasicRequestContext.self)
        CreditRiskRoutes(backend: StoreCreditRisk(store: store)).addRoutes(to: router)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) }, logger: Self.quiet)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await app.runService() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            defer { tasks.cancelAll() }

            let features = try await post(port, "/invokeFeatureStore", #"{"user_id": 7}"#, key: nil)
            #expect(features.status == 200, "\(features.body)")
            let map = try JSONDecoder().decode(JSONValue.self, from: Data(features.body.utf8))
            #expect(map == ["id": "7", "x": 3.5], "the latest record: \(features.body)")

            // 2 · 3.5 + 0.5 from the latest features, through the deployed model.
            let scored = try await post(
                port, "/invokeSagemakerAPI", #"{"user_id": "7", "sagemaker_endpoint": "credit-risk"}"#, key: nil)
            #expect(scored.status == 200 && scored.body == #"{"result":"7.5"}"#, "\(scored.body)")

            let unknownUser = try await post(port, "/invokeFeatureStore", #"{"user_id": 8}"#, key: nil)
            #expect(unknownUser.status == 404 && unknownUser.body.contains("no feature record for user_id '8'"))
            let unknownEndpoint = try await post(
                port, "/invokeSagemakerAPI", #"{"user_id": 7, "sagemaker_endpoint": "nope"}"#, key: nil)
            #expect(
                unknownEndpoint.status == 404
                    && unknownEndpoint.body.contains("no model is deployed on endpoint 'nope'"))
            let malformed = try await post(port, "/invokeFeatureStore", "{user_id", key: nil)
            #expect(malformed.status == 400 && malformed.body.contains("must be a JSON object"))
            let missing = try await post(port, "/invokeSagemakerAPI", #"{"user_id": 7}"#, key: nil)
            #expect(missing.status == 400 && missing.body.contains("'sagemaker_endpoint' is required"))
        }
    }
}
