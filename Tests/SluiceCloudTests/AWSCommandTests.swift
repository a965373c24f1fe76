import Foundation
import SluiceCloud
import SluiceCore
import SluiceTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `sluice aws deploy|start|status|approve|reject` against moto's server, the exported machine of
/// `MotoExecutionTests` (a Choice, a Map, an Approval, a Retry then a Catch) run to its end each way.
///
/// Moto's limits are worked around in the test harness only (`Fixtures/moto/server.py` and `setup.py`): its Lambda
/// without Docker echoes its payload, so the harness creates the functions the machine's placeholders name (with
/// boto3, as a user's own deployment would) and the Retry then Catch path uses a Glue job that does not exist; SageMaker `.sync` jobs are not simulated, so the pipeline has none;
/// moto's `SendTaskFailure` keeps the error but drops the cause, so a rejection's reason is not checked here.
@Suite("sluice aws in moto")
struct AWSCommandTests {
    @Test func deployStartFollowApproveAndRejectRunTheExportedMachineToItsEnd() async throws {
        let folder = try AWSTools.temporaryFolder("aws-command")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        for (name, text) in MotoExecutionTests.modules { try AWSTools.write(text, to: "\(folder)/\(name)") }
        // The machine of MotoExecutionTests, with a local data file for `deploy` to upload.
        let pipeline = MotoExecutionTests.pipeline.replacingOccurrences(
            of: "parameters:\n", with: "parameters:\n  - name: Rows\n    type: DataUri\n    default: data/rows.csv\n")
        try AWSTools.write(pipeline, to: folder + "/pipeline.yaml")
        try AWSTools.write("x,y\n1,2\n", to: folder + "/data/rows.csv")
        // Score's function and the bucket are created by deploy (Score's from its handler file); the approval
        // function exists already.
        try AWSTools.write(
            MotoExecutionTests.modules["score.yaml"]! + "\nimplementation:\n  lambda: score.py:handler\n",
            to: folder + "/score.yaml")
        try AWSTools.write("def handler(event, context):\n    return event\n", to: folder + "/score.py")
        let moto = try await MotoStepFunctions(
            folder: folder, setup: ["--function", "approval"])
        defer { moto.stop() }
        let role = moto.role
        let environment = moto.environment(folder: folder)
        func sluice(_ arguments: [String]) async throws -> (status: Int32, output: String, error: String) {
            try await AWSTools.run(SluiceBinary.path, arguments, environment: environment, in: folder)
        }
        let deploy = ["aws", "deploy", "pipeline.yaml", "--stack", "gate", "--role", role]
        let values = ["--set", "ApprovalFunction=approval", "--function-role", role]

        // A placeholder without a value is named, with the option that gives it one.
        let incomplete = try await sluice(deploy + values)
        #expect(incomplete.status != 0)
        #expect(incomplete.error.contains("ArtifactBucket (the S3 bucket"), "\(incomplete.error)")
        #expect(incomplete.error.contains("--set ArtifactBucket=VALUE"), "\(incomplete.error)")
        #expect(incomplete.output.isEmpty, "nothing is created before every value is known: \(incomplete.output)")
        // A function to create needs a role Lambda can assume.
        let roleless = try await sluice(
            deploy + ["--set", "ApprovalFunction=approval", "--set", "ArtifactBucket=sluice-artifacts"])
        #expect(roleless.status != 0)
        #expect(
            roleless.error.contains(
                "module 'Score' runs as a Lambda function that deploy creates from its handler (score.handler): "
                    + "give --function-role ARN"), "\(roleless.error)")
        #expect(roleless.error.contains("--set FunctionScore=NAME"), "\(roleless.error)")

