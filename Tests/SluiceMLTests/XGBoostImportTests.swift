import SluiceML
import Testing

/// Fixtures/xgb_breast_cancer.json: `XGBClassifier(tree_method='hist', n_estimators=5, max_depth=3, n_jobs=2)`
/// fitted with XGBoost 3.2.0 on the first 455 rows of breast_cancer.csv and saved with `save_model`; the expected
/// probabilities are `predict_proba(X[:40])[:, 1]` from the same XGBoost (computed in float32, hence 1e-6).
@Suite struct XGBoostImportTests {
    let expected: [Double] = [
        0.262063592672348, 0.11999408900737762, 0.11999408900737762, 0.20167307555675507, 0.262063592672348,
        0.29094943404197693, 0.11999408900737762, 0.21048912405967712, 0.14114415645599365, 0.20167307555675507,
        0.2869487404823303, 0.11999408900737762, 0.11999408900737762, 0.15619270503520966, 0.14114415645599365,
        0.11999408900737762, 0.11999408900737762, 0.11999408900737762, 0.11999408900737762, 0.9053823947906494,
        0.9053823947906494, 0.9053823947906494, 0.262063592672348, 0.11999408900737762, 0.11999408900737762,
        0.11999408900737762, 0.11999408900737762, 0.11999408900737762, 0.11999408900737762, 0.262063592672348,
        0.11999408900737762, 0.11999408900737762, 0.11999408900737762, 0.11999408900737762, 0.11999408900737762,
        0.11999408900737762, 0.20015142858028412, 0.9053823947906494, 0.6399191617965698, 0.1903195083141327,
    ]

    @Test func importedModelPredictsLikeXGBoost() throws {
        let model = try XGBoostImport.load(path: fixture("xgb_breast_cancer.json"))
        #expect(model.trees.count == 5 && model.objective == "binary:logistic")
        let frame = try CSVReader.read(path: fixture("breast_cancer.csv"))
        let x = try frame.matrix(Array(frame.names.dropLast())).rows(0..<40)
        for (got, want) in zip(model.predict(x), expected) { #expect(abs(got - want) < 1e-6) }
    }

    /// Fixtures/xgb_wine.json: written by Fixtures/gen_xgb_wine.py with XGBoost 3.2.0 (multi:softprob, 5 rounds ×
    /// 3 classes, depth 3, on the first 124 rows of wine.csv); expected: its `predict_proba` of rows 124…133.
    @Test func importedMulticlassModelPredictsLikeXGBoost() throws {
        let expected: [[Double]] = [
            [0.8274295926094055, 0.10101160407066345, 0.07155880331993103],
            [0.0823654979467392, 0.8489999175071716, 0.06863461434841156],
            [0.8274295926094055, 0.10101160407066345, 0.07155880331993103],
            [0.8150674104690552, 0.10824763029813766, 0.07668494433164597],
            [0.22325700521469116, 0.6155166625976562, 0.1612263172864914],
            [0.12549611926078796, 0.1596042960882187, 0.7148995995521545],
            [0.08019721508026123, 0.8266498446464539, 0.09315291047096252],
            [0.08861849457025528, 0.10423905402421951, 0.807142436504364],
            [0.8274295926094055, 0.10101160407066345, 0.07155880331993103],
            [0.08861849457025528, 0.10423905402421951, 0.807142436504364],
        ]
        let model = try XGBoostImport.loadMulticlass(path: fixture("xgb_wine.json"))
        #expect(model.classes == [0, 1, 2] && model.perClass?.map(\.trees.count) == [5, 5, 5])
        let frame = try CSVReader.read(path: fixture("wine.csv"))
        let x = try frame.matrix(Array(frame.names.dropLast())).rows(124..<134)
        let p = model.probabilities(x)
        for i in 0..<10 { for k in 0..<3 { #expect(abs(p[i, k] - expected[i][k]) < 1e-6, "row \(i) class \(k)") } }
        #expect(throws: MLError.self) { try XGBoostImport.load(path: fixture("xgb_wine.json")) }
        #expect(throws: MLError.self) { try XGBoostImport.loadMulticlass(path: fixture("xgb_breast_cancer.json")) }
    }

    @Test func notAnXGBoostModelIsRefused() {
        #expect {
            try XGBoostImport.decode(Array("{\"trees\": []}".utf8), source: "m.json")
        } throws: { error in
            (error as? MLError)?.kind == .invalidModel && "\(error)".contains("m.json")
        }
    }
}
