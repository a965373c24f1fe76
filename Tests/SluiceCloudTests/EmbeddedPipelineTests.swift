import Foundation
import Testing

/// With no AWS configuration, `s3://` means the embedded folders, through `sluice s3` and pipelines alike.
@Suite struct EmbeddedPipelineTests {
    @Test func anUnchangedObjectIsACacheHitAndOutputsLandInTheEmbeddedStore() throws {
        let scratch = try Scratch()
        try scratch.write("data.csv", "id,churn\n1,no\n")
        let put = try sluice(["s3", "cp", "data.csv", "s3://ml-data/in/data.csv"], in: scratch)
        #expect(put.status == 0, "\(put.errors)")
        #expect(scratch.read(".sluice/s3/ml-data/in/data.csv") == "id,churn\n1,no\n")
        // Object to object.
        let copied = try sluice(["s3", "cp", "s3://ml-data/in/data.csv", "s3://ml-copy/b.csv"], in: scratch)
        #expect(copied.status == 0, "\(copied.errors)")
        #expect(scratch.read(".sluice/s3/ml-copy/b.csv") == "id,churn\n1,no\n")
        // Every placeholder an output location may name: pipeline, step, attempt and the execution (two spellings).
        try writeUpperCasePipeline(
            in: scratch, input: "s3://ml-data/in/data.csv",
            output: "s3://ml-out/{pipeline.name}/{step.name}/{attempt}/{execution.id}/{job-execution-name}/result")

        let first = try sluice(["run", "pipeline.yaml"], in: scratch)
        #expect(first.status == 0, "\(first.output)\n\(first.errors)")
        #expect(!first.output.contains("(cache hit)"))
        let listed = try sluice(["s3", "ls", "s3://ml-out"], in: scratch)
        let results = listed.output.split(separator: "\n").filter { $0.hasSuffix("/result/upper.csv") }
        #expect(results.count == 1)
        let key = try #require(results.first?.split(separator: " ").last).dropFirst("s3://ml-out/".count)
        #expect(scratch.read(".sluice/s3/ml-out/\(key)") == "ID,CHURN\n1,NO\n")
        let id = try #require(first.output.firstMatch(of: /execution (\S+)  UpperCase/)?.output.1, "\(first.output)")
        #expect(key == "UpperCase/Upper/1/\(id)/\(id)/result/upper.csv", "\(key)")

        let second = try sluice(["run", "pipeline.yaml"], in: scratch)
        #expect(second.status == 0)
        #expect(second.output.contains("(cache hit)"))

        // A changed object is new content: the step runs again.
        try scratch.write("data.csv", "id,churn\n2,yes\n")
        _ = try sluice(["s3", "cp", "data.csv", "s3://ml-data/in/data.csv"], in: scratch)
        let third = try sluice(["run", "pipeline.yaml"], in: scratch)
        #expect(third.status == 0)
        #expect(!third.output.contains("(cache hit)"))
    }

    @Test func aMissingInputFailsTheStepNamingItsURI() throws {
        let scratch = try Scratch()
        try writeUpperCasePipeline(
            in: scratch, input: "s3://ml-data/in/absent.csv", output: "s3://ml-out/{job-execution-name}/result")
        let run = try sluice(["run", "pipeline.yaml"], in: scratch)
        #expect(run.status != 0)
        #expect((run.output + run.errors).contains("s3://ml-data/in/absent.csv"))
    }
}
