public import Foundation
public import SluiceCore

extension AWSConfiguration {
    /// The configuration the AWS CLI would use in this environment.
    ///
    /// Credentials come from `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN`, else from the profile
    /// (`AWS_PROFILE`, else `default`) in the shared credentials file (`AWS_SHARED_CREDENTIALS_FILE`, else
    /// `~/.aws/credentials`), else from the config file (`AWS_CONFIG_FILE`, else `~/.aws/config`, section
    /// `[profile NAME]` or `[default]`). The region comes from `AWS_REGION`, `AWS_DEFAULT_REGION`, then the config
    /// file's `region`. Endpoints come from `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>`, then the profile's
    /// `endpoint_url`. The CA bundle for `https://` endpoints comes from `AWS_CA_BUNDLE`, then the profile's
    /// `ca_bundle`.
    /// - Parameter environment: the environment variables (the process's by default).
    /// - Throws: `AWSConfigurationError` when a named profile does not exist or a key pair is half given.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        func value(_ name: String) -> String? {
            guard let text = environment[name]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
            return text
        }
        let home = value("HOME") ?? NSHomeDirectory()
        let profile = value("AWS_PROFILE") ?? "default"
        let credentialsPath = value("AWS_SHARED_CREDENTIALS_FILE") ?? "\(home)/.aws/credentials"
        let configPath = value("AWS_CONFIG_FILE") ?? "\(home)/.aws/config"
        let credentialsFile = try Self.readINI(at: credentialsPath)
        let configFile = try Self.readINI(at: configPath)
        let fromCredentials = credentialsFile?[profile]
        let fromConfig = configFile?[profile == "default" ? "default" : "profile \(profile)"]
        if value("AWS_PROFILE") != nil, fromCredentials == nil, fromConfig == nil {
            throw AWSConfigurationError(
                message: "AWS_PROFILE=\(profile): no profile '\(profile)' in \(credentialsPath) or \(configPath); "
                    + "add a [\(profile)] section or unset AWS_PROFILE")
        }

        var credentials: AWSCredentials?
        var source: String?
        switch (value("AWS_ACCESS_KEY_ID"), value("AWS_SECRET_ACCESS_KEY")) {
        case (let key?, let secret?):
            credentials = AWSCredentials(
                accessKeyID: key, secretAccessKey: secret, sessionToken: value("AWS_SESSION_TOKEN"))
            source = "AWS_ACCESS_KEY_ID"
        case (.some, nil), (nil, .some):
            throw AWSConfigurationError(
                message: "only one of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY is set; set both, or neither to use "
                    + "the profile '\(profile)'")
        case (nil, nil):
            for (section, path) in [(fromCredentials, credentialsPath), (fromConfig, configPath)] {
                guard let section, let key = section["aws_access_key_id"] else { continue }
                guard let secret = section["aws_secret_access_key"] else {
                    throw AWSConfigurationError(
                        message: "\(path) [\(profile)]: aws_access_key_id without aws_secret_access_key; add it")
                }
                credentials = AWSCredentials(
                    accessKeyID: key, secretAccessKey: secret, sessionToken: section["aws_session_token"])
                source = "\(path) [\(profile)]"
                break
            }
        }

        var serviceEndpoints: [String: String] = [:]
        for (name, text) in environment where name.hasPrefix("AWS_ENDPOINT_URL_") && !text.isEmpty {
            serviceEndpoints[String(name.dropFirst("AWS_ENDPOINT_URL_".count))] = text
        }
        self.init(
            credentials: credentials,
            region: value("AWS_REGION") ?? value("AWS_DEFAULT_REGION") ?? fromConfig?["region"]
                ?? fromCredentials?["region"] ?? Self.defaultRegion,
            endpoint: value("AWS_ENDPOINT_URL") ?? fromConfig?["endpoint_url"],
            serviceEndpoints: serviceEndpoints, profile: profile, credentialsSource: source,
            caBundle: value("AWS_CA_BUNDLE") ?? fromConfig?["ca_bundle"])
    }

    /// The sections of an INI file as the AWS CLI reads it (`[name]`, `key = value`, `#`/`;` comments); `nil` when
    /// the file does not exist.
    static func readINI(at path: String) throws -> [String: [String: String]]? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AWSConfigurationError(message: "\(path): cannot read the file; check its permissions")
        }
        var sections: [String: [String: String]] = [:]
        var current: String?
        for (number, raw) in String(decoding: data, as: UTF8.self).split(
            separator: "\n", omittingEmptySubsequences: false
        )
        .enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]") else {
                    throw AWSConfigurationError(message: "\(path):\(number + 1): unclosed section header '\(line)'")
                }
                let name = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                current = name
                sections[name, default: [:]] = sections[name] ?? [:]
                continue
            }
            // Nested settings (`s3 =` followed by indented lines) belong to their parent; they are not needed here.
            if raw.first == " " || raw.first == "\t" { continue }
            guard let current, let equals = line.firstIndex(of: "=") else {
                throw AWSConfigurationError(
                    message: "\(path):\(number + 1): expected 'key = value' inside a [section], found '\(line)'")
            }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            sections[current]?[key] = value
        }
        return sections
    }
}

/// A configuration problem, naming the variable or file and how to fix it.
public struct AWSConfigurationError: MessageError, Sendable {
    public static let code = "aws-configuration"
    public var text: String
    public var description: String { text }

    public init(message: String) { text = message }
}
