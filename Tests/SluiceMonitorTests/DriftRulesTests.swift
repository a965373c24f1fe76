import SluiceMonitor
import Testing

/// Evidently's default choice of test, at the 1,000-row boundary and by number of distinct values.
@Suite struct DriftRulesTests {
    static func spread(_ count: Int, distinct: Int) -> [Double] { (0..<count).map { Double($0 % distinct) } }

    @Test func numericColumnsSwitchFromKSToWassersteinAbove1000ReferenceRows() {
        let current = ColumnSample.numerical(Self.spread(50, distinct: 50))
        #expect(
            DriftDetector.defaultMethod(reference: .numerical(Self.spread(1000, distinct: 40)), current: current) == .ks
        )
        #expect(
            DriftDetector.defaultMethod(reference: .numerical(Self.spread(1001, distinct: 40)), current: current)
                == .wasserstein)
    }

    @Test func fewValuedNumericColumnsUseChiSquareOrZ() {
        let r = ColumnSample.numerical(Self.spread(1000, distinct: 4))
        #expect(DriftDetector.defaultMethod(reference: r, current: .numerical([0, 1, 2])) == .chisquare)
        // Distinct values are counted over both samples: 4 + a new one is 5, still χ²; a sixth value makes it K-S.
        #expect(DriftDetector.defaultMethod(reference: r, current: .numerical([4])) == .chisquare)
        #expect(DriftDetector.defaultMethod(reference: r, current: .numerical([4, 5])) == .ks)
        let binary = ColumnSample.numerical(Self.spread(1000, distinct: 2))
        #expect(DriftDetector.defaultMethod(reference: binary, current: .numerical([0, 1])) == .z)
        let bigBinary = ColumnSample.numerical(Self.spread(1001, distinct: 2))
        #expect(DriftDetector.defaultMethod(reference: bigBinary, current: .numerical([0, 1])) == .jensenshannon)
    }

    @Test func categoricalColumnsUseChiSquareZOrJensenShannon() {
        let labels = (0..<1000).map { ["a", "b", "c"][$0 % 3] }
        #expect(
            DriftDetector.defaultMethod(reference: .categorical(labels), current: .categorical(["a"])) == .chisquare)
        #expect(
            DriftDetector.defaultMethod(reference: .categorical(labels + ["a"]), current: .categorical(["a"]))
                == .jensenshannon)
        let two = (0..<1000).map { ["yes", "no"][$0 % 2] }
        #expect(DriftDetector.defaultMethod(reference: .categorical(two), current: .categorical(["no"])) == .z)
    }

    @Test func verdictsCompareWithEachMethodsThreshold() {
        let reference = ColumnSample.numerical(Self.spread(1000, distinct: 100))
        let same = DriftDetector.columnDrift(column: "x", reference: reference, current: reference)
        #expect(same.method == .ks && same.value == 1 && !same.drifted)
        let shifted = ColumnSample.numerical(Self.spread(1000, distinct: 100).map { $0 + 30 })
        let moved = DriftDetector.columnDrift(column: "x", reference: reference, current: shifted)
        #expect(moved.drifted && moved.value < 0.05)
        let dataset = DriftDetector.datasetDrift([same, moved])
        #expect(dataset.drifted && dataset.driftedCount == 1)
        #expect(!DriftDetector.datasetDrift([same, same, moved]).drifted)
    }
}
