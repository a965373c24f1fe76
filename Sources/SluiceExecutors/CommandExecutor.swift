import Foundation
public import SluiceCore

/// Runs `command`, `Glue`-style and Lambda-style modules as subprocesses, with SageMaker script-mode folders.
///
/// The attempt's work directory gets `/opt/ml`-style folders: `model/`, `output/data/`, `input/config/`;
/// `SM_MODEL_DIR`, `SM_OUTPUT_DATA_DIR`, `SM_CHANNEL_<NAME>` (one per file input), `SM_HPS` (the other inputs
/// as JSON), `SM_CURRENT_HOST`, `SM_HOSTS` point at them. The program may write `outputs.json` in its working
/// directory (the work directory) to return outputs; otherwise a model output is `SM_MODEL_DIR` and a data
/// output named N is `output/N` when it exists. A non-zero exit is a step failure carrying the stderr tail.
@MemberwiseInit
public struct CommandExecutor: StepExecutor {
    let runner = ProcessRunner()
    /// The Python interpreter for Lambda-style and Glue-style modules.
    public var python: String = "python3"
    /// Attempt folder trees made in advance (none: each attempt makes its folders when it starts).
    public var folderPool: AttemptFolderPool?

    public func preflight(_ module: Module) -> StepFailure? {
        switch module.implementation {
        case .command(let arguments, _):
            guard let program = arguments.first else { return StepFailure(cause: "the command is empty") }
            if program.contains("/") {
                let path = program.hasPrefix("/") ? program : "\(module.baseDirectory)/\(program)"
                if !FileManager.default.fileExists(atPath: path) {
                    return StepFailure(cause: "program '\(program)' not found at \(path)")
                }
            } else if ProcessRunner.which(program) == nil {
                return StepFailure(cause: "program '\(program)' is not on PATH; install it or give its path")
            }
            for argument in arguments.dropFirst() where argument.hasSuffix(".py") || argument.hasSuffix(".sh") {
                let path = argument.hasPrefix("/") ? argument : "\(module.baseDirectory)/\(argument)"
                if !FileManager.default.fileExists(atPath: path) {
                    return StepFailure(cause: "script '\(argument)' not found at \(path); fix the path in the module")
                }
            }
        case .lambda(let handler, _):
            let parts = handler.split(separator: ":")
            guard parts.count == 2 else { return StepFailure(cause: "handler '\(handler)' must be file.py:function") }
            let path = "\(module.baseDirectory)/\(parts[0])"
            if !FileManager.default.fileExists(atPath: path) {
                return StepFailure(cause: "handler file '\(parts[0])' not found at \(path)")
            }
        case .glue(let script, _):
            let path = script.hasPrefix("/") ? script : "\(module.baseDirectory)/\(script)"
            if !FileManager.default.fileExists(atPath: path) {
                return StepFailure(cause: "Glue script '\(script)' not found at \(path)")
            }
        default:
            break
        }
        return nil
    }

    public func run(_ request: StepRequest) async throws -> StepResult {
        let work = request.workDirectory
        if folderPool?.take(into: work) != true {
            for folder in ["model", "output/data", "input/config"] { try makeDirectory("\(work)/\(folder)") }
        }
        var environment = Self.inheritedEnvironment
        var hyperparameters: [String: JSONValue] = [:]
        var channels: [String] = []
        for port in request.module.inputs {
            guard let value = request.inputs[port.name] else { continue }
            if [.data, .model, .report].contains(port.type), case .string(let path) = value {
                environment["SM_CHANNEL_\(port.name.uppercased())"] = path
                channels.append(port.name)
            } else {
                hyperparameters[port.name] = value
            }
        }
        for (name, value) in request.inputs where request.module.input(named: name) == nil {
            hyperparameters[name] = value
        }
        let hps = Self.json(.object(hyperparameters))
        environment["SM_MODEL_DIR"] = "\(work)/model"
        environment["SM_OUTPUT_DATA_DIR"] = "\(work)/output/data"
        environment["SM_OUTPUT_DIR"] = "\(work)/output"
        environment["SM_INPUT_DIR"] = "\(work)/input"
        environment["SM_INPUT_CONFIG_DIR"] = "\(work)/input/config"
        environment["SM_HPS"] = hps
        environment["SM_CHANNELS"] = Self.json(.array(channels.map(JSONValue.string)))
        environment["SM_CURRENT_HOST"] = "algo-1"
        environment["SM_HOSTS"] = "[\"algo-1\"]"
        environment["SM_NUM_CPUS"] = Self.processorCount
        environment["SLUICE_EXECUTION_ID"] = request.executionID
        environment["SLUICE_STEP"] = request.stepName
        environment["SLUICE_ATTEMPT"] = String(request.attempt)
        environment["SLUICE_WORK_DIR"] = work
        environment["SLUICE_HEARTBEAT_FILE"] = "\(work)/heartbeat"
        try writeFile("\(work)/input/config/hyperparameters.json", hps)

        let base = request.module.baseDirectory
        func resolved(_ path: String) -> String {
            path.hasPrefix("/") || !FileManager.default.fileExists(atPath: "\(base)/\(path)") ? path : "\(base)/\(path)"
        }
        var arguments: [String]
        var stdin: String?
        switch request.module.implementation {
        case .command(let command, let extra):
            arguments = command.enumerated().map {
                $0.offset == 0 && !$0.element.contains("/") ? $0.element : resolved($0.element)
            }
            environment.merge(extra) { _, new in new }
        case .glue(let script, let jobArguments):
            arguments = [python, resolved(script)]
            var all = jobArguments
            for (name, value) in request.inputs {
                all[name] = value.string ?? Self.json(value)
            }
            for key in all.keys.sorted() {
                let name = key.hasPrefix("--") ? String(key.dropFirst(2)) : key
                arguments += ["--\(name)", all[key]!]
            }
        case .lambda(let handler, _):
            let parts = handler.split(separator: ":").map(String.init)
            let event = "\(work)/input/event.json"
            try writeFile(event, Self.json(.object(request.inputs)))
            stdin = event
            arguments = [
                python, "-c", Self.lambdaShim, resolved(parts[0]), parts[1], "\(work)/outputs.json",
                "\(work)/error.json",
            ]
        default:
            return .failed(StepFailure("Sluice.NoExecutor", cause: "not a command module"))
        }
        let exit = try await runner.run(
            arguments, environment: environment, directory: work, stdout: "\(work)/stdout.log",
            stderr: "\(work)/stderr.log", stdin: stdin, supervised: true, started: request.processStarted)
        if Task.isCancelled { return .failed(StepFailure("Sluice.Cancelled", cause: "stopped")) }
        return collect(request, program: arguments[0], exit: exit)
    }

