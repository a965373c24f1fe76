public import SluiceCore

/// Why an object operation failed: the URI, the cause and how to fix it.
public struct S3Error: SluiceError, Sendable, Equatable {
    /// The class of failure; `other` keeps the store's own code in `serviceCode`.
    public enum Code: String, Sendable, CustomStringConvertible {
        case noSuchBucket, noSuchKey, accessDenied, signatureMismatch, invalidAccessKey, unreachable
        case unsupportedEndpoint, badURI, localFile, other

        public var description: String { rawValue }
    }

    public var code: Code
    /// The URI (or local path) the operation was about.
    public var subject: String
    /// The operation, e.g. `GetObject`.
    public var operation: String
    /// The store's error code (`NoSuchKey`) and HTTP status, when the store answered.
    public var serviceCode: String?
    public var status: Int?
    /// What happened and how to fix it.
    public var detail: String

    public init(
        _ code: Code, subject: String, operation: String, detail: String, serviceCode: String? = nil,
        status: Int? = nil
    ) {
        self.code = code
        self.subject = subject
        self.operation = operation
        self.detail = detail
        self.serviceCode = serviceCode
        self.status = status
    }

    public var message: String { description }

    public var description: String {
        let answer = status.map { " (HTTP \($0)\(serviceCode.map { " \($0)" } ?? ""))" } ?? ""
        return "\(subject): \(operation) failed\(answer): \(detail)"
    }

    /// The error for a store's answer, with the fix for the common causes.
    static func answer(
        status: Int, serviceCode: String?, message: String?, uri: ObjectURI, operation: String, location: String,
        credentialsSource: String?
    ) -> S3Error {
        let said = message.map { " (the store said: \($0))" } ?? ""
        let keys = credentialsSource.map { "the keys from \($0)" } ?? "the configured keys"
        let (code, detail): (Code, String)
        switch (serviceCode, status) {
        case ("NoSuchBucket", _):
            (code, detail) = (
                .noSuchBucket,
                "no bucket '\(uri.bucket)' at \(location); create it (aws s3 mb s3://\(uri.bucket)) or fix the bucket "
                    + "name"
            )
        case ("NoSuchKey", _), (nil, 404):
            (code, detail) = (
                .noSuchKey,
                "no object '\(uri.key)' in bucket '\(uri.bucket)' at \(location); upload it first (sluice s3 cp FILE "
                    + "\(uri)) or fix the key"
            )
        case ("SignatureDoesNotMatch", _):
            (code, detail) = (
                .signatureMismatch,
                "the request signature does not match: the secret key of \(keys) is wrong for this access key; check "
                    + "AWS_SECRET_ACCESS_KEY or the profile's aws_secret_access_key\(said)"
            )
        case ("InvalidAccessKeyId", _):
            (code, detail) = (
                .invalidAccessKey,
                "the access key of \(keys) is not known to \(location); check AWS_ACCESS_KEY_ID or the profile's "
                    + "aws_access_key_id\(said)"
            )
        case ("AccessDenied", _), (nil, 403):
            (code, detail) = (
                .accessDenied,
                "access denied for \(keys); grant them s3 permissions on '\(uri.bucket)' or use other credentials"
                    + "\(said)"
            )
        default:
            (code, detail) = (.other, "the store refused the request\(said)")
        }
        return S3Error(
            code, subject: uri.description, operation: operation, detail: detail, serviceCode: serviceCode,
            status: status)
    }
}
