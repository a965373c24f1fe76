import Foundation
import SluiceTesting
import Testing

/// `sluice s3` and `sluice aws` reach `https://` endpoints: moto's server serving TLS with a certificate signed by a
/// certificate authority the test makes, trusted through `AWS_CA_BUNDLE`; any other authority is refused.
@Suite struct TLSEndpointTests {
    @Test func s3AndStepFunctionsOverTLSTrustOnlyTheBundlesAuthority() async throws {
        let scratch = try Scratch()
        let certificates = try TestCertificates(in: scratch)
        let moto = try MotoServer(scratch: scratch, tls: certificates)
        defer { moto.stop() }
        let (keys, signed) = try moto.signedUser(bucket: "sluice-tls", in: scratch)
        // S3 by host name (checked against the certificate's DNS entry, sent in SNI), Step Functions by address
        // (checked against its IP entry).
        let address = "https://127.0.0.1:\(moto.port)"
        var aws = signed.merging(["AWS_ENDPOINT_URL": address, "AWS_CA_BUNDLE": certificates.authority]) { $1 }
        #expect(aws["AWS_ENDPOINT_URL_S3"] == "https://localhost:\(moto.port)")

        // Sluice writes over TLS, boto3 (trusting the same authority) reads, and back.
        try scratch.write("rows.csv", "a,b\n1,2\n")
        let upload = try await sluiceOffThePool(
            ["s3", "cp", "rows.csv", "s3://sluice-tls/in/rows.csv"], in: scratch, aws: aws)
        #expect(upload.status == 0, "\(upload.errors)")
        #expect(try moto.boto(["cat", "sluice-tls", "in/rows.csv"], keys: keys, in: scratch) == "a,b\n1,2")
        let download = try await sluiceOffThePool(
            ["s3", "cp", "s3://sluice-tls/in/rows.csv", "back.csv"], in: scratch, aws: aws)
        #expect(download.status == 0, "\(download.errors)")
        #expect(scratch.read("back.csv") == "a,b\n1,2\n")

        // The Step Functions API over TLS: deploy creates the machine, start starts it, status reads it.
        for (name, text) in MotoExecutionTests.modules { try scratch.write(name, text) }
        try scratch.write("pipeline.yaml", MotoExecutionTests.pipeline)
        let deploy = try await sluiceOffThePool(
            [
                "aws", "deploy", "pipeline.yaml", "--stack", "tls", "--role", "arn:aws:iam::123456789012:role/sluice",
                "--set", "FunctionScore=score", "--set", "ApprovalFunction=approval",
                "--set", "ArtifactBucket=sluice-tls",
            ], in: scratch, aws: aws)
        #expect(deploy.status == 0, "\(deploy.errors)")
        #expect(deploy.output.contains("created state machine arn:aws:states:"), "\(deploy.output)")
        let start = try await sluiceOffThePool(
            ["aws", "start", "pipeline.yaml", "--stack", "tls", "--name", "over-tls"], in: scratch, aws: aws)
        #expect(start.status == 0, "\(start.errors)")
        let execution = start.output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(execution.hasSuffix(":tls:over-tls"), "\(start.output)")
        let status = try await sluiceOffThePool(["aws", "status", execution], in: scratch, aws: aws)
        #expect(status.status == 0, "\(status.errors)")
        #expect(status.output.contains("execution over-tls"), "\(status.output)")

        // Another authority's bundle: refused, naming the endpoint and the bundle.
        aws["AWS_CA_BUNDLE"] = certificates.otherAuthority
        let wrongS3 = try await sluiceOffThePool(["s3", "ls", "s3://sluice-tls"], in: scratch, aws: aws)
        #expect(wrongS3.status != 0)
        #expect(wrongS3.errors.contains("https://localhost:\(moto.port)"), "\(wrongS3.errors)")
        #expect(
            wrongS3.errors.contains("certificate is not signed by a certificate authority this client trusts"),
            "\(wrongS3.errors)")
        #expect(wrongS3.errors.contains(certificates.otherAuthority), "\(wrongS3.errors)")
        let wrongSFN = try await sluiceOffThePool(["aws", "status", execution], in: scratch, aws: aws)
        #expect(wrongSFN.status != 0)
        #expect(wrongSFN.errors.contains(address), "\(wrongSFN.errors)")
        #expect(wrongSFN.errors.contains("not signed by a certificate authority"), "\(wrongSFN.errors)")

        // No bundle: the system's authorities do not know the test's, and the message says how to trust it.
        aws["AWS_CA_BUNDLE"] = nil
        let system = try await sluiceOffThePool(["s3", "ls", "s3://sluice-tls"], in: scratch, aws: aws)
        #expect(system.status != 0)
        #expect(system.errors.contains("set AWS_CA_BUNDLE to that authority's PEM file"), "\(system.errors)")

        // A bundle that is not a PEM file is named before anything is sent.
        try scratch.write("not-a-bundle.pem", "hello\n")
        aws["AWS_CA_BUNDLE"] = scratch.path + "/not-a-bundle.pem"
        let unreadable = try await sluiceOffThePool(["s3", "ls", "s3://sluice-tls"], in: scratch, aws: aws)
        #expect(unreadable.status != 0)
        #expect(unreadable.errors.contains("AWS_CA_BUNDLE"), "\(unreadable.errors)")
        #expect(unreadable.errors.contains(scratch.path + "/not-a-bundle.pem"), "\(unreadable.errors)")
    }
}
