import Foundation
import SluiceCloud
import SluiceCore
import SluiceSpec
import SluiceTesting
import Testing

/// Exported state machines run in moto's Step Functions simulation, created and started by `sluice aws`.
///
/// Workarounds for moto's limits, in the test harness only (the exported files stay what AWS needs):
/// `Fixtures/moto/server.py` lists the stand-ins (SageMaker `.sync` jobs, Wait states, Lambda answers, S3 bodies);
/// `Fixtures/moto/setup.py` creates what the exported template would (role, functions, bucket, model package groups),
/// since moto's CloudFormation drops an object-form `Definition` and its machines are not executable; and the reports a
/// Choice reads are uploaded before each execution, as no job runs to write them. The machine below (used by
/// `AWSCommandTests` too) has no SageMaker step, and moto's Lambda without Docker never fails, so its Retry-then-Catch
/// path uses a Glue job that does not exist (`Glue.EntityNotFoundException` on each attempt).
@Suite("Exported machines in moto")
struct MotoExecutionTests {
    static let modules = [
        "score.yaml": """
        name: Score
        type: Lambda
        inputs:
          - name: value
            type: JSON
        outputs:
          - name: value
            type: JSON
        """,
        "crunch.yaml": """
        name: Crunch
        type: Glue
        cloud:
          job_name: no-such-glue-job
        inputs:
          - name: value
            type: JSON
        outputs:
          - name: result
            type: DataUri
        """,
    ]

    static let pipeline = """
        name: GateFanOutApprove
        parameters:
          - name: Score
            type: Float
            default: 0.9
          - name: Threshold
            type: Float
            default: 0.5
          - name: Items
            type: JSON
            default: [1, 2, 3]
        Steps:
          StartsAt: Score
          Score:
            Type: Task
            Module: Score
            Inputs:
              value: $.parameters.Score
            Next: Gate
          Gate:
            Type: Condition
            Condition: $.steps.Score.outputs.value >= $.parameters.Threshold
            Then: [Fan Out]
            Else: [Too Low]
          Too Low:
            Type: Fail
            Error: Gate.Rejected
            Message: "score {parameters.Score} is below {parameters.Threshold}"
          Fan Out:
            Type: Map
            Items: $.parameters.Items
            Module: Score
            Inputs:
              value: $.item
            Next: Approve
          Approve:
            Type: Approval
            Message: "Approve {execution.name}?"
            Next: Crunch
          Crunch:
            Type: Task
            Module: Crunch
            Inputs:
              value: 1
            Retry:
              - ErrorEquals: [States.ALL]
                IntervalSeconds: 1
                MaxAttempts: 1
            Catch:
              - ErrorEquals: [States.ALL]
                Next: Recover
            End: true
          Recover:
            Type: Task
            Module: Score
            Inputs:
              value: recovered
            End: true
        """

    /// The reports each example's Choice reads, by pipeline (relative to `examples/`), as its evaluation job would
    /// write them: values that take the branch which registers the model.
    static let reports: [String: JSONValue] = [
        "w1-diabetes/pipeline.yaml": ["Evaluate/metrics": ["regression_metrics": ["r2": ["value": 0.9]]]],
        "w1-diabetes/deploy-pipeline.yaml": ["Evaluate/metrics": ["regression_metrics": ["r2": ["value": 0.9]]]],
        "w2-abalone/pipeline.yaml": ["Evaluate/metrics": ["regression_metrics": ["mse": ["value": 4.0]]]],
        "w2-abalone/staged-pipeline.yaml": ["Evaluate/metrics": ["regression_metrics": ["rmse": ["value": 1.0]]]],
    ]

