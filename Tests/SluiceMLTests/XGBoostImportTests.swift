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

    @Test func notAnXGBoostModelIsRefused() {
        #expect {
            try XGBoostImport.decode(Array("{\"trees\": []}".utf8), source: "m.json")
        } throws: { error in
            (error as? MLError)?.kind == .invalidModel && "\(error)".contains("m.json")
        }
    }
}
