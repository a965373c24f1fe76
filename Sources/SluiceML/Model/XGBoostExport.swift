/// Writes GBDT models in XGBoost's JSON model format (the file `Booster.save_model("model.json")` writes, version
/// 3.2), so XGBoost's `Booster(model_file=…)` loads them and predicts what Sluice predicts.
///
/// XGBoost keeps numbers in float32 and sends a row left when `float(x) < split_condition`; Sluice sends it left
/// when `x ≤ threshold`. Each split is written as the smallest float32 above its threshold, which routes every value
/// the same way unless a value lies within a float32 rounding of the threshold. Read the file back with
/// `XGBoostImport` to get the model exactly as XGBoost holds it.
public enum XGBoostExport {
    /// A `reg:squarederror`, `reg:logistic` or `binary:logistic` model over `features` columns.
    public static func encode(_ model: GBDTModel, features: Int, scalePosWeight: Double = 1) -> [UInt8] {
        let logistic = model.objective != "reg:squarederror"
        let baseScore = logistic ? sigmoid(model.baseMargin) : model.baseMargin
        let objective =
            "{\"name\":\"\(model.objective)\",\"reg_loss_param\":{\"scale_pos_weight\":\"\(number(scalePosWeight))\"}}"
        return document(
            trees: model.trees.map { ($0, 0) }, rounds: model.trees.count, baseScores: [baseScore], numClass: 0,
            features: features, objective: objective)
    }

    /// A `multi:softprob` or `multi:softmax` model: `perClass[k]` holds class k's trees, one per round, and its
    /// starting margin.
    public static func encodeMulticlass(_ perClass: [GBDTModel], objective: String, features: Int) -> [UInt8] {
        let rounds = perClass.map(\.trees.count).min() ?? 0
        var trees: [(Tree, Int)] = []
        for round in 0..<rounds { for (k, model) in perClass.enumerated() { trees.append((model.trees[round], k)) } }
        let parameters =
            "{\"name\":\"\(objective)\",\"softmax_multiclass_param\":{\"num_class\":\"\(perClass.count)\"}}"
        return document(
            trees: trees, rounds: rounds, baseScores: perClass.map(\.baseMargin), numClass: perClass.count,
            features: features, objective: parameters)
    }

    private static func document(
        trees: [(tree: Tree, group: Int)], rounds: Int, baseScores: [Double], numClass: Int, features: Int,
        objective: String
    ) -> [UInt8] {
        let perRound = rounds == 0 ? 1 : trees.count / rounds
        let indptr = (0...rounds).map { String($0 * perRound) }.joined(separator: ",")
        let treeInfo = trees.map { String($0.group) }.joined(separator: ",")
        let treeJSON = trees.enumerated().map { treeDocument($1.tree, id: $0, features: features) }
        let base = baseScores.map { number(Double(Float($0))) }.joined(separator: ",")
        var out = "{\"learner\":{\"attributes\":{},\"feature_names\":[],\"feature_types\":[],"
        out += "\"gradient_booster\":{\"model\":{\"cats\":{\"enc\":[],\"feature_segments\":[],\"sorted_idx\":[]},"
        out += "\"gbtree_model_param\":{\"num_parallel_tree\":\"1\",\"num_trees\":\"\(trees.count)\"},"
        out += "\"iteration_indptr\":[\(indptr)],\"tree_info\":[\(treeInfo)],"
        out += "\"trees\":[\(treeJSON.joined(separator: ","))]},\"name\":\"gbtree\"},"
        out += "\"learner_model_param\":{\"base_score\":\"[\(base)]\",\"boost_from_average\":\"1\","
        out += "\"num_class\":\"\(numClass)\",\"num_feature\":\"\(features)\",\"num_target\":\"1\"},"
        out += "\"objective\":\(objective)},\"version\":[3,2,0]}"
        return Array(out.utf8)
    }

    private static func treeDocument(_ tree: Tree, id: Int, features: Int) -> String {
        let count = tree.value.count
        var parents = [Int](repeating: 2_147_483_647, count: count)
        for k in 0..<count where tree.left[k] >= 0 {
            parents[Int(tree.left[k])] = k
            parents[Int(tree.right[k])] = k
        }
        var conditions: [String] = []
        var indices: [String] = []
        var defaultLeft: [String] = []
        for k in 0..<count {
            let leaf = tree.left[k] < 0
            conditions.append(number(leaf ? Double(Float(tree.value[k])) : Double(splitCondition(tree.threshold[k]))))
            indices.append(leaf ? "0" : String(tree.feature[k]))
            defaultLeft.append(!leaf && tree.missingRight?[k] == true ? "0" : "1")
        }
        func list(_ items: [String]) -> String { "[" + items.joined(separator: ",") + "]" }
        let zeros = list([String](repeating: "0", count: count))
        let floatZeros = list([String](repeating: "0.0", count: count))
        var out = "{\"base_weights\":\(list(tree.value.map { number(Double(Float($0))) })),"
        out += "\"categories\":[],\"categories_nodes\":[],\"categories_segments\":[],\"categories_sizes\":[],"
        out += "\"default_left\":\(list(defaultLeft)),\"id\":\(id),"
        out += "\"left_children\":\(list(tree.left.map(String.init))),\"loss_changes\":\(floatZeros),"
        out += "\"parents\":\(list(parents.map(String.init))),"
        out += "\"right_children\":\(list(tree.right.map(String.init))),"
        out += "\"split_conditions\":\(list(conditions)),\"split_indices\":\(list(indices)),"
        out += "\"split_type\":\(zeros),\"sum_hessian\":\(floatZeros),"
        out += "\"tree_param\":{\"num_deleted\":\"0\",\"num_feature\":\"\(features)\",\"num_nodes\":\"\(count)\","
        out += "\"size_leaf_vector\":\"1\"}}"
        return out
    }

    /// The smallest finite float32 above `threshold`: `float(x) < it` exactly when `x ≤ threshold`, for every x not
    /// within a float32 rounding of the threshold.
    static func splitCondition(_ threshold: Double) -> Float {
        guard threshold.isFinite else {
            return threshold > 0 ? .greatestFiniteMagnitude : -.greatestFiniteMagnitude
        }
        var f = Float(threshold)
        if Double(f) <= threshold { f = f.nextUp }
        return f.isFinite ? f : .greatestFiniteMagnitude
    }

    /// A JSON number with the shortest text that reads back as the same value, always written as a real number
    /// (`1.0`, not `1`): XGBoost refuses an integer where its schema has a float.
    private static func number(_ value: Double) -> String { "\(value)" }
}
