import Foundation
import SluiceCore
import SluiceExecutors
import Testing

@Suite struct AttemptFolderPoolTests {
    let folder = NSTemporaryDirectory() + "sluice-pool-\(UUID().uuidString)"

    /// A command step that fails unless every script-mode folder and `hyperparameters.json` exist when it starts,
    /// and returns the hyperparameters file's content.
    var module: Module {
        let check = """
            test -d "$SM_MODEL_DIR" && test -d "$SM_OUTPUT_DATA_DIR" && test -d "$SM_INPUT_CONFIG_DIR" \
            && test -d "$SM_INPUT_DIR" && test -d "$SM_OUTPUT_DIR" || exit 7
            printf '{"hps": %s}' "$(cat "$SM_INPUT_CONFIG_DIR/hyperparameters.json")" > outputs.json
            """
        return Module(
            name: "Check", kind: .command, inputs: [.init(name: "n", type: .integer)],
            implementation: .command(arguments: ["sh", "-c", check], environment: [:]))
    }

    func run(_ executor: CommandExecutor, step: String, attempt: Int, n: Int) async throws -> JSONValue? {
        let request = StepRequest(
            executionID: "ex1", stepName: step, attempt: attempt, module: module, inputs: ["n": .int(n)],
            workDirectory: "\(folder)/executions/ex1/\(step)/\(attempt)")
        guard case .succeeded(let outputs) = try await executor.run(request) else { return nil }
        return outputs["hps"]
    }

    func contents(_ path: String) -> Set<String> {
        Set((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [])
    }

    @Test func attemptsGetReadyTreesInPlaceAndStaleTreesAreRemoved() async throws {
        let root = "\(folder)/executions/.spare"
        // Trees of a process that is gone (no process has this pid).
        try FileManager.default.createDirectory(atPath: "\(root)/2147483000-1/1/a", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let pool = AttemptFolderPool(root: root, capacity: 3)
        let executor = CommandExecutor(folderPool: pool)

        // The first attempt finds the pool empty, makes its folders and starts the refill.
        #expect(try await run(executor, step: "A", attempt: 1, n: 1) == ["n": 1])
        pool.waitForRefill()
        #expect(contents(root) == [(pool.directory as NSString).lastPathComponent])
        #expect(contents(pool.directory).count == 3)
        // A new step: the tree becomes the step folder and its attempt folder.
        #expect(try await run(executor, step: "B", attempt: 1, n: 2) == ["n": 2])
        pool.waitForRefill()
        // A retry of the same step: the attempt tree alone moves into the existing step folder.
        #expect(try await run(executor, step: "B", attempt: 2, n: 3) == ["n": 3])
        #expect(pool.counts.taken == 2)
        #expect(pool.counts.missed == 1)
        #expect(contents("\(folder)/executions/ex1") == ["A", "B"])
        #expect(contents("\(folder)/executions/ex1/B") == ["1", "2"])
        // The script-mode folders, the logs, the outputs and the supervisor's pid and exit status.
        let attemptFiles: Set = [
            "model", "output", "input", "stdout.log", "stderr.log", "outputs.json", "sluice-supervisor.pid",
            "sluice-exit-status",
        ]
        #expect(contents("\(folder)/executions/ex1/A/1") == attemptFiles)
        #expect(contents("\(folder)/executions/ex1/B/2") == attemptFiles)
        #expect(contents("\(folder)/executions/ex1/B/2/output") == ["data"])

        pool.removeAll()
        #expect(contents(root).isEmpty)
        #expect(!pool.take(into: "\(folder)/executions/ex1/C/1"))
        #expect(contents(root).isEmpty)
    }
}