        // Deploying twice creates the machine, then updates it in place.
        let complete = deploy + values + ["--set", "ArtifactBucket=sluice-artifacts"]
        let created = try await sluice(complete)
        #expect(created.status == 0, "\(created.error)")
        let machine = try #require(created.output.firstMatch(of: /created state machine (\S+)/)?.1)
        #expect(
            created.output.hasPrefix("created function gate-Score\ncreated bucket s3://sluice-artifacts\n"),
            "\(created.output)")
        let function = try await AWSTools.run(
            AWSTools.bin + "/python", [MotoStepFunctions.fixtures + "/client.py", moto.url, "function", "gate-Score"],
            environment: ["AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"])
        let settings = try AWSTools.json(function.output)
        #expect(settings["Handler"] == "score.handler" && settings["Runtime"] == "python3.12", "\(function)")
        #expect(settings["Role"]?.string == role && (settings["CodeSize"]?.number ?? 0) > 0, "\(function)")
        #expect(created.output.contains("uploaded s3://sluice-artifacts/inputs/data/rows.csv\n"), "\(created.output)")
        #expect(try await moto.read(bucket: "sluice-artifacts", key: "inputs/data/rows.csv") == "x,y\n1,2\n")
        let updated = try await sluice(complete)
        #expect(updated.output.contains("updated state machine \(machine)"), "\(updated.output) \(updated.error)")
        #expect(updated.output.hasPrefix("updated function gate-Score\nuploaded "), "\(updated.output)")

        let unknown = try await sluice(["aws", "start", "pipeline.yaml", "--stack", "gate", "-p", "Scroe=1"])
        #expect(unknown.status != 0)
        #expect(
            unknown.error.contains(
                "-p Scroe=…: pipeline 'GateFanOutApprove' has no parameter 'Scroe'; did you mean "
                    + "'Score'?"), "\(unknown.error)")

        // The Choice's else branch: --follow draws the states and exits non-zero with the Fail state's message.
        let low = try await start(sluice, name: "low-score", ["-p", "Score=0.1"])
        let lowRun = try await sluice(["aws", "status", low, "--follow", "--interval", "0.1"])
        #expect(lowRun.status != 0)
        #expect(lowRun.output.contains("  → Too Low\n"), "\(lowRun.output)")
        #expect(!lowRun.output.contains("Fan Out"), "\(lowRun.output)")
        #expect(lowRun.output.hasSuffix("execution low-score  FAILED  Gate.Rejected: score 0.1 is below 0.5\n"))

        // The then branch: the follower prints the states as they happen and waits with the execution at its
        // approval, which `sluice aws approve EXECUTION STEP` resumes; then the Retry, the Catch and the end.
        let approved = try await start(sluice, name: "approved", [])
        let follower = try Follower(
            arguments: ["aws", "status", approved, "--follow", "--interval", "0.1"],
            environment: environment, folder: folder)
        defer { follower.stop() }
        let waiting = "    Approve waits for approval: sluice aws approve|reject \(approved) 'Approve'\n"
        try #require(await follower.waitFor(waiting), "\(follower.output)")
        #expect(follower.process.isRunning)
        #expect(!follower.output.contains("Crunch"))
        let tooEarly = try await sluice(["aws", "approve", approved, "Crunch"])
        #expect(tooEarly.status != 0)
        #expect(tooEarly.error.contains("step 'Crunch'"), "\(tooEarly.error)")
        #expect(tooEarly.error.contains("(steps that have: Approve)"), "\(tooEarly.error)")
        let approve = try await sluice(["aws", "approve", approved, "Approve"])
        #expect(approve.status == 0, "\(approve.error)")
        let status = try await follower.wait()
        #expect(status == 0, "\(follower.output)")
        let lines = follower.output.split(separator: "\n").map(String.init)
        let order = ["  → Score", "  → Gate", "  → Fan Out", "  → Approve", "  → Crunch", "  → Recover"].map {
            lines.firstIndex(of: $0) ?? -1
        }
        #expect(!order.contains(-1) && order == order.sorted(), "\(follower.output)")
        #expect(lines.filter { $0 == "  → Fan Out: item" }.count == 3, "\(follower.output)")
        #expect(
            lines.filter { $0.hasPrefix("    Crunch attempt failed  Glue.EntityNotFoundException") }.count == 2,
            "\(follower.output)")
        #expect(lines.last == "execution approved  SUCCEEDED")

        // Once it has ended, nothing waits for approval; a plain status draws the whole history again.
        let late = try await sluice(["aws", "approve", approved, "Approve"])
        #expect(late.status != 0)
        #expect(late.error.contains("is SUCCEEDED; nothing waits for approval"), "\(late.error)")
        let again = try await sluice(["aws", "status", approved])
        #expect(again.status == 0)
        #expect(again.output == follower.output)

        // A rejection fails the execution with Sluice's rejection error (the exported callback's).
        let rejected = try await start(sluice, name: "rejected", [])
        let asked = await eventually {
            (try? await sluice(["aws", "status", rejected]).output.contains("Approve waits for approval")) == true
        }
        try #require(asked)
        let reject = try await sluice(["aws", "reject", rejected, "Approve"])
        #expect(reject.status == 0, "\(reject.error)")
        let rejectedRun = try await sluice(["aws", "status", rejected, "--follow", "--interval", "0.1"])
        #expect(rejectedRun.status != 0)
        #expect(!rejectedRun.output.contains("  → Crunch"), "\(rejectedRun.output)")
        #expect(
            rejectedRun.output.hasSuffix(
                "    Approve attempt failed  Sluice.ApprovalRejected\n"
                    + "execution rejected  FAILED  Sluice.ApprovalRejected\n"),
            "\(rejectedRun.output)")
    }

    /// `aws start -p` checks values as `run -p` does (the engine's check), before it sends anything: against an
    /// endpoint where nothing listens, a good value fails on the connection and a value outside `allowed_values`
    /// is refused with the engine's message instead.
    @Test func startRefusesAValueOutsideTheAllowedOnesBeforeAnyRequest() async throws {
        let folder = try AWSTools.temporaryFolder("aws-start-values")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        for (name, text) in MotoExecutionTests.modules { try AWSTools.write(text, to: "\(folder)/\(name)") }
        let pipeline = MotoExecutionTests.pipeline.replacingOccurrences(
            of: "parameters:\n",
            with: "parameters:\n  - name: Mode\n    type: String\n    default: fast\n    allowed_values: [fast, full]\n"
        )
        try AWSTools.write(pipeline, to: folder + "/pipeline.yaml")
        let port = try #require(LoopbackPort.free())
        let environment = [
            "AWS_ENDPOINT_URL": "http://127.0.0.1:\(port)", "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1", "AWS_CONFIG_FILE": folder + "/no-config",
            "AWS_SHARED_CREDENTIALS_FILE": folder + "/no-credentials",
        ]
        func start(_ value: String) async throws -> (status: Int32, output: String, error: String) {
            try await AWSTools.run(
                SluiceBinary.path, ["aws", "start", "pipeline.yaml", "--stack", "gate", "-p", "Mode=\(value)"],
                environment: environment, in: folder)
        }
        let allowed = try await start("full")
        #expect(allowed.status != 0)
        #expect(allowed.error.contains("127.0.0.1:\(port)"), "the request was tried: \(allowed.error)")
        let refused = try await start("slow")
        #expect(refused.status != 0)
        #expect(refused.error.contains("-p Mode=slow: allowed values are fast, full"), "\(refused.error)")
        #expect(!refused.error.contains("127.0.0.1"), "nothing was sent: \(refused.error)")
        #expect(refused.output.isEmpty)
    }

    /// `sluice aws start` with an execution name; returns the ARN it prints.
    func start(
        _ sluice: ([String]) async throws -> (status: Int32, output: String, error: String), name: String,
        _ more: [String]
    ) async throws -> String {
        let result = try await sluice(["aws", "start", "pipeline.yaml", "--stack", "gate", "--name", name] + more)
        try #require(result.status == 0, "\(result.error)")
        let arn = result.output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(arn.hasPrefix("arn:aws:states:") && arn.hasSuffix(":gate:\(name)"), "\(arn)")
        return arn
    }

    /// Polls `condition` every 100 ms until it holds or `seconds` pass (generous: two cores run the whole suite).
    func eventually(within seconds: Double = 120, _ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return await condition()
    }

    /// A `sluice` process left running, its standard output going to a file the test reads as it grows.
    struct Follower {
        let process = Process()
        let outputPath: String

        init(arguments: [String], environment: [String: String], folder: String) throws {
            outputPath = folder + "/follow-\(UUID().uuidString).out"
            _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
            process.executableURL = URL(fileURLWithPath: SluiceBinary.path)
            process.arguments = arguments
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
            process.currentDirectoryURL = URL(fileURLWithPath: folder)
            process.standardOutput = FileHandle(forWritingAtPath: outputPath)
            process.standardError = FileHandle(forWritingAtPath: outputPath)
            try process.run()
        }

        var output: String {
            String(decoding: FileManager.default.contents(atPath: outputPath) ?? Data(), as: UTF8.self)
        }

        /// Whether `text` was printed before the process ended (waiting up to two minutes).
        func waitFor(_ text: String) async -> Bool {
            let deadline = ContinuousClock.now + .seconds(120)
            while ContinuousClock.now < deadline, process.isRunning {
                if output.contains(text) { return true }
                try? await Task.sleep(for: .milliseconds(50))
            }
            return output.contains(text)
        }

        /// Waits for the process to end, off Swift's concurrency threads; returns its exit status.
        func wait() async throws -> Int32 {
            let process = self.process
            return try await onOwnThread {
                process.waitUntilExit()
                return process.terminationStatus
            }
        }

        func stop() {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
    }
}
