import Foundation
public import SluiceCore
public import SluiceHTTPClient

/// Runs `http` modules: POSTs the resolved inputs as one JSON object and takes the JSON object answered as the
/// step's outputs.
///
/// Each request carries `X-Sluice-Execution`, `X-Sluice-Step` and `X-Sluice-Attempt` so a service can make
/// retries idempotent. A non-2xx answer fails the step with error `HTTP.<status>` (e.g. `HTTP.503`, which a
/// `catch` or `retry` rule can name) carrying the body's tail; a refused connection fails with
/// `HTTP.ConnectionFailed`, no answer within `requestTimeout` with `States.Timeout`. The step's own `timeout`
/// cancels the request (closing the connection) like any other step. Header values may name environment
/// variables as `${NAME}` so tokens stay out of pipeline files.
///
/// An `https://` URL's certificate must be signed by one of the system's certificate authorities or by one in the
/// PEM file the module's `ca_bundle` names (relative to its folder), else the environment variable
/// `SLUICE_CA_BUNDLE`: a private authority is trusted besides the public ones, so one pipeline can call both kinds
/// of service.
public struct HTTPExecutor: StepExecutor {
    /// The environment variable naming a PEM file of certificate authorities trusted besides the system's.
    public static let caBundleVariable = "SLUICE_CA_BUNDLE"

    let client: HTTPClient
    /// The longest one request may take when the step sets no shorter `timeout`.
    public var requestTimeout: Duration
    let environment: [String: String]

    /// An executor whose requests give up after `requestTimeout`.
    /// - Parameters:
    ///   - client: the HTTP client; by default one trusting the system's authorities and `SLUICE_CA_BUNDLE`'s.
    ///   - environment: where `${NAME}` in header values and `SLUICE_CA_BUNDLE` are read.
    public init(
        client: HTTPClient? = nil, requestTimeout: Duration = .seconds(600),
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        // Empty or blank means unset, as AWS_CA_BUNDLE does.
        let bundle = environment[Self.caBundleVariable]?.trimmingCharacters(in: .whitespaces)
        self.client = client ?? HTTPClient(trust: .system(adding: bundle?.isEmpty == false ? bundle : nil))
        self.requestTimeout = requestTimeout
        self.environment = environment
    }

    public func preflight(_ module: Module) -> StepFailure? {
        guard case .http(let url, _, let headers, let caBundle) = module.implementation else { return nil }
        do {
            let target = try HTTPTarget(parsing: url)
            if target.usesTLS { try client(for: module, caBundle: caBundle).trust.validate() }
        } catch let error as HTTPClientError {
            return StepFailure("HTTP.InvalidURL", cause: error.detail)
        } catch {
            let source = caBundle == nil ? Self.caBundleVariable : "ca_bundle"
            return StepFailure(
                "HTTP.BadCABundle",
                cause: "\(source) names \(error); set it to a PEM file of the certificate authorities to trust "
                    + "besides the system's")
        }
        for (name, value) in headers {
            if case .failure(let missing) = expand(value) {
                return StepFailure(
                    "HTTP.MissingVariable",
                    cause: "header '\(name)' uses ${\(missing)}, which is not set; export \(missing) before the run")
            }
        }
        return nil
    }

