import Foundation
import SluiceCloud
import SluiceCore
import SluiceTesting
import Testing

/// `sluice s3` and `s3://` steps against moto's S3 server, with boto3 on the other side and signatures checked.
@Suite(.serialized) struct MotoS3Tests {
    @Test func sluiceAndBoto3ShareObjectsThroughARealS3API() async throws {
        let scratch = try Scratch()
        let moto = try MotoServer(scratch: scratch)
        defer { moto.stop() }
        let (keys, aws) = try moto.signedUser(bucket: "sluice-moto", in: scratch)

        // boto3 writes, Sluice reads.
        try scratch.write("from-boto.csv", "id,churn\n1,no\n2,yes\n")
        _ = try moto.boto(["upload", "sluice-moto", "data/from-boto.csv", "from-boto.csv"], keys: keys, in: scratch)
        let download = try sluice(
            ["s3", "cp", "s3://sluice-moto/data/from-boto.csv", "got.csv"], in: scratch, aws: aws)
        #expect(download.status == 0, "\(download.errors)")
        #expect(scratch.read("got.csv") == "id,churn\n1,no\n2,yes\n")

        // Sluice writes, boto3 reads.
        try scratch.write("from-sluice.csv", "a,b\n3,4\n")
        let upload = try sluice(["s3", "cp", "from-sluice.csv", "s3://sluice-moto/up/"], in: scratch, aws: aws)
        #expect(upload.status == 0, "\(upload.errors)")
        _ = try moto.boto(["download", "sluice-moto", "up/from-sluice.csv", "back.csv"], keys: keys, in: scratch)
        #expect(scratch.read("back.csv") == "a,b\n3,4\n")
        // The object went up with its CRC-32, which moto keeps as sent: the same as zlib's.
        #expect(
            try moto.boto(["checksum", "sluice-moto", "up/from-sluice.csv"], keys: keys, in: scratch)
                == moto.boto(["crc32", "from-sluice.csv"], keys: keys, in: scratch))

        let listing = try sluice(["s3", "ls", "s3://sluice-moto"], in: scratch, aws: aws)
        #expect(listing.output.contains("s3://sluice-moto/data/from-boto.csv"))
        #expect(listing.output.contains("s3://sluice-moto/up/from-sluice.csv"))

