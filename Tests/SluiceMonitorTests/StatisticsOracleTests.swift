import Foundation
import SluiceCore
import SluiceML
import SluiceMonitor
import Testing

/// SluiceMonitor's drift statistics against SciPy's, on seeded data, to 1e-9.
@Suite struct StatisticsOracleTests {
    /// The venv `scripts/stats-venv` installs (scripts/test runs it first).
    static let python: String? = {
        let path =
            ProcessInfo.processInfo.environment["SLUICE_STATS_VENV"].map { $0 + "/bin/python" }
            ?? NSHomeDirectory() + "/.cache/sluice-test/stats-venv/bin/python"
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }()

    /// One comparison: a method on two samples.
    struct Case: Codable {
        var name: String
        var method: String
        var numerical: Bool
        var reference: [Double]
        var current: [Double]
    }

    /// Evidently's stattests, written with SciPy and NumPy: the oracle.
    static let oracle = #"""
        import json, sys
        import numpy as np
        from scipy import stats
        from scipy.spatial import distance

        def binned(ref, cur, numerical):
            if numerical and len(np.unique(ref)) > 20:
                bins = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
                return np.histogram(ref, bins)[0] / len(ref), np.histogram(cur, bins)[0] / len(cur)
            keys = sorted(set(ref) | set(cur))
            return (np.array([np.sum(ref == k) / len(ref) for k in keys]),
                    np.array([np.sum(cur == k) / len(cur) for k in keys]))

        def value(case):
            ref, cur = np.array(case["reference"]), np.array(case["current"])
            m = case["method"]
            if m == "ks":
                return stats.ks_2samp(ref, cur)[1]
            if m == "ks_statistic":
                return stats.ks_2samp(ref, cur)[0]
            if m == "wasserstein":
                return stats.wasserstein_distance(ref, cur) / max(float(np.std(ref)), 0.001)
            if m == "jensenshannon":
                r, c = binned(ref, cur, case["numerical"])
                return distance.jensenshannon(r, c)
            keys = sorted(set(ref) | set(cur))
            if m == "chisquare":
                k = len(cur) / len(ref)
                return stats.chisquare([np.sum(cur == x) for x in keys], [np.sum(ref == x) * k for x in keys])[1]
            if m == "z":
                p1 = np.sum(ref != keys[0]) / len(ref)
                p2 = np.sum(cur != keys[0]) / len(cur)
                n1, n2 = len(ref), len(cur)
                P = (p1 * n1 + p2 * n2) / (n1 + n2)
                z = (p1 - p2) / np.sqrt(P * (1 - P) * (1.0 / n1 + 1.0 / n2))
                return 2 * (1 - stats.norm.cdf(np.abs(z)))
            raise ValueError(m)

