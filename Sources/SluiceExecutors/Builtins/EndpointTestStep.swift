import Foundation
public import SluiceCore
public import SluiceHTTPClient
import SluiceML

/// `endpoint.test`: invokes an endpoint stage over HTTP with every row of a test CSV and fails on any non-2xx
/// answer, on a p95 latency above `MaxP95LatencyMs`, or on a metric above `MetricThreshold`.
///
/// Inputs: `EndpointUrl` (a stage's base URL, e.g. `http://127.0.0.1:8080/endpoints/diabetes/staging`), `Test` (a
/// CSV with a header; `Label` names the label column, default the last; `Features` the feature columns, default the
/// other numeric ones), `Route` (`stream`: `{"x": [[…]]}` → a number, W1's contract, the default; `invocations`:
/// one `text/csv` row → a number, SageMaker's), `ApiKey` or `ApiKeyEnvironment` (the variable holding the key sent
/// as `x-api-key`, default `SLUICE_API_KEY`), `Metric` (`mse`, `rmse` or `mae`), `MetricThreshold`,
/// `MaxP95LatencyMs`, `WaitSeconds` (how long a stage that is not served yet is waited for, default 10),
/// `TimeoutSeconds` (how long one request may take before it counts as failed, default 30).
/// Outputs: `Count`, `Errors`, `LatencyMeanMs`, `LatencyP50Ms`, `LatencyP95Ms`, `LatencyMaxMs`, `Metric`,
/// `MetricValue`, and `Report` (a JSON file with the same figures and `regression_metrics`).
@MemberwiseInit
public struct EndpointTestStep: BuiltinStep {
    /// Looks up a secret (the API key) by environment variable name.
    var secret: @Sendable (String) -> String? = { ProcessInfo.processInfo.environment[$0] }
    var client: HTTPClient = HTTPClient()

    public var name: String { "endpoint.test" }

    private enum Route: String { case stream, invocations }