    public func takeOver(_ process: AttemptProcess, adoptable: Bool) -> AttemptTakeover {
        ProcessRunner.takeOver(process, adoptable: adoptable)
    }

    public func adopt(_ request: StepRequest, process: AttemptProcess) async throws -> StepResult {
        let exit = await ProcessRunner.follow(process)
        if Task.isCancelled { return .failed(StepFailure("Sluice.Cancelled", cause: "stopped")) }
        guard let exit else {
            return .failed(
                StepFailure(
                    "Sluice.AdoptedProcessLost",
                    cause: "the adopted process group \(process.group) ended without saving its exit status in "
                        + "\(process.workDirectory) (it was killed); run the step again with `sluice retry`"))
        }
        let program: String
        switch request.module.implementation {
        case .command(let command, _): program = command.first ?? "command"
        default: program = python
        }
        return collect(request, program: program, exit: exit)
    }

    /// Turns a finished process into the step's result: its exit status, `outputs.json` or the script-mode folders.
    func collect(_ request: StepRequest, program: String, exit: ProcessRunner.Exit) -> StepResult {
        let work = request.workDirectory
        let stderr = "\(work)/stderr.log"
        if case .lambda = request.module.implementation,
            let data = FileManager.default.contents(atPath: "\(work)/error.json"),
            let error = try? JSONDecoder().decode(JSONValue.self, from: data)
        {
            return .failed(
                StepFailure(
                    error["errorType"]?.string ?? ErrorName.taskFailed, cause: error["errorMessage"]?.string ?? ""))
        }
        guard exit.status == 0 else {
            let how = exit.signal.map { "was killed by signal \($0)" } ?? "exited with status \(exit.status)"
            return .failed(
                StepFailure(
                    ErrorName.taskFailed,
                    cause: "\(program) \(how); stderr (\(stderr)):\n\(logTail(stderr))"))
        }
        var outputs: [String: JSONValue] = [:]
        if let data = FileManager.default.contents(atPath: "\(work)/outputs.json") {
            guard let value = try? JSONDecoder().decode(JSONValue.self, from: data) else {
                return .failed(StepFailure("Sluice.BadOutputs", cause: "\(work)/outputs.json is not valid JSON"))
            }
            if let object = value.object {
                outputs = object
            } else if request.module.outputs.count == 1 {
                outputs[request.module.outputs[0].name] = value
            } else {
                outputs["result"] = value
            }
        }
        for port in request.module.outputs where outputs[port.name] == nil {
            if port.type == .model {
                outputs[port.name] = .string("\(work)/model")
            } else if FileManager.default.fileExists(atPath: "\(work)/output/\(port.name)") {
                outputs[port.name] = .string("\(work)/output/\(port.name)")
            } else if port.type == .data {
                outputs[port.name] = .string("\(work)/output/data")
            }
        }
        return .succeeded(outputs)
    }

    /// Sluice's own environment, read once: every step starts from it.
    static let inheritedEnvironment = ProcessInfo.processInfo.environment
    static let processorCount = String(ProcessInfo.processInfo.activeProcessorCount)

    static func json(_ value: JSONValue) -> String { value.canonicalJSON }

    /// Imports `file.py`, calls `function(event, context)`, writes its return value (or the exception) as JSON.
    static let lambdaShim = """
        import importlib.util, json, sys, traceback
        path, name, out, err = sys.argv[1:5]
        spec = importlib.util.spec_from_file_location("handler", path)
        module = importlib.util.module_from_spec(spec)
        sys.path.insert(0, __import__("os").path.dirname(path))
        try:
            spec.loader.exec_module(module)
            result = getattr(module, name)(json.load(sys.stdin), None)
            json.dump(result, open(out, "w"))
        except Exception as e:
            traceback.print_exc()
            json.dump({"errorType": type(e).__name__, "errorMessage": str(e)}, open(err, "w"))
            sys.exit(1)
        """
}
