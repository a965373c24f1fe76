import SluiceCore
public import SluiceHTTPClient

/// Where and as whom Sluice talks to AWS or an S3-compatible store: the standard AWS settings, resolved.
///
/// Build one with `AWSConfiguration(environment:)` (environment variables, `~/.aws/credentials`, `~/.aws/config`),
/// or directly in tests.
@MemberwiseInit
public struct AWSConfiguration: Sendable, Hashable {
    /// The keys to sign with; `nil` when none are configured.
    public var credentials: AWSCredentials?
    /// The region requests are signed for (`us-east-1` when none is configured).
    public var region: String = AWSConfiguration.defaultRegion
    /// `AWS_ENDPOINT_URL`: the endpoint of every service, unless a service has its own.
    public var endpoint: String?
    /// Per-service endpoints by service id in upper case (`S3`, `SFN`, `SAGEMAKER`), from `AWS_ENDPOINT_URL_<ID>`.
    public var serviceEndpoints: [String: String] = [:]
    /// The profile the settings came from, for messages.
    public var profile: String = "default"
    /// Where each setting came from, for messages (`AWS_ACCESS_KEY_ID`, `~/.aws/credentials [ci]`).
    public var credentialsSource: String?
    /// `AWS_CA_BUNDLE` (or the profile's `ca_bundle`): a PEM file of the certificate authorities `https://`
    /// endpoints are checked against instead of the system's; `nil` for the system's.
    public var caBundle: String?

    /// The region used when none is configured, as the AWS CLI does for S3.
    public static let defaultRegion = "us-east-1"

    /// Whom `https://` endpoints must be certified by.
    public var tlsTrust: TLSTrust { TLSTrust(caBundlePath: caBundle) }

    /// The endpoint configured for a service (`AWS_ENDPOINT_URL_<ID>`, else `AWS_ENDPOINT_URL`), or `nil` for AWS's
    /// own.
    /// - Parameter serviceID: the service id as AWS spells it in `AWS_ENDPOINT_URL_<ID>`: `S3`, `SFN`, `SAGEMAKER`.
    public func configuredEndpoint(for serviceID: String) -> String? {
        let key = String(serviceID.uppercased().map { $0 == " " ? "_" : $0 })
        return serviceEndpoints[key] ?? endpoint
    }

    /// The endpoint requests for a service go to: the configured one, else AWS's regional one
    /// (`https://<prefix>.<region>.amazonaws.com`).
    /// - Parameters:
    ///   - serviceID: as in `configuredEndpoint(for:)`.
    ///   - hostPrefix: the service's host name prefix (`s3`, `states`, `api.sagemaker`).
    public func endpoint(for serviceID: String, hostPrefix: String) -> String {
        configuredEndpoint(for: serviceID) ?? "https://\(hostPrefix).\(region).amazonaws.com"
    }

    /// A signer for a service with these credentials and region; `nil` without credentials.
    /// - Parameter service: the signing name (`s3`, `states`, `sagemaker`).
    public func signer(service: String) -> AWSSigner? {
        credentials.map { AWSSigner(credentials: $0, region: region, service: service) }
    }
}
