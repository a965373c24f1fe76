import ArgumentParser
import Foundation
import SluiceML
import SluiceServer
import SluiceServing

/// `sluice serve-bench`: the benchmark server of `bench/peers/compare.md` (OLS on regression_10k, `/stream`, `/batch`).
struct ServeBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve-bench",
        abstract: "Serve the benchmark's linear model on /stream and /batch (see bench/peers/compare.md)."
    )

    @Option(help: "Port to listen on (default: $PORT, else 8080).") var port: Int?
    @Option(help: "Folder holding regression_10k.csv (default: $BENCH_DATA_DIR).") var data: String?
    @Option(help: "Percentage of requests to capture under --capture-dir (0 = off).") var capturePercent: Double = 0
    @Option(help: "Where captured requests go.") var captureDir: String = ".sluice/capture"
    @Option(help: "Usage plan for the key: requests per second (default: unlimited).") var rate: Double?
    @Option(help: "Usage plan for the key: burst size (with --rate; default: the rate).") var burst: Int?

    @Option(
        help: """
            Event-loop threads answering HTTP. Default 1: the benchmark's load generator runs on the same cores, and \
            with a second loop thread four busy threads share two cores (p99 5.7–6.6 ms instead of 3–4 ms).
            """)
    var threads: Int = 1

    func run() async throws {
        guard threads >= 1 else { throw ValidationError("--threads \(threads) must be at least 1") }
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
        let server = SluiceServer(
            service: service, configuration: .init(host: "127.0.0.1", port: port, eventLoopThreads: threads))
        try await server.run { bound in
            FileHandle.standardError.write(Data("sluice serve-bench listening on http://127.0.0.1:\(bound)\n".utf8))
        }
    }
}

/// The benchmark's model: ordinary least squares with intercept (SluiceML) on the first rows of a numeric CSV
/// whose last column is the target.
enum BenchModel {
    static func fitOLS(csvPath: String, trainRows: Int) throws -> LinearPredictor {
        let frame = try CSVReader.read(path: csvPath)
        guard let label = frame.names.last, frame.names.count > 1 else {
            throw ValidationError("\(csvPath): expected feature columns followed by the target column.")
        }
        let rows = min(trainRows, frame.rowCount)
        let x = try frame.matrix(Array(frame.names.dropLast())).rows(0..<rows)
        let y = Array(try frame.numbers(label)[0..<rows])
        let model = try LinearRegression.fit(x, y).model
        return LinearPredictor(coefficients: model.coefficients, intercept: model.intercept)
    }
}
