import ArgumentParser
import SluiceML

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `sluice bench-train`: times Sluice's training phases on the peer benchmark's data files (one JSON line).
struct BenchTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-train",
        abstract: "Time CSV ingest, OLS, gradient descent, logistic regression and GBDT on the benchmark data.",
        discussion: """
            Prints one JSON line in train_peers.py's shape (see ../shared/bench/peers/compare.md). Split: first
            80 % of rows train, the rest holdout; best of --repeats runs under 1M rows, one run at 1M.
            With --oneshot-linreg FILE: read FILE, fit OLS on the first 80 % and print the holdout R² (for a
            whole-process comparison with hyperfine).
            """)

    @Option(help: "Folder with regression_*.csv, classification_*.csv, diabetes.csv, breast_cancer.csv.")
    var data: String?

    @Option(help: "Comma-separated data set names (file names without .csv).") var only: String = ""
    @Option(help: "Largest generated size to include: 10k, 100k or 1M.") var maxSize: String = "1M"
    @Option(help: "Runs per data set under 1M rows (the best is reported).") var repeats: Int = 3
    @Option(help: "Fit OLS on one file (last column = target) and print the holdout R².") var oneshotLinreg: String?

    func run() throws {
        if let file = oneshotLinreg {
            let (x, y) = try load(file)
            let k = x.rows * 8 / 10
            let model = try LinearRegression.fit(x.rows(0..<k), Array(y[0..<k])).model
            print(Metrics.r2(Array(y[k...]), model.predict(x.rows(k..<x.rows))))
            return
        }
        guard let data else { throw ValidationError("give --data DIR (or --oneshot-linreg FILE)") }
        let sizes = ["10k": 10_000, "100k": 100_000, "1M": 1_000_000]
        guard let limit = sizes[maxSize] else { throw ValidationError("--max-size must be 10k, 100k or 1M") }
        var sets: [(String, Bool, Int)] = []
        for kind in ["regression", "classification"] {
            for (name, n) in sizes.sorted(by: { $0.value < $1.value }) where n <= limit {
                sets.append(("\(kind)_\(name)", kind == "regression", n))
            }
        }
        sets += [("diabetes", true, 442), ("breast_cancer", false, 569)]
        let wanted = Set(only.split(separator: ",").map(String.init))
        var results: [String] = []
        for (name, regression, rows) in sets where wanted.isEmpty || wanted.contains(name) {
            let path = data + "/" + name + ".csv"
            guard access(path, R_OK) == 0 else {
                FileHandleStderr.write("skipping \(name): \(path) is missing\n")
                continue
            }
            let runs = rows >= 1_000_000 ? 1 : max(1, repeats)
            var best: [String: Double] = [:]
            var order: [String] = []
            var metrics: [(String, Double)] = []
            _ = try CSVReader.read(path: path)  // warm the page cache
            for _ in 0..<runs {
                var timer = PhaseTimer()
                metrics = try benchOne(path: path, regression: regression, timer: &timer)
                for (phase, seconds) in timer.phases {
                    if best[phase] == nil { order.append(phase) }
                    best[phase] = min(best[phase] ?? .infinity, seconds)
                }
            }
            let times = order.map { "\"\($0)\": \(best[$0]!)" }.joined(separator: ", ")
            let metricText = metrics.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ")
            results.append(
                "{\"dataset\": \"\(name)\", \"rows\": \(rows), \"runs\": \(runs), \"best_wall_s\": {\(times)}, "
                    + "\"metrics\": {\(metricText)}}")
            FileHandleStderr.write("\(name): \(times)\n")
        }
        print(
            "{\"engine\": \"sluice\", \"threads\": \(defaultThreadCount), \"results\": [\(results.joined(separator: ", "))]}"
        )
    }

    private func load(_ path: String) throws -> (Matrix, [Double]) {
        let frame = try CSVReader.read(path: path)
        guard let label = frame.names.last else { throw ValidationError("\(path) has no columns") }
        return (try frame.matrix(Array(frame.names.dropLast())), try frame.numbers(label))
    }

    private func benchOne(path: String, regression: Bool, timer: inout PhaseTimer) throws -> [(String, Double)] {
        let frame = try timer.run("read_csv") { try CSVReader.read(path: path) }
        let (x, y, k) = try timer.run("split") { () throws -> (Matrix, [Double], Int) in
            let x = try frame.matrix(Array(frame.names.dropLast()))
            return (x, try frame.numbers(frame.names.last!), frame.rowCount * 8 / 10)
        }
        let train = x.rows(0..<k)
        let yTrain = Array(y[0..<k])
        let yTest = Array(y[k...])
        let xs = timer.run("standardize") { MatrixScaler(fitting: x, rows: 0..<k).apply(x) }
        let xsTrain = xs.rows(0..<k)
        var metrics: [(String, Double)] = []
        if regression {
            let ols = try timer.run("linreg_fit") { try LinearRegression.fit(train, yTrain).model }
            let p = timer.run("linreg_predict") { ols.predict(x) }
            metrics.append(("linreg_r2", Metrics.r2(yTest, Array(p[k...]))))
            metrics.append(("linreg_rmse", Metrics.rmse(yTest, Array(p[k...]))))
            let gd = try timer.run("gd_fit") {
                try LinearRegression.gradientDescent(xsTrain, yTrain, learningRate: 0.01, iterations: 1000)
            }
            let q = timer.run("gd_predict") { gd.predict(xs) }
            metrics.append(("gd_r2", Metrics.r2(yTest, Array(q[k...]))))
            metrics.append(("gd_rmse", Metrics.rmse(yTest, Array(q[k...]))))
        } else {
            let logistic = try timer.run("logreg_fit") { try LogisticRegression.fit(xsTrain, yTrain) }
            let p = timer.run("logreg_predict") { logistic.predictProbability(xs) }
            metrics.append(("logreg_auc", Metrics.rocAUC(yTest, Array(p[k...])) ?? .nan))
            metrics.append(("logreg_acc", Metrics.accuracy(yTest, Array(p[k...]))))
            var parameters = GBDTParameters()
            parameters.objective = "binary:logistic"
            let gbdt = try timer.run("xgb_fit") { try GBDT.fit(train, yTrain, parameters: parameters) }
            let q = timer.run("xgb_predict") { gbdt.predict(x) }
            metrics.append(("xgb_auc", Metrics.rocAUC(yTest, Array(q[k...])) ?? .nan))
            metrics.append(("xgb_acc", Metrics.accuracy(yTest, Array(q[k...]))))
        }
        return metrics
    }
}

/// Wall-clock time of named phases.
struct PhaseTimer {
    var phases: [(String, Double)] = []

    mutating func run<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
        let start = ContinuousClock.now
        let value = try body()
        let elapsed = ContinuousClock.now - start
        phases.append((name, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18))
        return value
    }
}

/// Progress lines go to stderr so stdout stays one JSON line.
enum FileHandleStderr {
    static func write(_ text: String) {
        var text = text
        text.withUTF8 { _ = Glibc.write(2, $0.baseAddress, $0.count) }
    }
}
