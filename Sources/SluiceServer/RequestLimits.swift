import SluiceServing

/// The size limits a request meets, checked on its head before any of its body is read (README, "Limits").
///
/// A declared `Content-Length` over its route's body limit is answered 413 at once; header fields over their limits
/// 431; a body still incomplete at the request timeout (`SluiceServer.Configuration.requestTimeout`) 408. Each of
/// these answers closes the connection, since the rest of the request is not read.
enum RequestLimits {
    /// `POST /api/executions` (a pipeline submission).
    static let executionBody = 1024 * 1024
    /// `POST /approvals/{token}` (a decision form).
    static let approvalBody = 64 * 1024
    /// `POST /invokeFeatureStore`, `POST /invokeSagemakerAPI`.
    static let featureRouteBody = 64 * 1024
    /// One header field (name and value), and all of them together.
    static let headerBytes = 80 * 1024
    /// Header fields in one request.
    static let headerFields = 1000

    /// The largest body accepted on the route of `uri`: the serving routes and any other take `servingBody`
    /// (`SluiceServer.Configuration.bodyLimit`, SageMaker's 6 MB by default).
    static func bodyLimit(uri: String, servingBody: Int) -> Int {
        if uri.hasPrefix("/api/") { return executionBody }
        if uri.hasPrefix("/approvals/") { return approvalBody }
        if uri.hasPrefix("/invokeFeatureStore") || uri.hasPrefix("/invokeSagemakerAPI") { return featureRouteBody }
        return servingBody
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
