import Foundation
import SluiceML
import SluiceMonitor
import Testing

/// Baselines in Model Monitor's shapes, and each constraint check on current data.
@Suite struct ConstraintCheckerTests {
    static let reference = Frame(
        names: ["age", "bmi", "city"],
        columns: [
            .numeric((0..<300).map { Double(20 + $0 % 50) }),
            .numeric((0..<300).map { 0.01 * Double($0 % 97) - 0.4 }),
            .text((0..<300).map { ["Oslo", "Lima", "Pune"][$0 % 3] }),
        ])

    @Test func baselineDescribesEachFeatureInModelMonitorsShape() throws {
        let baseline = try Baseline(data: Self.reference)
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(baseline.statistics)) as! [String: Any]
        #expect((json["dataset"] as? [String: Any])?["item_count"] as? Int == 300)
        let features = json["features"] as! [[String: Any]]
        #expect(features.map { $0["inferred_type"] as! String } == ["Integral", "Fractional", "String"])
        let bmi = features[1]["numerical_statistics"] as! [String: Any]
        #expect(Set(bmi.keys) == ["common", "mean", "sum", "std_dev", "min", "max", "distribution"])
        let buckets = ((bmi["distribution"] as! [String: Any])["kll"] as! [String: Any])["buckets"] as! [[String: Any]]
        #expect(buckets.map { $0["count"] as! Int }.reduce(0, +) == 300)
        #expect(baseline.constraints.features[2].stringConstraints?.domains == ["Lima", "Oslo", "Pune"])
        #expect(baseline.constraints.features[1].numConstraints?.isNonNegative == false)
        #expect(baseline.constraints.features[0].numConstraints?.isNonNegative == true)
    }

    /// `monitor baseline --features city age`: only the chosen features, in the order given; a name the data lacks
    /// is an error naming it and the columns there are.
    @Test func chosenFeaturesAreDescribedInTheirOrder() throws {
        let baseline = try Baseline(data: Self.reference, features: ["city", "age"])
        #expect(baseline.statistics.features.map(\.name) == ["city", "age"])
        #expect(baseline.constraints.features.map(\.name) == ["city", "age"])
        let error = #expect(throws: MLError.self) { try Baseline(data: Self.reference, features: ["weight"]) }
        #expect(
            error?.message.contains("no column 'weight'; the columns are age, bmi, city") == true,
            "\(String(describing: error))")
    }

    @Test func everyCheckFiresOnTheDataThatBreaksIt() throws {
        let constraints = try Baseline(data: Self.reference).constraints
        let current = Frame(
            names: ["age", "city", "extra"],
            columns: [
                .text((0..<100).map { $0 % 10 == 0 ? nil : $0 % 4 == 0 ? "twenty" : String(20 + $0 % 50) }),
                .text((0..<100).map { ["Oslo", "Lima", "Kyiv"][$0 % 3] }),
                .numeric((0..<100).map(Double.init)),
            ])
        let report = ConstraintChecker.check(current: current, constraints: constraints, reference: Self.reference)
        let found = Set(report.violations.violations.map { "\($0.featureName) \($0.constraintCheckType.rawValue)" })
        #expect(
            found
                == [
                    "extra extra_column_check", "bmi missing_column_check", "age completeness_check",
                    "age data_type_check", "city categorical_values_check", "city baseline_drift_check",
                ])
        // The same data as the baseline breaks nothing.
        let clean = ConstraintChecker.check(
            current: Self.reference, constraints: constraints, reference: Self.reference)
        #expect(clean.violations.violations.isEmpty && !clean.drift.drifted)
        #expect(clean.drift.columns.map(\.method) == [.ks, .ks, .chisquare])
    }

    @Test func captureLinesBecomeRowsNamedAfterTheBaselineFeatures() throws {
        let lines = """
            {"captureData":{"endpointInput":{"observedContentType":"application/json","mode":"INPUT","data":"{\\"x\\": [[0.5],[0.25]]}","encoding":"JSON"},"endpointOutput":{"observedContentType":"application/json","mode":"OUTPUT","data":"[[1.0],[2.0]]","encoding":"JSON"}},"eventMetadata":{"eventId":"a","inferenceTime":"2026-12-04T18:00:00.250Z"},"eventVersion":"0"}
            {"captureData":{"endpointInput":{"observedContentType":"text/csv","mode":"INPUT","data":"0.75,9","encoding":"CSV"},"endpointOutput":{"observedContentType":"text/csv","mode":"OUTPUT","data":"3.0","encoding":"CSV"}},"eventMetadata":{"eventId":"b","inferenceTime":"2026-12-04T19:00:00.000Z"},"eventVersion":"0"}
            not json
            """
        var window = MonitoringWindow(start: 0, end: MonitoringWindow.seconds(iso8601: "2026-12-04T19:00:00Z")!)
        window.add(captureFile: Data(lines.utf8), name: "f.jsonl")
        #expect(window.inferences.map(\.inferenceId) == ["a"])
        #expect(window.inferences.first?.predictions == [1, 2])
        #expect(window.problems.count == 1 && window.problems[0].hasPrefix("f.jsonl:3:"))
        #expect(MonitoringWindow.seconds(iso8601: "2026-12-04T18:00:00.250Z") == 1_796_407_200.25)
        let all = CapturedTraffic.parse(Data(lines.utf8)).inferences
        let frame = CapturedTraffic.frame(all, featureNames: ["bmi"])
        #expect(frame.names == ["bmi", "column_2"])
        #expect(frame.columns[0] == .numeric([0.5, 0.25, 0.75]))
    }
}
