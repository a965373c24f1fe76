import Foundation
import Logging
import SluiceCore
import SluiceML
import SluiceServing
import SluiceStore
import Testing

@testable import SluiceCLI

@Suite struct AdapterTests {
    /// A model with transforms is served through them; a plain linear one gets the linear kernel; folders work.
    @Test func loaderAppliesTheModelsTransforms() throws {
        let folder = NSTemporaryDirectory() + "sluice-loader-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder + "/model", withIntermediateDirectories: true)
        let scaled = ModelArtifact(
            inputColumns: ["x"], features: ["x"], label: "y",
            transforms: [.standardize(columns: ["x"], mean: [1], scale: [2])], algorithm: "linear",
            linear: LinearModel(coefficients: [4], intercept: 1), training: .init(rows: 1, trainedAt: "t"))
        try scaled.save(to: folder + "/model/model.json")
        let predictor = try ModelArtifactLoader().loadPredictor(at: folder + "/model")
        #expect(predictor is ArtifactPredictor && predictor.inputWidth == 1)
        let rows = FeatureRows(values: [3, 5], rowCount: 2, columnCount: 1)
        let expected = try scaled.predict(Frame(names: ["x"], columns: [.numeric([3, 5])]))
        #expect(try predictor.predict(rows) == expected && expected == [5, 9])

        var plain = scaled
        plain.transforms = []
        try plain.save(to: folder + "/plain.json")
        let linear = try ModelArtifactLoader().loadPredictor(at: folder + "/plain.json")
        #expect(linear is LinearPredictor)
        #expect(try linear.predict(rows) == [13, 21])

        try Data("{\"format\": \"other\"}".utf8).write(to: URL(fileURLWithPath: folder + "/bad.json"))
        #expect(throws: MLError.self) { try ModelArtifactLoader().loadPredictor(at: folder + "/bad.json") }
    }

    @Test func keyHashesRoundTripThroughHex() {
        let hash = APIKey.hash("sk_example")
        #expect(Hex.decode(Hex.encode(hash)) == hash)
        #expect(Hex.encode(hash).count == 64)
    }

    /// The server keeps only the models its current deployments use.
    @Test func syncLoadsEachModelOnceAndForgetsReplacedOnes() throws {
        let sandbox = try ServingSandbox()
        try sandbox.register("G", slope: 1)
        try sandbox.register("G", slope: 2)
        let source = StoreServingSource(
            store: sandbox.store, artifacts: ArtifactStore(root: sandbox.homePath + "/artifacts"))
        let table = EndpointTable()
        let sync = ServingSync(source: source, table: table, keyring: APIKeyring(), logger: Logger(label: "test"))
        func deploy(_ version: Int, stage: String) throws {
            _ = try sandbox.store.deploy(
                endpoint: "e", stage: stage, variant: DeployedVariant(name: "A", group: "G", version: version),
                replacing: true, allowUnapproved: false, capturePercentage: nil, by: "t", reason: "", now: 1)
        }
        #expect(try sync.refresh() && table.all().isEmpty)
        #expect(try !sync.refresh(), "an unchanged store is not reloaded")
        try deploy(1, stage: "staging")
        try deploy(1, stage: "production")
        #expect(try sync.refresh())
        #expect(table.all().count == 2 && source.loadedModelCount == 1)
        try deploy(2, stage: "staging")
        try deploy(2, stage: "production")
        #expect(try sync.refresh())
        #expect(source.loadedModelCount == 1)
        let live = try table.stage(endpoint: "e", stage: .production)
        #expect(live.deployment.variants.first?.modelVersion == "G/2")

        // A shadow joins the live variant; both models are then loaded.
        _ = try sandbox.store.deploy(
            endpoint: "e", stage: "production",
            variant: DeployedVariant(name: "Shadow", group: "G", version: 1, isShadow: true), replacing: false,
            allowUnapproved: false, capturePercentage: 100, by: "t", reason: "", now: 2)
        #expect(try sync.refresh())
        let shadowed = try table.stage(endpoint: "e", stage: .production).deployment
        #expect(shadowed.variants.map(\.name) == ["A"] && shadowed.shadow?.modelVersion == "G/1")
        #expect(shadowed.capturePercentage == 100 && source.loadedModelCount == 2)
    }
}
