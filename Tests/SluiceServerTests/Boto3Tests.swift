import Foundation
import SluiceServer
import SluiceServing
import SluiceTesting
import Testing

/// boto3's own `sagemaker-runtime` client against a live Sluice server.
@Suite struct Boto3Tests {
    /// Whether `python3` on the PATH can import boto3.
    static let boto3Available: Bool = {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import boto3"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }()

    private static let script = #"""
        import json, sys
        import boto3, botocore.exceptions
        client = boto3.client("sagemaker-runtime", endpoint_url=sys.argv[1], region_name="us-east-1")
        out = {}
        r = client.invoke_endpoint(EndpointName="w1", ContentType="text/csv", Body=b"1,2\n3,1\n")
        out["csv"] = [r["Body"].read().decode(), r["ContentType"], r["InvokedProductionVariant"]]
        r = client.invoke_endpoint(EndpointName="w1", ContentType="application/json", Body=b"[[1.5,0.25]]",
                                   TargetVariant="B")
        out["json"] = [r["Body"].read().decode(), r["ContentType"], r["InvokedProductionVariant"]]
        try:
            client.invoke_endpoint(EndpointName="abalone", ContentType="application/json", Body=b"[[1,2]]")
            out["error"] = None
        except botocore.exceptions.ClientError as e:
            out["error"] = [e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"],
                            e.response["Error"]["Message"]]
        print(json.dumps(out))
        """#

    @Test(.enabled(if: boto3Available, "python3 with boto3 is not installed: `pip install boto3` to run this test"))
    func invokeEndpointWithBoto3() async throws {
        let (service, _, _) = makeService()
        try await withLiveServer(service) { base in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", "-c", Self.script, base.absoluteString]
            var environment = ProcessInfo.processInfo.environment
            environment["AWS_ACCESS_KEY_ID"] = "sluice-test"
            environment["AWS_SECRET_ACCESS_KEY"] = "sluice-test"
            environment["AWS_DEFAULT_REGION"] = "us-east-1"
            environment["AWS_EC2_METADATA_DISABLED"] = "true"
            process.environment = environment
            let (data, errorText) = try await runOffThePool(process)
            #expect(process.terminationStatus == 0, "\(errorText)")
            let result = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "\(errorText)")
            let csv = try #require(result["csv"] as? [String])
            #expect(csv[0] == "0.5\n5.5\n" && csv[1] == "text/csv" && ["A", "B"].contains(csv[2]))
            #expect(result["json"] as? [String] == [#"{"predictions":[3.25]}"#, "application/json", "B"])
            let error = try #require(result["error"] as? [Any])
            #expect(error[0] as? Int == 415 && error[1] as? String == "UnsupportedMediaType")
            #expect(error[2] as? String == "Invalid request data type, only 'text/csv' is supported.")
        }
    }
}