    /// Every example pipeline's exported machine, unchanged but for its placeholders, is created by `sluice aws
    /// deploy`, started by `sluice aws start` and followed by `sluice aws status --follow` to a successful end in moto
    /// (`Fixtures/moto/server.py` lists the stand-ins for what moto does not simulate): every step of the path it
    /// takes is entered, each approval it waits at is answered by `sluice aws approve`, and no task fails.
    @Test func everyExampleMachineIsDeployedStartedAndRunToItsEndBySluice() async throws {
        let folder = try AWSTools.temporaryFolder("moto-examples")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        struct Example {
            var path: String
            var pipeline: Pipeline
            var placeholders: [String]
            var execution: String
        }
        var examples: [Example] = []
        var functions: Set<String> = []
        var groups: Set<String> = []
        var objects = ["inputs/incoming/a.csv", "inputs/incoming/b.csv", "inputs/incoming/notes.txt"].map {
            "sluice-artifacts/\($0)=x\n1\n"
        }
        for (index, path) in AWSTools.examplePipelines.enumerated() {
            let pipeline = try AWSTools.load(path)
            let export = try #require(StepFunctionsExporter.export(pipeline).export, "\(path)")
            let example = Example(
                path: path, pipeline: pipeline, placeholders: export.substitutions.keys.sorted(),
                execution: "example-\(index)")
            functions.formUnion(example.placeholders.compactMap(Self.functionName))
            groups.formUnion(Self.packageGroups(in: export.definition))
            let relative = String(path.dropFirst(AWSTools.packageRoot.count + "/examples/".count))
            for (place, report) in Self.reports[relative]?.object ?? [:] {
                objects.append("sluice-artifacts/runs/\(example.execution)/\(place)/value.json=\(report.canonicalJSON)")
            }
            examples.append(example)
        }
        #expect(examples.count >= 9)
        // The data loader answers with where it left the data set (W4 and seed 000 train from it).
        let moto = try await MotoStepFunctions(
            folder: folder,
            answers: ["s3csvdataloader": ["S3OutputArtifactUri": "s3://sluice-artifacts/inputs/churn/"]],
            setup: functions.sorted().flatMap { ["--function", $0] } + groups.sorted().flatMap { ["--group", $0] }
                + objects.flatMap { ["--object", $0] } + ["--bucket", "sluice-artifacts"])
        defer { moto.stop() }
        let environment = moto.environment(folder: folder).merging(["SLUICE_HOME": folder + "/home"]) { $1 }
        func sluice(_ arguments: [String]) async throws -> (status: Int32, output: String, error: String) {
            try await AWSTools.run(SluiceBinary.path, arguments, environment: environment, in: folder)
        }
        // W4 and seed 000 name their modules by id in the catalog, as the README publishes them.
        let published = try await sluice(
            ["modules", "publish"] + ExampleCatalog.publishedFolders.map { AWSTools.packageRoot + "/examples/" + $0 })
        try #require(published.status == 0, "\(published.error)")

        let values = [
            "ArtifactBucket": "sluice-artifacts", "SageMakerRoleArn": moto.role, "NotificationTopicArn": moto.topic,
            "SluiceImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/sluice:latest",
        ]
        var followers: [(example: Example, arn: String, follower: AWSCommandTests.Follower)] = []
        defer { for (_, _, follower) in followers { follower.stop() } }
        for example in examples {
            let stack = example.execution
            var arguments = ["aws", "deploy", example.path, "--stack", stack, "--role", moto.role]
            for name in example.placeholders where name != "Region" {
                let value = try #require(
                    values[name] ?? Self.functionName(name), "\(example.path): no value for \(name)")
                arguments += ["--set", "\(name)=\(value)"]
            }
            let deployed = try await sluice(arguments)
            try #require(deployed.status == 0, "\(example.path): \(deployed.error)")
            if example.path.hasSuffix("w1-diabetes/batch-pipeline.yaml") {
                // Its input folder is where files land later: nothing to upload yet, and deploy says where they go.
                #expect(
                    deployed.error.contains(
                        "/incoming: nothing there to upload; the machine reads s3://sluice-artifacts/inputs/incoming,"),
                    "\(deployed.error)")
            }
            let started = try await sluice([
                "aws", "start", example.path, "--stack", stack, "--name", example.execution,
            ])
            try #require(started.status == 0, "\(example.path): \(started.error)")
            let arn = started.output.trimmingCharacters(in: .whitespacesAndNewlines)
            let follower = try AWSCommandTests.Follower(
                arguments: ["aws", "status", arn, "--follow", "--interval", "0.5"], environment: environment,
                folder: folder)
            followers.append((example, arn, follower))
        }

        // The executions run side by side; each approval they wait at is answered as it is asked for.
        var approved: [String: [String: Int]] = [:]
        let deadline = ContinuousClock.now + .seconds(300)
        while followers.contains(where: { $0.follower.process.isRunning }), ContinuousClock.now < deadline {
            for (example, arn, follower) in followers {
                var asked: [String: Int] = [:]
                for line in follower.output.split(separator: "\n") {
                    if line.hasPrefix("    "), let end = line.range(of: " waits for approval: ") {
                        asked[String(line[line.index(line.startIndex, offsetBy: 4)..<end.lowerBound]), default: 0] += 1
                    }
                }
                for (step, count) in asked where count > approved[example.execution]?[step] ?? 0 {
                    let answer = try await sluice(["aws", "approve", arn, step])
                    #expect(answer.status == 0, "\(arn): \(answer.error)")
                    approved[example.execution, default: [:]][step] = count
                }
            }
            try await Task.sleep(for: .milliseconds(200))
        }

        for (example, _, follower) in followers {
            let pipeline = example.pipeline
            let status = try await follower.wait()
            let output = follower.output
            let lines = output.split(separator: "\n").map(String.init)
            #expect(status == 0, "\(pipeline.name): \(output)")
            #expect(lines.last == "execution \(example.execution)  SUCCEEDED", "\(pipeline.name): \(output)")
            #expect(!output.contains("attempt failed"), "\(pipeline.name): \(output)")
            let entered = Set(lines.compactMap { $0.hasPrefix("  → ") ? String($0.dropFirst(4)) : nil })
            // Not on the path taken: a condition's else branch, and the handlers steps catch failures into.
            let offPath = Set(
                pipeline.steps.flatMap { step -> [String] in
                    let handlers = step.catches.map(\.next)
                    if case .condition(let condition) = step.kind { return condition.otherwise + handlers }
                    return handlers
                })
            for step in pipeline.steps where !offPath.contains(step.name) {
                #expect(entered.contains(step.name), "\(pipeline.name): step '\(step.name)' never ran: \(output)")
            }
            let approvals = pipeline.steps.filter { if case .approval = $0.kind { true } else { false } }
            #expect(
                approved[example.execution, default: [:]].values.reduce(0, +) == approvals.count,
                "\(pipeline.name): \(output)")
        }
    }

    /// The Lambda function a `${Function…}` placeholder stands for in these tests: its name in lower case.
    static func functionName(_ placeholder: String) -> String? {
        if placeholder == "ApprovalFunction" { return "approval" }
        return placeholder.hasPrefix("Function") ? placeholder.dropFirst("Function".count).lowercased() : nil
    }

    /// The model package groups a definition registers versions in (the exported template creates them).
    static func packageGroups(in value: JSONValue) -> Set<String> {
        switch value {
        case .object(let fields):
            var found = Set(fields.values.flatMap { packageGroups(in: $0) })
            if let group = fields["ModelPackageGroupName"]?.string, !group.contains("$") { found.insert(group) }
            return found
        case .array(let items): return Set(items.flatMap { packageGroups(in: $0) })
        default: return []
        }
    }
}
