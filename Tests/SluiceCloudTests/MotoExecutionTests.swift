import Foundation
import SluiceCloud
import SluiceCore
import SluiceSpec
import Testing

/// Exported state machines run in moto's Step Functions simulation.
///
/// Workarounds for moto's limits, in this harness only (the exported files stay what AWS needs):
/// - the definition is created through the Step Functions API with its `${…}` placeholders filled in here, because
///   moto's CloudFormation drops an object-form `Definition` and its machines are not executable;
/// - `.sync` SageMaker jobs are not simulated, so the fixture pipeline uses Lambda, Glue and Approval steps only;
/// - moto's Lambda without Docker echoes its payload and never fails: the Retry-then-Catch path uses a Glue job
///   that does not exist (`Glue.EntityNotFoundException` on each attempt).
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

    /// Starts moto's server, creates the functions and the machine, runs each execution (approving any task token
    /// it waits at), prints one JSON line per execution, and stops the server.
    static let harness = """
        import io, json, os, socket, subprocess, sys, time, urllib.request, zipfile
        import boto3
        definition_path, substitutions, executions = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
        probe = socket.socket(); probe.bind(("127.0.0.1", 0)); port = probe.getsockname()[1]; probe.close()
        server = subprocess.Popen(
            [os.path.join(os.path.dirname(sys.executable), "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
            env=dict(os.environ, MOTO_PORT=str(port)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    urllib.request.urlopen(url + "/moto-api/"); break
                except Exception:
                    time.sleep(0.1)
            config = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
            urllib.request.urlopen(urllib.request.Request(
                url + "/moto-api/config", data=json.dumps(config).encode(), method="POST"))
            options = dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id="test",
                           aws_secret_access_key="test")
            role = boto3.client("iam", **options).create_role(
                RoleName="sluice", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
            archive = io.BytesIO()
            with zipfile.ZipFile(archive, "w") as files:
                files.writestr("index.py", "def handler(event, context):\\n    return event\\n")
            functions = boto3.client("lambda", **options)
            text = open(definition_path).read()
            for name, value in substitutions.items():
                text = text.replace("${" + name + "}", value)
                if name.startswith("Function"):
                    functions.create_function(FunctionName=value, Runtime="python3.12", Role=role,
                                              Handler="index.handler", Code={"ZipFile": archive.getvalue()})
            sfn = boto3.client("stepfunctions", **options)
            machine = sfn.create_state_machine(name="exported", definition=text, roleArn=role)["stateMachineArn"]
            for run in executions:
                arn = sfn.start_execution(
                    stateMachineArn=machine, name=run["name"], input=json.dumps(run["input"]))["executionArn"]
                approved = 0
                for _ in range(600):
                    status = sfn.describe_execution(executionArn=arn)
                    if status["status"] != "RUNNING":
                        break
                    events = sfn.get_execution_history(executionArn=arn)["events"]
                    waiting = [e for e in events if e["type"] == "TaskScheduled"
                               and e["taskScheduledEventDetails"]["resource"].endswith("waitForTaskToken")]
                    if len(waiting) > approved:
                        token = json.loads(waiting[-1]["taskScheduledEventDetails"]["parameters"])["Payload"]["token"]
                        sfn.send_task_success(taskToken=token, output=json.dumps({"approved": True}))
                        approved += 1
                    time.sleep(0.1)
                events = sfn.get_execution_history(executionArn=arn)["events"]
                print(json.dumps({
                    "name": run["name"], "status": status["status"], "error": status.get("error"),
                    "cause": status.get("cause"), "output": json.loads(status.get("output") or "null"),
                    "approved": approved,
                    "entered": [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e],
                    "failedTasks": sum(1 for e in events if e["type"] == "TaskFailed"),
                }))
        finally:
            # SIGKILL: the server inherits the test runner's blocked SIGTERM and would never stop on terminate().
            server.kill()
            server.wait()
        """

    @Test func choiceBothWaysMapApprovalAndRetryThenCatchRunToTheirEnd() async throws {
        let folder = try AWSTools.temporaryFolder("moto-run")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        for (name, text) in Self.modules { try AWSTools.write(text, to: "\(folder)/\(name)") }
        try AWSTools.write(Self.pipeline, to: folder + "/pipeline.yaml")
        let export = try #require(StepFunctionsExporter.export(try AWSTools.load(folder + "/pipeline.yaml")).export)
        try AWSTools.write(export.definition.prettyJSON, to: folder + "/statemachine.asl.json")
        let substitutions: JSONValue = [
            "FunctionScore": "score", "ApprovalFunction": "approval", "ArtifactBucket": "sluice-artifacts",
        ]
        let runs: JSONValue = [["name": "low-score", "input": ["Score": 0.1]], ["name": "defaults", "input": [:]]]
        let result = try await AWSTools.python(
            Self.harness, [folder + "/statemachine.asl.json", substitutions.prettyJSON, runs.prettyJSON])
        #expect(result.status == 0, "\(result.error)")
        let lines = try result.output.split(separator: "\n").map { try AWSTools.json(String($0)) }
        try #require(lines.count == 2, "\(result.output) \(result.error)")

        // The Choice's else branch: the Fail state with its States.Format message.
        let low = lines[0]
        #expect(low["status"] == "FAILED")
        #expect(low["error"] == "Gate.Rejected")
        #expect(low["cause"] == "score 0.1 is below 0.5")
        #expect(low["entered"]?.array?.contains("Fan Out") == false)

        // The then branch: Map over the default items, the approval resumed by its task token, and the Glue step
        // failing twice (one retry) before its Catch continues at Recover.
        let run = lines[1]
        #expect(run["status"] == "SUCCEEDED", "\(run)")
        #expect(run["approved"] == 1)
        #expect(run["failedTasks"] == 2)
        let entered = run["entered"]?.array?.compactMap(\.string) ?? []
        #expect(entered.contains("Approve") && entered.contains("Crunch") && entered.last == "Recover")
        #expect(entered.filter { $0 == "Fan Out: item" }.count == 3)
        let steps = try #require(run["output"]?["steps"])
        #expect(steps["Fan_Out"]?["outputs"]?["items"] == [["value": 1], ["value": 2], ["value": 3]])
        #expect(steps["Approve"]?["outputs"] == ["approved": true])
        #expect(steps["Recover"]?["outputs"] == ["value": "recovered"])
        #expect(run["output"]?["failure"]?["Error"] == "Glue.EntityNotFoundException")
    }

    /// The reports each example's Choice reads, by pipeline (relative to `examples/`), as its evaluation job would
    /// write them: values that take the branch which registers the model.
    static let reports: [String: JSONValue] = [
        "w1-diabetes/pipeline.yaml": ["Evaluate/metrics": ["regression_metrics": ["r2": ["value": 0.9]]]],
        "w1-diabetes/deploy-pipeline.yaml": ["Evaluate/metrics": ["regression_metrics": ["r2": ["value": 0.9]]]],
        "w2-abalone/pipeline.yaml": ["Evaluate/metrics": ["regression_metrics": ["mse": ["value": 4.0]]]],
        "w2-abalone/staged-pipeline.yaml": ["Evaluate/metrics": ["regression_metrics": ["rmse": ["value": 1.0]]]],
    ]

    /// Every example pipeline's exported machine, unchanged but for its placeholders, runs to a successful end in
    /// moto (`Fixtures/moto/run-exported.py`, which lists the stand-ins for what moto does not simulate): every step
    /// of the path it takes is entered, approvals are answered, and no task fails.
    @Test func everyExampleMachineRunsToItsEnd() async throws {
        let folder = try AWSTools.temporaryFolder("moto-examples")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var cases: [JSONValue] = []
        var pipelines: [Pipeline] = []
        for (index, path) in AWSTools.examplePipelines.enumerated() {
            let pipeline = try AWSTools.load(path)
            let export = try #require(StepFunctionsExporter.export(pipeline).export, "\(path)")
            let file = "\(folder)/\(index).asl.json"
            try AWSTools.write(export.definition.prettyJSON, to: file)
            let relative = String(path.dropFirst(AWSTools.packageRoot.count + "/examples/".count))
            cases.append([
                "definition": .string(file), "name": .string("example-\(index)"),
                "reports": Self.reports[relative] ?? [:],
                "objects": ["inputs/incoming/a.csv", "inputs/incoming/b.csv", "inputs/incoming/notes.txt"],
            ])
            pipelines.append(pipeline)
        }
        #expect(cases.count >= 9)
        // The data loader answers with where it left the data set (W4 and seed 000 train from it).
        let plan: JSONValue = [
            "functions": ["s3csvdataloader": ["S3OutputArtifactUri": "s3://sluice-artifacts/inputs/churn/"]],
            "cases": .array(cases),
        ]
        try AWSTools.write(plan.prettyJSON, to: folder + "/plan.json")
        let script = AWSTools.packageRoot + "/Tests/SluiceCloudTests/Fixtures/moto/run-exported.py"
        let result = try await AWSTools.run(AWSTools.bin + "/python", [script, folder + "/plan.json"], in: folder)
        #expect(result.status == 0, "\(result.error)")
        let lines = try result.output.split(separator: "\n").map { try AWSTools.json(String($0)) }
        try #require(lines.count == pipelines.count, "\(result.output) \(result.error)")
        for (pipeline, line) in zip(pipelines, lines) {
            #expect(line["status"] == "SUCCEEDED", "\(pipeline.name): \(line)")
            #expect(line["failedTasks"] == [], "\(pipeline.name): \(line)")
            let entered = Set(line["entered"]?.array?.compactMap(\.string) ?? [])
            // Not on the path taken: a condition's else branch, and the handlers steps catch failures into.
            let offPath = Set(
                pipeline.steps.flatMap { step -> [String] in
                    let handlers = step.catches.map(\.next)
                    if case .condition(let condition) = step.kind { return condition.otherwise + handlers }
                    return handlers
                })
            for step in pipeline.steps where !offPath.contains(step.name) {
                #expect(entered.contains(step.name), "\(pipeline.name): step '\(step.name)' never ran: \(line)")
            }
            let approvals = pipeline.steps.filter { if case .approval = $0.kind { true } else { false } }
            #expect(line["approved"]?.number == Double(approvals.count), "\(pipeline.name): \(line)")
        }
    }
}