        // A wrong secret is refused with the store's 403 and what to check.
        var wrong = aws
        wrong["AWS_SECRET_ACCESS_KEY"] = "not-the-secret"
        let refused = try sluice(["s3", "cp", "s3://sluice-moto/data/from-boto.csv", "x.csv"], in: scratch, aws: wrong)
        #expect(refused.status == 1)
        #expect(
            refused.errors.contains(
                "s3://sluice-moto/data/from-boto.csv: GetObject failed (HTTP 403 SignatureDoesNotMatch)"))
        #expect(refused.errors.contains("AWS_SECRET_ACCESS_KEY"))

        // A missing object and a missing bucket name themselves.
        let missing = try sluice(["s3", "cp", "s3://sluice-moto/data/nothing.csv", "x.csv"], in: scratch, aws: aws)
        #expect(missing.status == 1)
        #expect(missing.errors.contains("s3://sluice-moto/data/nothing.csv: GetObject failed (HTTP 404 NoSuchKey)"))
        let noBucket = try sluice(["s3", "ls", "s3://no-such-bucket-here"], in: scratch, aws: aws)
        #expect(noBucket.status == 1)
        #expect(noBucket.errors.contains("no bucket 'no-such-bucket-here'"))

        // Nothing listening: the endpoint and the fix.
        var nowhere = aws
        let closedPort = try #require(LoopbackPort.free())
        nowhere["AWS_ENDPOINT_URL_S3"] = "http://127.0.0.1:\(closedPort)"
        let unreachable = try sluice(["s3", "ls", "s3://sluice-moto"], in: scratch, aws: nowhere)
        #expect(unreachable.status == 1)
        #expect(unreachable.errors.contains("cannot connect to http://127.0.0.1:\(closedPort)"))
        #expect(unreachable.errors.contains("AWS_ENDPOINT_URL_S3"))

        // The same keys sign a JSON API call to another service (Step Functions) through the shared transport.
        let configuration = try AWSConfiguration(environment: aws.merging(["HOME": scratch.path]) { $1 })
        let stepFunctions = try AWSHTTPClient(
            configuration: configuration.with(endpoint: moto.endpoint), serviceID: "SFN", signingName: "states",
            hostPrefix: "states")
        let listed = try await stepFunctions.send(
            AWSRequest(
                method: "POST", path: "/",
                headers: [
                    ("Content-Type", "application/x-amz-json-1.0"),
                    ("X-Amz-Target", "AWSStepFunctions.ListStateMachines"),
                ]), body: Array("{}".utf8))
        #expect(listed.status == 200, "\(listed.text)")
        #expect(listed.text.contains("stateMachines"))

        // A pipeline reads an s3:// input and writes its output under an s3:// template.
        try writeUpperCasePipeline(
            in: scratch, input: "s3://sluice-moto/data/from-boto.csv",
            output: "s3://sluice-moto/{job-execution-name}/result")
        let run = try sluice(["run", "pipeline.yaml"], in: scratch, aws: aws)
        #expect(run.status == 0, "\(run.output)\n\(run.errors)")
        let keysListed = try sluice(["s3", "ls", "s3://sluice-moto/"], in: scratch, aws: aws).output
        let resultKey = try #require(
            keysListed.split(separator: "\n").compactMap { $0.split(separator: " ").last }
                .first { $0.hasSuffix("/result/upper.csv") })
        let key = String(resultKey.dropFirst("s3://sluice-moto/".count))
        _ = try moto.boto(["download", "sluice-moto", key, "result.csv"], keys: keys, in: scratch)
        #expect(scratch.read("result.csv") == "ID,CHURN\n1,NO\n2,YES\n")
    }

    @Test func aHundredMegabytesGoUpInPartsAndComeBackIdentical() throws {
        let scratch = try Scratch()
        let moto = try MotoServer(scratch: scratch)
        defer { moto.stop() }
        let (keys, aws) = try moto.signedUser(bucket: "sluice-big", in: scratch)

        try writeNoise(bytes: 100_000_000, to: "\(scratch.path)/big.bin")
        let expected = try moto.boto(["sha256", "big.bin"], keys: keys, in: scratch)
        let upload = try sluice(["s3", "cp", "big.bin", "s3://sluice-big/blobs/big.bin"], in: scratch, aws: aws)
        #expect(upload.status == 0, "\(upload.errors)")
        // A multipart object's ETag ends in -<parts>: 100 MB in 8 MiB parts is 12 parts.
        let etag = try moto.boto(["etag", "sluice-big", "blobs/big.bin"], keys: keys, in: scratch)
        #expect(etag.hasSuffix("-12\""), "ETag \(etag)")
        // The upload declared CRC-32 checksums, so the store built the object's from its twelve parts'.
        #expect(
            try moto.boto(["checksum", "sluice-big", "blobs/big.bin"], keys: keys, in: scratch)
                == moto.boto(["crc32", "big.bin", String(8 << 20)], keys: keys, in: scratch))
        #expect(
            try moto.boto(["download", "sluice-big", "blobs/big.bin", "boto.bin"], keys: keys, in: scratch) == expected)
        let download = try sluice(["s3", "cp", "s3://sluice-big/blobs/big.bin", "again.bin"], in: scratch, aws: aws)
        #expect(download.status == 0, "\(download.errors)")
        #expect(download.output.contains("(100000000 bytes, sha256:\(expected))"))
        #expect(try moto.boto(["sha256", "again.bin"], keys: keys, in: scratch) == expected)
    }
}

/// Writes `bytes` of pseudo-random data (SplitMix64), so no part of it repeats another.
func writeNoise(bytes: Int, to path: String) throws {
    FileManager.default.createFile(atPath: path, contents: nil)
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    defer { try? handle.close() }
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    var written = 0
    var block = [UInt64](repeating: 0, count: 1 << 17)
    while written < bytes {
        for index in block.indices {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            block[index] = z ^ (z >> 31)
        }
        let count = min(block.count * 8, bytes - written)
        try block.withUnsafeBytes { try handle.write(contentsOf: Data($0.prefix(count))) }
        written += count
    }
}

extension AWSConfiguration {
    /// This configuration with every service at `endpoint`.
    func with(endpoint: String) -> AWSConfiguration {
        var copy = self
        copy.endpoint = endpoint
        return copy
    }
}
