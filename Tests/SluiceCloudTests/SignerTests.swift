import Foundation
import Testing

@testable import SluiceCloud

/// The Signature Version 4 signer against AWS's published vectors.
@Suite struct SignerTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "Fixtures/sigv4"
    ).path
    static let names = ((try? FileManager.default.contentsOfDirectory(atPath: fixtures)) ?? [])
        .filter { $0.hasSuffix(".req") }.map { String($0.dropLast(4)) }.sorted()

    /// Parses a raw `.req` file of the suite: request line, `Name:value` headers (repeated names kept), body.
    static func parse(_ text: String) -> (AWSRequest, body: String) {
        let lines = text.components(separatedBy: "\n")
        let requestLine = lines[0].split(separator: " ")
        let target = requestLine[1...].dropLast().joined(separator: " ")
        let pathEnd = target.firstIndex(of: "?") ?? target.endIndex
        var query: [(name: String, value: String)] = []
        if pathEnd < target.endIndex {
            for pair in target[target.index(after: pathEnd)...].split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                query.append((String(parts[0]), parts.count > 1 ? String(parts[1]) : ""))
            }
        }
        var headers: [(name: String, value: String)] = []
        var index = 1
        while index < lines.count, !lines[index].isEmpty {
            let line = lines[index]
            let colon = line.firstIndex(of: ":")!
            headers.append((String(line[..<colon]), String(line[line.index(after: colon)...])))
            index += 1
        }
        let body = index + 1 < lines.count ? lines[(index + 1)...].joined(separator: "\n") : ""
        return (
            AWSRequest(
                method: String(requestLine[0]), path: String(target[..<pathEnd]), query: query, headers: headers),
            body
        )
    }

    @Test func theSuiteHasTheVectors() {
        #expect(Self.names.count == 16)
    }

    @Test(arguments: names) func signsLikeTheAWSTestSuite(_ name: String) throws {
        let read = { (suffix: String) in
            try String(contentsOfFile: "\(Self.fixtures)/\(name).\(suffix)", encoding: .utf8)
        }
        let (request, body) = Self.parse(try read("req"))
        let signer = AWSSigner(
            credentials: AWSCredentials(
                accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            region: "us-east-1", service: "service")
        let payloadHash = AWSSigner.payloadHash(Array(body.utf8))
        #expect(AWSSigner.canonicalRequest(request, payloadHash: payloadHash).0 == (try read("creq")))
        let signed = signer.sign(request, payloadHash: payloadHash, date: Date(timeIntervalSince1970: 0))
        #expect(signed.header("Authorization") == (try read("authz")))
    }

    /// S3's own examples (Amazon S3 API reference, "Signature calculations for the Authorization header"): GetObject
    /// with a range and ListObjects, signed for `s3` with the example bucket's keys.
    @Test func signsTheS3DeveloperGuideExamples() {
        let signer = AWSSigner(
            credentials: AWSCredentials(
                accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            region: "us-east-1", service: "s3")
        let date = Date(timeIntervalSince1970: 1_369_353_600)  // 2013-05-24T00:00:00Z
        #expect(AWSSigner.timestamp(date) == "20130524T000000Z")
        let hash = AWSSigner.emptyPayloadHash
        let get = signer.sign(
            AWSRequest(
                method: "GET", path: "/test.txt",
                headers: [
                    ("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9"), ("x-amz-content-sha256", hash),
                ]), payloadHash: hash, date: date)
        #expect(
            get.header("Authorization")
                == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        let list = signer.sign(
            AWSRequest(
                method: "GET", path: "/", query: [("prefix", "J"), ("max-keys", "2")],
                headers: [("Host", "examplebucket.s3.amazonaws.com"), ("x-amz-content-sha256", hash)]),
            payloadHash: hash, date: date)
        #expect(
            list.header("Authorization")?.hasSuffix(
                "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7") == true)
        #expect(list.target == "/?max-keys=2&prefix=J")
    }

    /// Temporary credentials add a signed `X-Amz-Security-Token`; an unsigned payload is signed as the literal.
    @Test func sessionTokensAndUnsignedPayloads() {
        let credentials = AWSCredentials(accessKeyID: "AKID", secretAccessKey: "secret", sessionToken: "token/1")
        let signer = AWSSigner(credentials: credentials, region: "eu-west-1", service: "s3")
        let request = AWSRequest(method: "PUT", path: "/bucket/a key/ü.csv", headers: [("Host", "127.0.0.1:9000")])
        let signed = signer.sign(request, payloadHash: AWSSigner.unsignedPayload, date: Date(timeIntervalSince1970: 0))
        #expect(signed.header("X-Amz-Security-Token") == "token/1")
        #expect(signed.header("Authorization")?.contains("SignedHeaders=host;x-amz-date;x-amz-security-token,") == true)
        #expect(signed.header("Authorization")?.contains("/19700101/eu-west-1/s3/aws4_request") == true)
        #expect(signed.target == "/bucket/a%20key/%C3%BC.csv")
        let canonical = AWSSigner.canonicalRequest(signed, payloadHash: AWSSigner.unsignedPayload).0
        #expect(canonical.hasSuffix("\nUNSIGNED-PAYLOAD"))
        let other = AWSSigner(
            credentials: AWSCredentials(accessKeyID: "AKID", secretAccessKey: "other", sessionToken: "token/1"),
            region: "eu-west-1", service: "s3")
        #expect(
            other.sign(request, payloadHash: AWSSigner.unsignedPayload, date: Date(timeIntervalSince1970: 0))
                .header("Authorization") != signed.header("Authorization"))
    }
}
