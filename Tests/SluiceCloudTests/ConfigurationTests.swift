import Foundation
import SluiceCloud
import SluiceCore
import Testing

/// The standard AWS configuration: variables, profiles in the shared files, endpoints per service.
@Suite struct ConfigurationTests {
    let scratch: Scratch
    var folder: String { scratch.path }

    init() throws {
        scratch = try Scratch()
        try """
        [default]
        aws_access_key_id = DEFAULTKEY
        aws_secret_access_key = defaultsecret

        # a comment
        [ci]
        aws_access_key_id=CIKEY
        aws_secret_access_key = ci/secret+1
        aws_session_token = citoken
        """.write(toFile: "\(folder)/credentials", atomically: true, encoding: .utf8)
        try """
        [default]
        region = eu-west-1
        [profile ci]
        region = ap-southeast-2
        endpoint_url = http://127.0.0.1:9000
        s3 =
          addressing_style = path
        """.write(toFile: "\(folder)/config", atomically: true, encoding: .utf8)
    }

    var files: [String: String] {
        ["HOME": folder, "AWS_SHARED_CREDENTIALS_FILE": "\(folder)/credentials", "AWS_CONFIG_FILE": "\(folder)/config"]
    }

    @Test func aProfileComesFromTheSharedFiles() throws {
        let configuration = try AWSConfiguration(environment: files.merging(["AWS_PROFILE": "ci"]) { $1 })
        #expect(
            configuration.credentials
                == AWSCredentials(accessKeyID: "CIKEY", secretAccessKey: "ci/secret+1", sessionToken: "citoken"))
        #expect(configuration.region == "ap-southeast-2")
        #expect(configuration.configuredEndpoint(for: "S3") == "http://127.0.0.1:9000")
        #expect(configuration.credentialsSource == "\(folder)/credentials [ci]")
        let fallback = try AWSConfiguration(environment: files)
        #expect(fallback.credentials?.accessKeyID == "DEFAULTKEY")
        #expect(fallback.region == "eu-west-1")
        #expect(fallback.configuredEndpoint(for: "S3") == nil)
    }

    @Test func variablesWinOverTheFiles() throws {
        let configuration = try AWSConfiguration(
            environment: files.merging([
                "AWS_PROFILE": "ci", "AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "envsecret",
                "AWS_DEFAULT_REGION": "us-west-2", "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
                "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:2",
            ]) { $1 })
        #expect(configuration.credentials == AWSCredentials(accessKeyID: "ENVKEY", secretAccessKey: "envsecret"))
        #expect(configuration.region == "us-west-2")
        #expect(configuration.configuredEndpoint(for: "S3") == "http://127.0.0.1:2")
        #expect(configuration.configuredEndpoint(for: "SFN") == "http://127.0.0.1:1")
        #expect(configuration.endpoint(for: "SFN", hostPrefix: "states") == "http://127.0.0.1:1")
        let region = try AWSConfiguration(environment: files.merging(["AWS_REGION": "sa-east-1"]) { $1 })
        #expect(region.region == "sa-east-1")
        let bare = try AWSConfiguration(environment: ["HOME": folder + "/nowhere"])
        #expect(bare.credentials == nil)
        #expect(bare.region == "us-east-1")
        #expect(bare.endpoint(for: "SFN", hostPrefix: "states") == "https://states.us-east-1.amazonaws.com")
    }

    @Test func mistakesNameTheVariableOrFile() throws {
        let missing = #expect(throws: AWSConfigurationError.self) {
            try AWSConfiguration(environment: files.merging(["AWS_PROFILE": "prod"]) { $1 })
        }
        #expect(missing?.message.contains("no profile 'prod' in \(folder)/credentials or \(folder)/config") == true)
        let half = #expect(throws: AWSConfigurationError.self) {
            try AWSConfiguration(environment: ["HOME": folder, "AWS_ACCESS_KEY_ID": "K"])
        }
        #expect(half?.message.contains("AWS_SECRET_ACCESS_KEY") == true)
    }

    /// As the README says: files above 8 MiB go up in 8 MiB parts (the AWS CLI's size), eight at a time.
    @Test func s3UploadsGoInEightMiBPartsEightAtATime() throws {
        let client = try S3Client(configuration: AWSConfiguration())
        #expect(client.multipartThreshold == 8 << 20)
        #expect(client.partSize == 8 << 20)
        #expect(client.concurrentParts == 8)
    }
}