    public func run(_ request: StepRequest) async throws -> StepResult {
        guard case .http(let url, let method, let configured, let caBundle) = request.module.implementation else {
            return .failed(StepFailure("Sluice.NoExecutor", cause: "not an http module"))
        }
        var headers: [(name: String, value: String)] = []
        for (name, value) in configured.sorted(by: { $0.key < $1.key }) {
            switch expand(value) {
            case .success(let expanded): headers.append((name, expanded))
            case .failure(let missing):
                return .failed(
                    StepFailure("HTTP.MissingVariable", cause: "header '\(name)' uses ${\(missing)}, which is not set"))
            }
        }
        let names = Set(headers.map { $0.name.lowercased() })
        if !names.contains("content-type") { headers.append(("Content-Type", "application/json")) }
        if !names.contains("accept") { headers.append(("Accept", "application/json")) }
        headers += [
            ("X-Sluice-Execution", request.executionID), ("X-Sluice-Step", request.stepName),
            ("X-Sluice-Attempt", String(request.attempt)),
        ]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = method == "GET" ? [] : [UInt8](try encoder.encode(JSONValue.object(request.inputs)))
        let response: HTTPClient.Response
        do {
            response = try await client(for: request.module, caBundle: caBundle).send(
                HTTPClient.Request(method: method, url: url, headers: headers, body: body), timeout: requestTimeout)
        } catch {
            switch error.kind {
            case .timeout: return .failed(StepFailure(ErrorName.timeout, cause: error.description))
            case .cancelled: return .failed(StepFailure("Sluice.Cancelled", cause: "stopped"))
            case .connectionFailed: return .failed(StepFailure("HTTP.ConnectionFailed", cause: error.description))
            case .untrustedCertificate:
                return .failed(
                    StepFailure(
                        "HTTP.ConnectionFailed",
                        cause: error.description + "; if a private certificate authority signed it, set "
                            + "\(Self.caBundleVariable) (or the module's ca_bundle) to that authority's PEM file"))
            case .invalidURL: return .failed(StepFailure("HTTP.InvalidURL", cause: error.description))
            case .connectionClosed, .responseTooLarge:
                return .failed(StepFailure("HTTP.BadResponse", cause: error.description))
            }
        }
        guard response.isSuccess else {
            return .failed(
                StepFailure(
                    "HTTP.\(response.status)",
                    cause:
                        "\(method) \(url) answered \(response.status) \(response.reason); body: \(Self.tail(response))"
                ))
        }
        if response.body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            return .succeeded([:])
        }
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(response.body)) else {
            return .failed(
                StepFailure(
                    "Sluice.BadOutputs",
                    cause:
                        "\(method) \(url) answered \(response.status) with a body that is not JSON: \(Self.tail(response))"
                ))
        }
        if let object = value.object { return .succeeded(object) }
        if request.module.outputs.count == 1 { return .succeeded([request.module.outputs[0].name: value]) }
        return .failed(
            StepFailure(
                "Sluice.BadOutputs",
                cause: "\(method) \(url) answered \(value.typeName), not a JSON object of outputs "
                    + "(\(request.module.outputs.map(\.name).joined(separator: ", ")))"))
    }

    /// The client for `module`'s requests: the module's `ca_bundle` (relative to its folder), when it names one,
    /// replaces `SLUICE_CA_BUNDLE`'s as the authorities trusted besides the system's.
    func client(for module: Module, caBundle: String?) -> HTTPClient {
        guard let caBundle else { return client }
        var client = self.client
        client.trust = .system(adding: caBundle.hasPrefix("/") ? caBundle : "\(module.baseDirectory)/\(caBundle)")
        return client
    }

    /// The last 2,000 characters of the body, for error messages.
    static func tail(_ response: HTTPClient.Response) -> String {
        let text = response.text.trimmingCharacters(in: .whitespacesAndNewlines)
        return text.count > 2_000 ? "…" + text.suffix(2_000) : (text.isEmpty ? "(empty)" : text)
    }

    /// Replaces every `${NAME}` with the variable's value, or names the first one that is not set.
    func expand(_ text: String) -> Result<String, MissingVariable> {
        var result = ""
        var rest = Substring(text)
        while let open = rest.range(of: "${") {
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else { break }
            let name = String(rest[open.upperBound..<close])
            guard let value = environment[name] else { return .failure(MissingVariable(name: name)) }
            result += rest[..<open.lowerBound] + value
            rest = rest[rest.index(after: close)...]
        }
        return .success(result + rest)
    }

    struct MissingVariable: Error, CustomStringConvertible {
        var name: String
        var description: String { name }
    }
}
