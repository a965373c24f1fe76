import SluiceCore
import Testing

@testable import SluiceML

/// The fast paths of GBDT training against their plain definitions: the branch-free bin search against a linear
/// scan, and the leaf the builder's passes route each training row to against the leaf its raw values walk to.
@Suite struct TreeBuilderTests {
    /// Rows of `d` columns: a continuous column (many distinct values, quantile edges), a column of 40 distinct
    /// values (edges halfway between them), a column with ties at the values themselves, with missing values,
    /// infinities and exact edge values mixed in.
    func rows(_ n: Int, seed: UInt64) -> Matrix {
        var rng = SplitMix64(seed: seed)
        var values: [Double] = []
        for i in 0..<n {
            let u = rng.nextUnit()
            values.append(i % 97 == 0 ? .nan : i % 211 == 0 ? -.infinity : i % 307 == 0 ? .infinity : u * 10 - 5)
            values.append(Double(Int(rng.nextUnit() * 40)) / 4)
            values.append(rng.nextUnit() < 0.1 ? .nan : (rng.nextUnit() * 3).rounded())
        }
        return Matrix(rows: n, cols: 3, values: values)
    }

    @Test func branchFreeBinsAreTheFirstEdgeNotBelowTheValue() {
        let x = rows(30_000, seed: 11)
        var (cuts, bins) = GBDT.binned(x, maxBin: 256)
        // Values exactly on an edge belong to that edge's bin.
        var onEdges = x
        for i in stride(from: 0, to: x.rows, by: 5) { onEdges.values[i * 3] = cuts[0][(i / 5) % cuts[0].count] }
        bins = GBDT.binMatrix(onEdges, cuts: cuts)
        #expect(cuts[0].count == 255 && cuts[1].count == 40)
        for i in 0..<x.rows {
            for j in 0..<3 {
                let v = onEdges.values[i * 3 + j]
                let expected = v.isNaN ? 0 : 1 + cuts[j].firstIndex(where: { v <= $0 })!
                #expect(Int(bins[i * 3 + j]) == expected, "row \(i), column \(j), value \(v)")
            }
        }
    }

    @Test func everyTrainingRowEndsInTheLeafItsValuesWalkTo() throws {
        // No −∞ here: a split that sends only missing values left has threshold −∞, and −∞ ≤ −∞ walks left.
        var x = rows(25_000, seed: 5)
        for k in x.values.indices where x.values[k] == -.infinity { x.values[k] = -5 }
        let y = (0..<x.rows).map { i -> Double in
            let a = x.values[i * 3].isNaN ? 0 : max(-5, min(5, x.values[i * 3]))
            return a + x.values[i * 3 + 1] > 4 ? 1 : 0
        }
        var parameters = GBDTParameters()
        parameters.objective = "binary:logistic"
        parameters.maxDepth = 5
        parameters.threads = 2
        let (cuts, bins) = GBDT.binned(x, maxBin: 256)
        var gradHess = [Float](repeating: 0, count: 2 * x.rows)
        for i in 0..<x.rows {
            gradHess[2 * i] = Float(0.5 - y[i])
            gradHess[2 * i + 1] = i % 10 == 0 ? 0 : 0.25  // some rows not sampled
        }
        let builder = TreeBuilder(bins: bins, d: 3, cuts: cuts, parameters: parameters, features: [0, 1, 2])
        var leaves = [Int32](repeating: 0, count: x.rows)
        let tree = builder.build(gradHess: gradHess, positions: &leaves)
        var lastLevel = [Int32](repeating: 0, count: x.rows)
        let grown = builder.grow(gradHess: gradHess, positions: &lastLevel, routingLastLevel: false)
        #expect(grown.tree == tree && tree.depth == 5)
        try x.values.withUnsafeBufferPointer { values in
            for i in 0..<x.rows {
                let walked = tree.leafValue(values.baseAddress! + i * 3)
                try #require(tree.left[Int(leaves[i])] < 0, "row \(i) is not in a leaf")
                #expect(tree.value[Int(leaves[i])] == walked, "row \(i)")
                #expect(tree.value[grown.leaf(Int(lastLevel[i]), bins: bins, row: i * 3)] == walked, "row \(i)")
            }
        }
    }
}
