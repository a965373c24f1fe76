import Foundation
import SluiceTesting
import Testing

/// W4, the seed's pipeline, through the binary against moto's S3 server (signatures checked): boto3 puts the
/// synthetic churn data where the seed says, Sluice runs the pipeline, boto3 reads the predictions back.
@Suite struct MotoWorkflowTests {
    static let batchFiles = ["part-1.csv", "part-2.csv"]
    static let dataSet = "s3://ml-pipeline-xgboost/data/customer-churn.csv"

    /// A copy of the examples W4 needs, laid out as in the repository, with the modules published.
    static func prepare(_ scratch: Scratch) throws {
        for folder in ["seed-000", "modules", "w4-xgboost"] {
            try FileManager.default.createDirectory(
                atPath: "\(scratch.path)/examples", withIntermediateDirectories: true)
            try FileManager.default.copyItem(
                atPath: "\(repository)/examples/\(folder)", toPath: "\(scratch.path)/examples/\(folder)")
        }
        let published = try sluice(["modules", "publish", "examples/seed-000", "examples/modules"], in: scratch)
        #expect(published.status == 0, "\(published.output)\(published.errors)")
    }

    static func executionID(_ output: String) throws -> String {
        try #require(output.firstMatch(of: /execution (\S+)  XGBoostTrainingPipeline/), "\(output)").output.1
            .description
    }

    /// The cause `sluice show ID` records for the error of `step`.
    static func stepError(_ id: String, _ step: String, in scratch: Scratch, aws: [String: String]) throws -> String {
        let shown = try sluice(["show", id, "--format", "json"], in: scratch, aws: aws)
        let detail = try JSONSerialization.jsonObject(with: Data(shown.output.utf8)) as? [String: Any]
        let steps = detail?["steps"] as? [[String: Any]] ?? []
        let error = steps.first { $0["name"] as? String == step }?["error"]
        return (error as? [String: Any])?["cause"] as? String ?? "\(error ?? "")"
    }

    @Test func w4ReadsAndWritesARealS3API() async throws {
        try await onOwnThread {
            let scratch = try Scratch()
            let moto = try MotoServer(scratch: scratch)
            defer { moto.stop() }
            let (keys, aws) = try moto.signedUser(bucket: "ml-pipeline-xgboost", in: scratch)
            _ = try moto.boto(["make-bucket", "ml-pipeline"], keys: keys, in: scratch)
            try Self.prepare(scratch)

            // boto3 puts the data where the seed's loader and batch transform read it.
            let data = "\(scratch.path)/examples/w4-xgboost/data"
            _ = try moto.boto(
                ["upload", "ml-pipeline-xgboost", "data/customer-churn.csv", "\(data)/customer-churn.csv"], keys: keys,
                in: scratch)
            for file in Self.batchFiles {
                _ = try moto.boto(
                    ["upload", "ml-pipeline-xgboost", "data/batch/\(file)", "\(data)/batch/\(file)"], keys: keys,
                    in: scratch)
            }

            // A wrong secret: the first step cannot read its data, and says which object, why and what to check.
            var wrong = aws
            wrong["AWS_SECRET_ACCESS_KEY"] = "not-the-secret"
            let refused = try sluice(["run", "examples/w4-xgboost/pipeline.yaml"], in: scratch, aws: wrong)
            #expect(refused.status != 0)
            let refusedError = try Self.stepError(
                try Self.executionID(refused.output), "Generate Data Set", in: scratch, aws: aws)
            #expect(
                refusedError.contains("\(Self.dataSet): HeadObject failed (HTTP 403 SignatureDoesNotMatch)"),
                "\(refusedError)")
            #expect(refusedError.contains("AWS_SECRET_ACCESS_KEY"), "\(refusedError)")

            // The right keys: the whole pipeline runs, and boto3 reads one prediction per batch row.
            let run = try sluice(["run", "examples/w4-xgboost/pipeline.yaml"], in: scratch, aws: aws)
            #expect(run.status == 0, "\(run.output)\n\(run.errors)")
            let id = try Self.executionID(run.output)
            let written = try moto.boto(["list", "ml-pipeline-xgboost", "\(id)/"], keys: keys, in: scratch)
                .split(separator: "\n").map(String.init)
            #expect(
                written.sorted()
                    == (["data-set/test.csv", "data-set/train.csv", "data-set/validation.csv"]
                    + Self.batchFiles.map { "predictions/\($0).out" }).map { "\(id)/\($0)" }.sorted())
            var all: [Double] = []
            for file in Self.batchFiles {
                let rows = try String(contentsOfFile: "\(data)/batch/\(file)", encoding: .utf8)
                    .split(separator: "\n")
                let values = try moto.boto(
                    ["cat", "ml-pipeline-xgboost", "\(id)/predictions/\(file).out"], keys: keys, in: scratch
                ).split(separator: "\n").map { try #require(Double($0), "\($0)") }
                #expect(values.count == rows.count, "\(file): \(values.count) predictions for \(rows.count) rows")
                #expect(values.allSatisfy { $0 >= 0 && $0 <= 1 }, "\(file): \(values)")
                all += values
            }
            #expect(Set(all).count > 1)
            let model = try moto.boto(["list", "ml-pipeline", "\(id)/models/"], keys: keys, in: scratch)
            #expect(model.contains("\(id)/models/xgboost-model.json"), "\(model)")

            // The data set gone: the run names the object it could not find.
            _ = try moto.boto(["delete", "ml-pipeline-xgboost", "data/customer-churn.csv"], keys: keys, in: scratch)
            let missing = try sluice(["run", "examples/w4-xgboost/pipeline.yaml"], in: scratch, aws: aws)
            #expect(missing.status != 0)
            let missingError = try Self.stepError(
                try Self.executionID(missing.output), "Generate Data Set", in: scratch, aws: aws)
            #expect(
                missingError.contains(
                    "\(Self.dataSet): GetObject failed: no object 'data/customer-churn.csv' and no objects under"),
                "\(missingError)")
            #expect(missingError.contains("sluice s3 cp FILE \(Self.dataSet)"), "\(missingError)")
        }
    }
}
