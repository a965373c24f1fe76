import ArgumentParser
import Foundation
import SluiceServer
import SluiceServing

/// `sluice serve-bench`: the benchmark server of `bench/peers/compare.md` (OLS on regression_10k, `/stream`, `/batch`).
struct ServeBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve-bench",
        abstract: "Serve the benchmark's linear model on /stream and /batch (see bench/peers/compare.md)."
    )

    @Option(help: "Port to listen on (default: $PORT, else 8080).")
    var port: Int?

    @Option(help: "Folder holding regression_10k.csv (default: $BENCH_DATA_DIR).")
    var data: String?

    @Option(help: "Percentage of requests to capture under --capture-dir (0 = off).")
    var capturePercent: Double = 0

    @Option(help: "Where captured requests go.")
    var captureDir: String = ".sluice/capture"

    @Option(help: "Usage plan for the key: requests per second (default: unlimited).")
    var rate: Double?

    @Option(help: "Usage plan for the key: burst size (with --rate; default: the rate).")
    var burst: Int?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let port = port ?? environment["PORT"].flatMap(Int.init) ?? 8080
        guard let folder = data ?? environment["BENCH_DATA_DIR"] else {
            throw ValidationError(
                "No data folder: pass --data or set BENCH_DATA_DIR to the folder of regression_10k.csv.")
        }
        let path = URL(fileURLWithPath: folder).appendingPathComponent("regression_10k.csv").path
        let predictor = try BenchModel.fitOLS(csvPath: path, trainRows: 8_000)
        let key = environment["BENCH_API_KEY"] ?? "bench-secret"

        let endpoints = EndpointTable()
        endpoints.deploy(
            endpoint: "bench",
            stage: .production,
            StageDeployment(
                variants: [Variant(name: "AllTraffic", predictor: predictor)],
                capturePercentage: capturePercent
            )
        )
        let plan = rate.map { UsagePlan(rate: $0, burst: burst ?? Int($0)) }
        let keyring = APIKeyring([APIKeyRecord(id: "key_bench", name: "bench", hash: APIKey.hash(key), plan: plan)])
        let capture = capturePercent > 0 ? CaptureWriter(root: URL(fileURLWithPath: captureDir)) : nil
        let service = InferenceService(endpoints: endpoints, keyring: keyring, capture: capture)
        let server = SluiceServer(service: service, configuration: .init(host: "127.0.0.1", port: port))
        try await server.run { bound in
            FileHandle.standardError.write(Data("sluice serve-bench listening on http://127.0.0.1:\(bound)\n".utf8))
        }
    }
}

/// The benchmark's model: ordinary least squares with intercept on the first rows of a numeric CSV whose last
/// column is the target.
// TODO: use SluiceML's CSV reader and OLS once they land in main; this small fit keeps serve-bench runnable.
enum BenchModel {
    struct DataError: Error, CustomStringConvertible {
        var description: String
    }

    static func fitOLS(csvPath: String, trainRows: Int) throws -> LinearPredictor {
        guard let text = try? String(contentsOfFile: csvPath, encoding: .utf8) else {
            throw DataError(description: "\(csvPath): cannot read the file; run gen_data.py or pass --data.")
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        guard !lines.isEmpty else { throw DataError(description: "\(csvPath): the file is empty.") }
        lines.removeFirst()  // header
        var xtx: [Double] = []
        var xty: [Double] = []
        var width = 0
        for (index, line) in lines.prefix(trainRows).enumerated() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            let numbers = fields.map { Double($0.trimmingCharacters(in: .whitespaces)) }
            if width == 0 {
                width = fields.count  // features + 1 for the intercept column
                xtx = Array(repeating: 0, count: width * width)
                xty = Array(repeating: 0, count: width)
            }
            guard numbers.count == width, numbers.allSatisfy({ $0 != nil }) else {
                throw DataError(description: "\(csvPath):\(index + 2): expected \(width) numbers.")
            }
            var row = numbers.map { $0! }
            let target = row.removeLast()
            row.append(1)
            for i in 0..<width {
                xty[i] += row[i] * target
                for j in 0..<width { xtx[i * width + j] += row[i] * row[j] }
            }
        }
        let solution = try solve(xtx, xty, size: width)
        return LinearPredictor(coefficients: Array(solution.dropLast()), intercept: solution[width - 1])
    }

    /// Gaussian elimination with partial pivoting.
    private static func solve(_ a: [Double], _ b: [Double], size n: Int) throws -> [Double] {
        var a = a
        var b = b
        for column in 0..<n {
            let pivot = (column..<n).max { abs(a[$0 * n + column]) < abs(a[$1 * n + column]) }!
            guard abs(a[pivot * n + column]) > 1e-12 else {
                throw DataError(description: "The features are collinear; OLS has no unique solution.")
            }
            if pivot != column {
                for j in 0..<n { a.swapAt(pivot * n + j, column * n + j) }
                b.swapAt(pivot, column)
            }
            for row in (column + 1)..<n {
                let factor = a[row * n + column] / a[column * n + column]
                for j in column..<n { a[row * n + j] -= factor * a[column * n + j] }
                b[row] -= factor * b[column]
            }
        }
        var x = Array(repeating: 0.0, count: n)
        for row in stride(from: n - 1, through: 0, by: -1) {
            var sum = b[row]
            for j in (row + 1)..<n { sum -= a[row * n + j] * x[j] }
            x[row] = sum / a[row * n + row]
        }
        return x
    }
}