        cases = json.load(open(sys.argv[1]))
        print(json.dumps([float(value(c)) for c in cases]))
        """#

    static func normal(_ rng: inout SplitMix64, count: Int, mean: Double = 0, sd: Double = 1) -> [Double] {
        (0..<count).map { _ in
            let u = max(rng.nextUnit(), 1e-300)
            let v = rng.nextUnit()
            return mean + sd * (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
        }
    }

    static func levels(_ rng: inout SplitMix64, count: Int, weights: [Double]) -> [Double] {
        let total = weights.reduce(0, +)
        return (0..<count).map { _ in
            var draw = rng.nextUnit() * total
            for (index, weight) in weights.enumerated() {
                draw -= weight
                if draw < 0 { return Double(index) }
            }
            return Double(weights.count - 1)
        }
    }

    static func cases() -> [Case] {
        var rng = SplitMix64(seed: 20_261_204)
        var cases: [Case] = []
        func add(_ name: String, _ method: String, _ r: [Double], _ c: [Double], numerical: Bool = true) {
            cases.append(Case(name: name, method: method, numerical: numerical, reference: r, current: c))
        }
        // K-S, exact: equal sizes (the square formula) and unequal sizes (the inside method), with and without
        // drift; rounded values, so ties, too.
        for (n1, n2, shift) in [(200, 200, 0.0), (200, 200, 0.3), (300, 450, 0.0), (300, 450, 0.25), (1000, 7, 1.0)] {
            let r = normal(&rng, count: n1)
            let c = normal(&rng, count: n2, mean: shift)
            add("ks exact \(n1)×\(n2)+\(shift)", "ks", r, c)
            add("ks statistic \(n1)×\(n2)+\(shift)", "ks_statistic", r, c)
        }
        let tied = normal(&rng, count: 500).map { ($0 * 4).rounded() / 4 }
        add("ks ties", "ks", tied, normal(&rng, count: 640, mean: 0.1).map { ($0 * 4).rounded() / 4 })
        // K-S, asymptotic (a sample above 10,000): Durbin's matrix, Pelz–Good and Smirnov's sum, small and large n.
        for (n1, shift) in [(800, 0.0), (800, 0.02), (800, 0.08), (800, 0.3), (100, 0.0), (100, 0.15), (100, 0.6)] {
            add("ks asymptotic \(n1)+\(shift)", "ks", normal(&rng, count: n1), normal(&rng, count: 12_000, mean: shift))
        }
        for shift in [0.0, 0.05, 0.5] {
            add(
                "wasserstein +\(shift)", "wasserstein", normal(&rng, count: 3000),
                normal(&rng, count: 5000, mean: shift))
        }
        add("wasserstein constant", "wasserstein", Array(repeating: 2, count: 1500), normal(&rng, count: 100))
        for shift in [0.0, 0.4] {
            add(
                "js binned +\(shift)", "jensenshannon", normal(&rng, count: 2000),
                normal(&rng, count: 3000, mean: shift))
        }
        let few = levels(&rng, count: 2000, weights: [5, 3, 2, 1])
        add("js categories", "jensenshannon", few, levels(&rng, count: 900, weights: [4, 4, 2, 1]), numerical: false)
        add(
            "chisquare same", "chisquare", levels(&rng, count: 600, weights: [5, 3, 2]),
            levels(&rng, count: 400, weights: [5, 3, 2]), numerical: false)
        add(
            "chisquare drift", "chisquare", levels(&rng, count: 600, weights: [5, 3, 2, 1]),
            levels(&rng, count: 700, weights: [3, 3, 3, 1]), numerical: false)
        add("z same", "z", levels(&rng, count: 800, weights: [7, 3]), levels(&rng, count: 300, weights: [7, 3]))
        add("z drift", "z", levels(&rng, count: 800, weights: [7, 3]), levels(&rng, count: 300, weights: [5, 5]))
        return cases
    }

    static func swiftValue(_ test: Case) -> Double {
        let reference =
            test.numerical
            ? ColumnSample.numerical(test.reference)
            : .categorical(
                test.reference.map { String(Int($0)) })
        let current =
            test.numerical
            ? ColumnSample.numerical(test.current)
            : .categorical(
                test.current.map { String(Int($0)) })
        if test.method == "ks_statistic" { return KolmogorovSmirnov.twoSample(test.reference, test.current).statistic }
        return DriftDetector.evaluate(DriftMethod(rawValue: test.method)!, reference: reference, current: current)
    }

    @Test(.enabled(if: python != nil, "the SciPy oracle is missing: run scripts/stats-venv (scripts/test does)"))
    func statisticsEqualSciPy() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-stats-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let cases = Self.cases()
        let input = folder.appendingPathComponent("cases.json")
        try JSONEncoder().encode(cases).write(to: input)
        let script = folder.appendingPathComponent("oracle.py")
        try Self.oracle.write(to: script, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.python!)
        process.arguments = [script.path, input.path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let expected = try JSONDecoder().decode([Double].self, from: data)
        #expect(expected.count == cases.count)
        for (test, scipy) in zip(cases, expected) {
            let ours = Self.swiftValue(test)
            #expect(abs(ours - scipy) <= 1e-9, "\(test.name): Sluice \(ours), SciPy \(scipy)")
        }
        // The cases reach both verdicts: a p-value near 1 and one far below 0.05.
        #expect(expected.contains { $0 > 0.5 } && expected.contains { $0 < 1e-6 })
    }
}
