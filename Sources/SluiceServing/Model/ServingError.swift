public import SluiceCore

/// Why a serving request was refused; the HTTP layer maps `code` to a status.
public struct ServingError: SluiceError, Sendable, Equatable {
    /// A stable, machine-readable reason.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The code's name as sent to clients (SageMaker's `ErrorCode` style).
        public let name: String
        /// The input could not be decoded or has the wrong shape.
        public static let validation = Code(name: "ValidationError")
        /// The request body was empty.
        public static let emptyBody = Code(name: "EmptyBody")
        /// The content type is not one the endpoint accepts.
        public static let unsupportedMediaType = Code(name: "UnsupportedMediaType")
        /// The body is larger than the limit.
        public static let payloadTooLarge = Code(name: "PayloadTooLarge")
        /// No endpoint (or stage) has that name.
        public static let unknownEndpoint = Code(name: "ResourceNotFound")
        /// No feature record has the id a predict-by-id request names.
        public static let unknownRecord = Code(name: "RecordNotFound")
        /// The target variant header names no variant of the stage.
        public static let unknownVariant = Code(name: "UnknownVariant")
        /// No API key was sent.
        public static let missingKey = Code(name: "MissingAuthenticationToken")
        /// The API key is unknown or revoked.
        public static let invalidKey = Code(name: "AccessDenied")
        /// The key's rate limit was hit.
        public static let throttled = Code(name: "ThrottlingException")
        /// The key's daily or monthly quota is used up.
        public static let quotaExceeded = Code(name: "QuotaExceeded")
        /// The model failed or produced a non-finite number.
        public static let modelError = Code(name: "ModelError")
        /// The request body did not arrive within the per-request timeout (a slow client).
        public static let requestTimeout = Code(name: "RequestTimeout")
        /// The request's header fields are over their size or count limit.
        public static let headersTooLarge = Code(name: "RequestHeaderFieldsTooLarge")
        /// The server could not finish the request (its store failed).
        public static let internalFailure = Code(name: "InternalFailure")
        /// No route answers the request's path (`/openapi.json` lists the operations).
        public static let unknownOperation = Code(name: "UnknownOperation")
        /// The request's path answers other methods only.
        public static let methodNotAllowed = Code(name: "MethodNotAllowed")

        public var description: String { name }
    }

    /// The reason.
    public var code: Code
    /// A one-line message naming what was wrong and how to fix it.
    public var message: String
    /// For throttling: seconds after which a retry can succeed.
    public var retryAfterSeconds: Int?

    /// Creates an error.
    public init(_ code: Code, _ message: String, retryAfterSeconds: Int? = nil) {
        self.code = code
        self.message = message
        self.retryAfterSeconds = retryAfterSeconds
    }

    public var description: String { "\(code.name): \(message)" }
}