    public func run(_ context: BuiltinStepContext) async throws -> [String: JSONValue] {
        let arguments = StepArguments(context)
        var base = try arguments.requiredString("EndpointUrl")
        while base.hasSuffix("/") { base.removeLast() }
        guard base.hasPrefix("http://") else {
            throw arguments.failure("input 'EndpointUrl' is '\(base)'; give the stage's http:// URL")
        }
        let routeText = try arguments.string("Route") ?? "stream"
        guard let route = Route(rawValue: routeText) else {
            throw arguments.failure("input 'Route' is '\(routeText)'; use stream or invocations")
        }
        let metricName = try arguments.string("Metric") ?? "mse"
        guard ["mse", "rmse", "mae"].contains(metricName) else {
            throw arguments.failure("input 'Metric' is '\(metricName)'; use mse, rmse or mae")
        }
        let metricThreshold = try arguments.number("MetricThreshold")
        let maxP95 = try arguments.number("MaxP95LatencyMs")
        let wait = try arguments.number("WaitSeconds") ?? 10
        let timeout = try arguments.number("TimeoutSeconds") ?? 30
        guard timeout > 0 else {
            throw arguments.failure("input 'TimeoutSeconds' is \(timeout); give a number of seconds above 0")
        }
        let keyName = try arguments.string("ApiKeyEnvironment") ?? "SLUICE_API_KEY"
        let key = try arguments.string("ApiKey") ?? secret(keyName)

        let frame = try arguments.frame("Test")
        let label = try arguments.string("Label") ?? frame.names.last ?? ""
        let features =
            try arguments.strings("Features")
            ?? frame.names.enumerated().filter { $0.element != label && frame.columns[$0.offset].numbers != nil }.map(
                \.element)
        var columns: [[Double]] = []
        for feature in features {
            columns.append(try arguments.wrap { () throws(MLError) in try frame.numbers(feature) })
        }
        let truth = try arguments.wrap { () throws(MLError) in try frame.numbers(label) }
        guard frame.rowCount > 0, !features.isEmpty else {
            throw arguments.failure("input 'Test' has no rows or no numeric feature columns besides '\(label)'")
        }

        let url = "\(base)/\(route.rawValue)"
        var headers: [(name: String, value: String)] = [
            ("Content-Type", route == .stream ? "application/json" : "text/csv")
        ]
        if let key { headers.append(("x-api-key", key)) }
        var latencies: [Double] = []
        var predictions: [Double] = []
        var labels: [Double] = []
        var errors: [String] = []
        for row in 0..<frame.rowCount {
            let values = columns.map { $0[row] }
            let body =
                route == .stream
                ? #"{"x": [["# + values.map { "\($0)" }.joined(separator: ", ") + "]]}"
                : values.map { "\($0)" }.joined(separator: ",") + "\n"
            let deadline = ContinuousClock.now + .milliseconds(Int(wait * 1000))
            var answer: Result<HTTPClient.Response, HTTPClientError>
            var elapsed: Duration
            repeat {
                let started = ContinuousClock.now
                do {
                    answer = .success(
                        try await client.post(
                            url, headers: headers, body: Array(body.utf8), timeout: .milliseconds(Int(timeout * 1000))))
                } catch {
                    answer = .failure(error)
                }
                elapsed = ContinuousClock.now - started
                // A stage deployed a moment ago may not be served yet: wait for it, on the first row only.
                guard row == 0, ContinuousClock.now < deadline, Self.notServedYet(answer) else { break }
                try await Task.sleep(for: .milliseconds(100))
            } while true
            switch answer {
            case .failure(let error):
                errors.append("row \(row + 1): \(error)")
            case .success(let response) where !response.isSuccess:
                let message = response.text.trimmingCharacters(in: .whitespacesAndNewlines).prefix(300)
                errors.append("row \(row + 1): POST \(url) answered \(response.status): \(message)")
            case .success(let response):
                let first = response.text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
                let text = first.trimmingCharacters(in: CharacterSet(charactersIn: " []\t\r"))
                guard let prediction = Double(text) else {
                    errors.append("row \(row + 1): POST \(url) answered '\(response.text.prefix(100))', not a number")
                    continue
                }
                latencies.append(
                    Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1e3)
                predictions.append(prediction)
                labels.append(truth[row])
            }
        }

        let sorted = latencies.sorted()
        func percentile(_ p: Double) -> Double {
            sorted.isEmpty ? 0 : sorted[max(0, Int((p * Double(sorted.count)).rounded(.up)) - 1)]
        }
        let mse = predictions.isEmpty ? .nan : Metrics.mse(labels, predictions)
        let metrics: [String: Double] = [
            "mse": mse, "rmse": mse.squareRoot(), "mae": predictions.isEmpty ? .nan : Metrics.mae(labels, predictions),
            "r2": predictions.isEmpty ? .nan : Metrics.r2(labels, predictions),
        ]
        let metricValue = metrics[metricName] ?? .nan
        let figures: [String: JSONValue] = [
            "Count": .int(frame.rowCount), "Errors": .int(errors.count),
            "LatencyMeanMs": .double(sorted.isEmpty ? 0 : sorted.reduce(0, +) / Double(sorted.count)),
            "LatencyP50Ms": .double(percentile(0.5)), "LatencyP95Ms": .double(percentile(0.95)),
            "LatencyMaxMs": .double(sorted.last ?? 0), "Metric": .string(metricName),
            "MetricValue": metricValue.isFinite ? .double(metricValue) : .null,
        ]
        var report = figures
        report["EndpointUrl"] = .string(url)
        report["regression_metrics"] = .object(
            metrics.filter { $0.value.isFinite }.mapValues { .object(["value": .double($0)]) })
        let reportPath = try arguments.write(JSONValue.object(report).canonicalJSON, to: "endpoint-test.json")
        context.log(
            "\(frame.rowCount) requests to \(url): \(errors.count) errors, p95 "
                + String(format: "%.2f ms", percentile(0.95)) + ", \(metricName) \(metricValue)")

        if !errors.isEmpty {
            var cause = "\(errors.count) of \(frame.rowCount) requests failed; \(errors[0])"
            if errors[0].contains("answered 401") || errors[0].contains("answered 403") {
                cause += " (give the step a valid key: input ApiKey, or the variable \(keyName))"
            }
            throw StepFailure("Sluice.EndpointTestFailed", cause: "step '\(context.stepName)': \(cause)")
        }
        if let maxP95, percentile(0.95) > maxP95 {
            throw StepFailure(
                "Sluice.EndpointTestFailed",
                cause: "step '\(context.stepName)': p95 latency "
                    + String(format: "%.2f ms is above MaxP95LatencyMs %g", percentile(0.95), maxP95))
        }
        if let metricThreshold, !(metricValue <= metricThreshold) {
            throw StepFailure(
                "Sluice.EndpointTestFailed",
                cause: "step '\(context.stepName)': \(metricName) \(metricValue) is above MetricThreshold "
                    + "\(metricThreshold)")
        }
        return figures.merging(["Report": .string(reportPath)]) { $1 }
    }

    /// Whether an answer says the stage is not served yet (unknown endpoint, or the server not listening yet).
    private static func notServedYet(_ answer: Result<HTTPClient.Response, HTTPClientError>) -> Bool {
        switch answer {
        case .success(let response): response.status == 404
        case .failure(let error): error.kind == .connectionFailed
        }
    }
}
