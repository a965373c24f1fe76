import SluiceServing
import Testing

@Suite struct EndpointTableTests {
    private let model = LinearPredictor(coefficients: [1], intercept: 0)

    private func deployment() -> StageDeployment { StageDeployment(variants: [Variant(name: "A", predictor: model)]) }

    @Test func endpointNamesAreTheDistinctDeployedNamesAndDecideTheDefault() {
        let table = EndpointTable()
        #expect(table.endpointNames.isEmpty)
        #expect(table.ambiguity(path: "/stream", stage: .production).message.contains("No endpoint is deployed yet"))

        table.deploy(endpoint: "w1", stage: .production, deployment())
        table.deploy(endpoint: "w1", stage: .staging, deployment())
        #expect(table.endpointNames == ["w1"])
        #expect(table.defaultEndpoint == "w1")

        table.deploy(endpoint: "abalone", stage: .production, deployment())
        #expect(table.endpointNames == ["abalone", "w1"])
        #expect(table.defaultEndpoint == nil)
        let refusal = table.ambiguity(path: "/production/batch?x=1", stage: .production).message
        #expect(refusal.contains("/production/batch names no endpoint and 2 are deployed (abalone, w1)"), "\(refusal)")
        #expect(refusal.contains("/endpoints/abalone/production/batch"), "\(refusal)")

        table.remove(endpoint: "abalone", stage: .production)
        #expect(table.endpointNames == ["w1"])
        #expect(table.defaultEndpoint == "w1")
    }
}
