import Foundation

/// Reads XGBoost's JSON model format (`Booster.save_model("model.json")`, XGBoost ≥ 1.0) into a GBDT model.
///
/// Supported: `gbtree` boosters with numeric splits and objectives `reg:squarederror`, `reg:logistic`,
/// `binary:logistic` (`load`), and `multi:softprob` / `multi:softmax` (`loadMulticlass`). XGBoost splits go left when `x < split_condition` (compared in float32); Sluice keeps
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
        let (trees, _) = try trees(learner, fail)
        return GBDTModel(objective: objective, baseMargin: baseMargin, trees: trees)
    }

    /// Reads an XGBoost `multi:softprob` / `multi:softmax` JSON model: per class, its base margin (XGBoost 3 writes
    /// one per class in `base_score`) plus the trees whose `tree_info` names that class.
    public static func loadMulticlass(path: String) throws(MLError) -> MulticlassModel {
        try decodeMulticlass(CSVReader.readFile(path), source: path)
    }

    public static func decodeMulticlass(_ bytes: [UInt8], source: String = "<xgboost model>") throws(MLError)
        -> MulticlassModel
    {
        func fail(_ message: String) -> MLError { MLError(.invalidModel, message, file: source) }
        guard let root = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
            let learner = root["learner"] as? [String: Any]
        else { throw fail("not an XGBoost JSON model (no 'learner'); save it with booster.save_model('m.json')") }
        let objective = (learner["objective"] as? [String: Any])?["name"] as? String ?? "none"
        guard ["multi:softprob", "multi:softmax"].contains(objective) else {
            throw fail(
                "objective '\(objective)' is not multi:softprob or multi:softmax; load it with XGBoostImport.load")
        }
        let parameters = learner["learner_model_param"] as? [String: Any] ?? [:]
        guard let numClass = (parameters["num_class"] as? String).flatMap(Int.init), numClass >= 2 else {
            throw fail("learner_model_param.num_class is missing or below 2")
        }
        let baseText = (parameters["base_score"] as? String ?? "0").trimmingCharacters(
            in: CharacterSet(charactersIn: "[] "))
        let bases = baseText.split(separator: ",").map { parseNumber(String($0).trimmingCharacters(in: .whitespaces)) }
        guard bases.allSatisfy({ $0 != nil }), bases.count == 1 || bases.count == numClass else {
            throw fail("base_score '\(baseText)' is not one number or \(numClass) numbers")
        }
        let (trees, classOf) = try trees(learner, fail)
        var perClass = (0..<numClass).map { k in
            GBDTModel(objective: "reg:squarederror", baseMargin: bases.count == 1 ? bases[0]! : bases[k]!, trees: [])
        }
        for (t, tree) in trees.enumerated() {
            guard t < classOf.count, (0..<numClass).contains(classOf[t]) else {
                throw fail("tree \(t) has no class in gradient_booster.model.tree_info")
            }
            perClass[classOf[t]].trees.append(tree)
        }
        return MulticlassModel(classes: (0..<numClass).map(Double.init), method: "gbdt", perClass: perClass)
    }

    /// The booster's trees and, per tree, its `tree_info` (the class a multiclass tree scores).
    private static func trees(_ learner: [String: Any], _ fail: (String) -> MLError) throws(MLError)
        -> ([Tree], [Int])
    {
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
        return (out, (model["tree_info"] as? [NSNumber])?.map(\.intValue) ?? [])
    }
}
