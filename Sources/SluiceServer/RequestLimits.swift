import SluiceServing

/// The size limits a request meets, checked on its head before any of its body is read (README, "Limits").
///
/// A declared `Content-Length` over its route's body limit is answered 413 at once; header fields over their limits
/// 431; a body still incomplete at the request timeout (`SluiceServer.Configuration.requestTimeout`) 408. Each of
/// these answers closes the connection, since the rest of the request is not read. The routes read their bodies up
/// to the same limits, for bodies of undeclared length (chunked).
public enum RequestLimits {
    /// `POST /api/executions` (a pipeline submission).
    static let executionBody = 1024 * 1024
    /// `POST /approvals/{token}` (a decision form).
    static let approvalBody = 64 * 1024
    /// `POST /invokeFeatureStore`, `POST /invokeSagemakerAPI`, and the other feature lookups (predict-by-id).
    static let featureRouteBody = 64 * 1024
    /// `POST /endpoints/{name}/ground-truth` (the labels of captured inferences).
    static let groundTruthBody = 6 * 1024 * 1024
    /// `POST /console/sign-in` (the console's sign-in form).
    public static let signInForm = 16 * 1024
    /// The console's other forms (`POST /console/…`).
    public static let consoleForm = 64 * 1024
    /// One header field (name and value), and all of them together.
    static let headerBytes = 80 * 1024
    /// Header fields in one request.
    static let headerFields = 1000

    /// The largest body accepted on the route of `uri`: the serving routes and any other take `servingBody`
    /// (`SluiceServer.Configuration.bodyLimit`, SageMaker's 6 MB by default).
    static func bodyLimit(uri: String, servingBody: Int) -> Int {
        // This runs for every request: the path (without its query) is compared as UTF-8 bytes, without making the
        // `Substring`s whose `hasPrefix`/`hasSuffix` compare characters.
        var uri = uri
        return uri.withUTF8 { bytes in
            let path = bytes.prefix { $0 != UInt8(ascii: "?") }
            func starts(_ prefix: String) -> Bool { path.starts(with: prefix.utf8) }
            func ends(_ suffix: String) -> Bool {
                path.count >= suffix.utf8.count && path.suffix(suffix.utf8.count).elementsEqual(suffix.utf8)
            }
            if starts("/api/") { return executionBody }
            if starts("/approvals/") { return approvalBody }
            if starts("/invokeFeatureStore") || starts("/invokeSagemakerAPI") { return featureRouteBody }
            if starts("/console/") { return path.elementsEqual("/console/sign-in".utf8) ? signInForm : consoleForm }
            if starts("/endpoints/") {
                if ends("/ground-truth") { return groundTruthBody }
                if ends("/predict-by-id") || ends("/features") { return featureRouteBody }
            }
            return servingBody
        }
    }

    /// A limit in words: `16 KiB`, `6 MiB`.
    public static func describe(_ bytes: Int) -> String {
        bytes % (1024 * 1024) == 0 ? "\(bytes / (1024 * 1024)) MiB" : "\(bytes / 1024) KiB"
    }

    static func tooLarge(declared: Int, limit: Int) -> ServingError {
        ServingError(
            .payloadTooLarge,
            "The request declares a \(declared)-byte body (Content-Length); this route accepts at most \(limit) "
                + "bytes. Split it into several requests.")
    }

    static func headersTooLarge() -> ServingError {
        ServingError(
            .headersTooLarge,
            "The request's header fields are over the limit (\(headerBytes / 1024) KiB each and together, "
                + "\(headerFields) fields); send fewer or shorter headers.")
    }
}
