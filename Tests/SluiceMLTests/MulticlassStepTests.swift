import Foundation
import SluiceCore
import SluiceExecutors
import SluiceML
import Testing

extension BuiltinStepTests {
    /// wine.csv (see MulticlassTests): split by position, a derived feature and standardisation fitted on train,
    /// then each multiclass trainer through its step and `evaluate`'s `multiclass_classification_metrics`.
    @Test func multiclassTrainersThroughTheSteps() async throws {
        let split = try await run(
            "data.split", inputs: ["data": .string(fixture("wine.csv"))], options: ["first": .int(124)])
        let features: [JSONValue] = [
            "alcohol", "malic_acid", "flavanoids", "color_intensity", "proline", "log_proline", "phenol_ratio",
        ]
        let transformed = try await run(
            "data.transform", inputs: ["train": try #require(split["train"])],
            options: [
                "transforms": [
                    ["kind": "derive", "name": "log_proline", "expression": "log(proline)"],
                    ["kind": "derive", "name": "phenol_ratio", "expression": "flavanoids / total_phenols"],
                    ["kind": "select", "columns": .array(features + ["target"])],
                    ["kind": "standardize", "columns": .array(features)],
                ]
            ])
        let trainers: [(String, [String: JSONValue])] = [
            ("train.logistic", [:]),
            ("train.gbdt", ["objective": "multi:softprob", "num_class": "3", "num_round": 30]),
            ("train.random_forest", ["n_estimators": 20, "seed": 7, "task": "classification"]),
        ]
        for (name, options) in trainers {
            let trained = try await run(
                name,
                inputs: [
                    "train": try #require(transformed["train"]), "transforms": try #require(transformed["transforms"]),
                ], options: options.merging(["label": "target"]) { a, _ in a })
            #expect(trained["classes"] == .int(3), "\(name)")
            // The test split is raw: the model applies its saved transforms (derive, select, standardize).
            let evaluation = try await run(
                "evaluate", inputs: ["model": try #require(trained["model"]), "test": try #require(split["test"])])
            let metrics = try #require(evaluation["metrics"]?["multiclass_classification_metrics"], "\(name)")
            let accuracy = try #require(metrics[path: [.key("accuracy"), .key("value")]]?.number)
            #expect(accuracy >= 0.9, "\(name): accuracy \(accuracy)")
            #expect(metrics["weighted_f1"]?["value"]?.number != nil && metrics["macro_f1"]?["value"]?.number != nil)
        }
    }

    @Test func gbdtMulticlassNeedsNumClassAndDeriveNamesTheUnknownColumn() async throws {
        let data = fixture("wine.csv")
        do {
            _ = try await run(
                "train.gbdt", inputs: ["train": .string(data)],
                options: ["objective": "multi:softprob", "label": "target"])
            Issue.record("multi:softprob without num_class was accepted")
        } catch let failure as StepFailure {
            #expect(failure.cause.contains("num_class"))
        }
        do {
            _ = try await run(
                "data.transform", inputs: ["train": .string(data)],
                options: ["transforms": [["kind": "derive", "name": "r", "expression": "alcohl / ash"]]])
            Issue.record("an unknown column was accepted")
        } catch let failure as StepFailure {
            #expect(failure.cause.contains("wine.csv") && failure.cause.contains("character 1"))
            #expect(failure.cause.contains("did you mean 'alcohol'"))
        }
    }
}

extension BuiltinStepTests {
    /// W3's features by hand on four loans, and the same whole years from a `derive` expression.
    @Test func creditFeaturesAndTheEquivalentDerivedYears() async throws {
        let folder = try workDirectory()
        try """
        id,loan_date,loan_amount,birthday,job_start_date,flag_own_car,status
        10,2020-03-01,300,1980-03-02,2010-01-01,N,1
        2,2019-05-05,100,1990-12-31,2015-06-30,Y,0
        10,2019-01-01,500,1980-03-02,2010-01-01,N,0
        2,2020-05-05,200,1990-12-31,2015-06-30,Y,1

        """.write(toFile: folder + "/loans.csv", atomically: true, encoding: .utf8)
        let features = try await run(
            "data.features", inputs: ["data": .string(folder + "/loans.csv")], options: ["today": "2021-01-01"])
        let text = try String(contentsOfFile: try #require(features["features"]?.string), encoding: .utf8)
        #expect(
            text.split(separator: "\n").dropFirst() == [
                "2,2019-05-05,0,,30,5,1,0", "2,2020-05-05,1,100,30,5,1,1", "10,2019-01-01,0,,40,11,0,0",
                "10,2020-03-01,1,500,40,11,0,1",
            ])
        let derived = try await run(
            "data.transform", inputs: ["train": .string(folder + "/loans.csv")],
            options: [
                "transforms": [
                    ["kind": "derive", "name": "age", "expression": "years_between(birthday, '2021-01-01')"],
                    ["kind": "derive", "name": "car", "expression": "flag_own_car != 'N'"],
                    ["kind": "select", "columns": ["id", "age", "car"]],
                ]
            ])
        let rows = try String(contentsOfFile: try #require(derived["train"]?.string), encoding: .utf8)
        #expect(rows == "id,age,car\n10,40,0\n2,30,1\n10,40,0\n2,30,1\n")
        do {
            _ = try await run(
                "data.features", inputs: ["data": .string(folder + "/loans.csv")], options: ["today": "2021-13-01"])
            Issue.record("an invalid 'today' was accepted")
        } catch let failure as StepFailure {
            #expect(failure.cause.contains("'today' must be a date YYYY-MM-DD, got '2021-13-01'"))
        }
    }
}
