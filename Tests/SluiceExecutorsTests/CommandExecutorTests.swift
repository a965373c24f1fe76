import Foundation
import SluiceCore
import SluiceExecutors
import Testing

@Suite struct CommandExecutorTests {
    let folder = NSTemporaryDirectory() + "sluice-exec-\(UUID().uuidString)"

    func request(_ module: Module, inputs: [String: JSONValue] = [:]) throws -> StepRequest {
        let work = "\(folder)/work"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        return StepRequest(
            executionID: "ex1", stepName: "Train", attempt: 2, module: module, inputs: inputs, workDirectory: work)
    }

    func write(_ name: String, _ text: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: "\(folder)/\(name)"))
    }

    @Test func scriptModeEnvironmentAndOutputs() async throws {
        try write(
            "train.sh",
            """
            echo "{\\"channel\\": \\"$SM_CHANNEL_TRAINING\\", \\"hps\\": $SM_HPS, \\"host\\": \\"$SM_CURRENT_HOST\\", \
            \\"attempt\\": \\"$SLUICE_ATTEMPT\\"}" > outputs.json
            echo model > "$SM_MODEL_DIR/model.txt"
            """)
        let module = Module(
            name: "Train", kind: .command,
            inputs: [.init(name: "Training", type: .data), .init(name: "epochs", type: .integer)],
            outputs: [.init(name: "Model", type: .model)],
            implementation: .command(arguments: ["sh", "train.sh"], environment: [:]),
            baseDirectory: folder)
        let result = try await CommandExecutor().run(
            try request(module, inputs: ["Training": "/data/train", "epochs": 3]))
        guard case .succeeded(let outputs) = result else {
            Issue.record("expected success, got \(result)")
            return
        }
        #expect(outputs["channel"] == "/data/train")
        #expect(outputs["hps"] == ["epochs": 3])
        #expect(outputs["host"] == "algo-1")
        #expect(outputs["attempt"] == "2")
        #expect(outputs["Model"] == .string("\(folder)/work/model"))
    }

    @Test func nonZeroExitIsAStepFailureWithTheLogTail() async throws {
        let module = Module(
            name: "Bad", kind: .command,
            implementation: .command(arguments: ["sh", "-c", "echo broken input >&2; exit 3"], environment: [:]))
        let result = try await CommandExecutor().run(try request(module))
        guard case .failed(let failure) = result else {
            Issue.record("expected a failure")
            return
        }
        #expect(failure.error == ErrorName.taskFailed)
        #expect(failure.cause.contains("status 3"))
        #expect(failure.cause.contains("broken input"))
    }

    @Test func cancellingKillsTheWholeProcessGroup() async throws {
        let module = Module(
            name: "Slow", kind: .command,
            implementation: .command(arguments: ["sh", "-c", "sleep 30 & echo $! > child.pid; wait"], environment: [:]))
        let request = try request(module)
        let task = Task { try await CommandExecutor().run(request) }
        var childPID: Int32?
        for _ in 0..<200 where childPID == nil {
            try await Task.sleep(nanoseconds: 10_000_000)
            childPID = (try? String(contentsOfFile: "\(request.workDirectory)/child.pid", encoding: .utf8))
                .flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        let child = try #require(childPID)
        task.cancel()
        _ = try await task.value
        var gone = false
        for _ in 0..<100 where !gone {
            // The grandchild was in the step's process group: it must be gone (or a zombie reaped by init).
            let state = (try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8))?.split(separator: " ")
            gone = state == nil || state?[2] == "Z"
            if !gone { try await Task.sleep(nanoseconds: 10_000_000) }
        }
        #expect(gone)
    }

    @Test func lambdaHandlerReturnsOutputsAndRaisesErrorNames() async throws {
        try write(
            "handler.py",
            """
            class ValidationError(Exception):
                pass

            def ok(event, context):
                return {"doubled": event["n"] * 2}

            def bad(event, context):
                raise ValidationError("n must be small")
            """)
        let ok = Module(
            name: "Ok", kind: .lambda, implementation: .lambda(handler: "handler.py:ok", runtime: "python3"),
            baseDirectory: folder)
        let result = try await CommandExecutor().run(try request(ok, inputs: ["n": 21]))
        #expect(result == .succeeded(["doubled": 42]))
        let bad = Module(
            name: "Bad", kind: .lambda, implementation: .lambda(handler: "handler.py:bad", runtime: "python3"),
            baseDirectory: folder)
        let failure = try await CommandExecutor().run(try request(bad, inputs: ["n": 1]))
        #expect(failure == .failed(StepFailure("ValidationError", cause: "n must be small")))
    }

    @Test func glueScriptGetsJobArguments() async throws {
        try write(
            "job.py",
            """
            import json, sys
            args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
            json.dump({"args": args}, open("outputs.json", "w"))
            """)
        let module = Module(
            name: "Job", kind: .glue, implementation: .glue(script: "job.py", arguments: ["JOB_NAME": "etl"]),
            baseDirectory: folder)
        let result = try await CommandExecutor().run(try request(module, inputs: ["S3_INPUT": "/data/in.csv"]))
        #expect(result == .succeeded(["args": ["--JOB_NAME": "etl", "--S3_INPUT": "/data/in.csv"]]))
    }

    @Test func missingScriptIsReportedBeforeTheRun() throws {
        let module = Module(
            name: "Missing", kind: .command,
            implementation: .command(arguments: ["python3", "nope.py"], environment: [:]),
            baseDirectory: folder)
        #expect(CommandExecutor().preflight(module)?.cause.contains("nope.py") == true)
    }

    @Test func builtinDispatchAndUnknownNames() async throws {
        let executor = BuiltinExecutor(coreBuiltinSteps)
        let echo = Module(name: "Echo", kind: .builtin, implementation: .builtin(name: "echo", options: ["k": "v"]))
        #expect(try await executor.run(try request(echo, inputs: ["x": 1])) == .succeeded(["k": "v", "x": 1]))
        let fail = Module(
            name: "Fail", kind: .builtin, implementation: .builtin(name: "fail", options: ["error": "My.Error"]))
        guard case .failed(let failure) = try await executor.run(try request(fail)) else {
            Issue.record("expected a failure")
            return
        }
        #expect(failure.error == "My.Error")
        let typo = Module(name: "Typo", kind: .builtin, implementation: .builtin(name: "noopp", options: [:]))
        #expect(executor.preflight(typo)?.cause.contains("did you mean 'noop'") == true)
    }
}
