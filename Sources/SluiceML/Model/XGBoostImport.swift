import Foundation

/// Reads XGBoost's JSON model format (`Booster.save_model("model.json")`, XGBoost ≥ 1.0) into a GBDT model.
///
/// Supported: `gbtree` boosters with numeric splits and objectives `reg:squarederror`, `reg:logistic`,
/// `binary:logistic`. XGBoost splits go left when `x < split_condition` (compared in float32); Sluice keeps
/// `x ≤ nextDown(split_condition)` in float64, so a value within a float32 rounding of a split may differ.
/// Missing values follow each node's `default_left`.
public enum XGBoostImport {
    public static func load(path: String) throws(MLError) -> GBDTModel {
        try decode(CSVReader.readFile(path), source: path)
    }

    public static func decode(_ bytes: [UInt8], source: String = "<xgboost model>") throws(MLError) -> GBDTModel {
        func fail(_ message: String) -> MLError { MLError(.invalidModel, message, file: source) }
        guard let root = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
            let learner = root["learner"] as? [String: Any]
        else { throw fail("not an XGBoost JSON model (no 'learner'); save it with booster.save_model('m.json')") }
        let objective = (learner["objective"] as? [String: Any])?["name"] as? String ?? "reg:squarederror"
        guard ["reg:squarederror", "reg:logistic", "binary:logistic"].contains(objective) else {
            throw fail(
                "objective '\(objective)' is not supported; use reg:squarederror, reg:logistic or binary:logistic")
        }
        let parameters = learner["learner_model_param"] as? [String: Any] ?? [:]
        let baseText = (parameters["base_score"] as? String ?? "0.5").trimmingCharacters(
            in: CharacterSet(charactersIn: "[] "))
        guard let baseScore = parseNumber(baseText.split(separator: ",").first.map(String.init) ?? baseText) else {
            throw fail("base_score '\(baseText)' is not a number")
        }
        let logistic = objective != "reg:squarederror"
        let baseMargin = logistic ? log(baseScore / (1 - baseScore)) : baseScore
        guard let booster = learner["gradient_booster"] as? [String: Any],
            let model = booster["model"] as? [String: Any], let trees = model["trees"] as? [[String: Any]]
        else { throw fail("only gbtree boosters are supported (no gradient_booster.model.trees)") }
        var out: [Tree] = []
        for (t, json) in trees.enumerated() {
            func ints(_ key: String) throws(MLError) -> [Int] {
                guard let values = json[key] as? [NSNumber] else { throw fail("tree \(t) has no '\(key)'") }
                return values.map(\.intValue)
            }
            func doubles(_ key: String) throws(MLError) -> [Double] {
                guard let values = json[key] as? [NSNumber] else { throw fail("tree \(t) has no '\(key)'") }
                return values.map(\.doubleValue)
            }
            let left = try ints("left_children")
            let right = try ints("right_children")
            let feature = try ints("split_indices")
            let condition = try doubles("split_conditions")
            let defaultLeft = (json["default_left"] as? [NSNumber])?.map(\.intValue) ?? []
            var tree = Tree()
            for k in left.indices {
                let leaf = left[k] < 0
                tree.feature.append(Int32(leaf ? -1 : feature[k]))
                tree.threshold.append(leaf ? 0 : Double(Float(condition[k])).nextDown)
                tree.left.append(Int32(left[k]))
                tree.right.append(Int32(right[k]))
                tree.value.append(leaf ? condition[k] : 0)
            }
            tree.missingRight = left.indices.map { k in left[k] >= 0 && k < defaultLeft.count && defaultLeft[k] == 0 }
            out.append(tree)
        }
        return GBDTModel(objective: objective, baseMargin: baseMargin, trees: out)
    }
}
