import Foundation
import SluiceTesting
import Testing

/// Paths written in a pipeline or module file are relative to that file, from whatever folder `sluice` runs in.
@Suite struct RelativePathTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// A project laid out like the repository: `examples/paths/` holds the pipeline (its data default
    /// `data/rows.csv`), a Lambda module whose handler file sits beside it, and a command module running `work.py`.
    static func project(in scratch: Scratch) throws -> String {
        let folder = scratch.folder + "/examples/paths"
        try FileManager.default.createDirectory(atPath: folder + "/data", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: folder + "/modules", withIntermediateDirectories: true)
        let files = [
            "data/rows.csv": "x\n1\n2\n3",
            "pipeline.yaml": """
            name: Paths
            parameters:
              - name: Rows
                type: DataUri
                default: data/rows.csv
            steps:
              - name: Count
                module: Counter
                inputs: {rows: $.parameters.Rows}
              - name: Work
                module: Worker
                inputs: {lines: $.steps.Count.outputs.lines}
            """,
            "modules/counter.yaml": """
            name: Counter
            type: Lambda
            implementation: {lambda: handler.py:main}
            inputs: [{name: rows, type: DataUri}]
            outputs: [{name: lines, type: Integer}]
            """,
            "modules/handler.py": """
            def main(event, context):
                with open(event["rows"]) as rows:
                    return {"lines": len(rows.read().splitlines())}
            """,
            "modules/worker.yaml": """
            name: Worker
            type: Command
            implementation: {command: [python3, work.py]}
            inputs: [{name: lines, type: Integer}]
            outputs: [{name: doubled, type: Integer}]
            """,
            "modules/work.py": """
            import json, os
            with open("outputs.json", "w") as out:
                json.dump({"doubled": int(json.loads(os.environ["SM_HPS"])["lines"]) * 2}, out)
            """,
        ]
        for (name, text) in files { try scratch.write("examples/paths/" + name, text + "\n") }
        return folder
    }

    /// Runs `sluice ARGUMENTS` in `folder` over a home of its own; returns the exit status and what it printed.
    static func sluice(_ arguments: [String], in folder: String, home: String) async throws -> (Int32, String) {
        let log = home + "-\(UUID().uuidString).log"
        FileManager.default.createFile(atPath: log, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: SluiceBinary.path)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        process.environment = ProcessInfo.processInfo.environment.merging(["SLUICE_HOME": home]) { $1 }
        process.standardOutput = FileHandle(forWritingAtPath: log)
        process.standardError = FileHandle(forWritingAtPath: log)
        try process.run()
        await waitForExit(process)
        return (process.terminationStatus, String(decoding: FileManager.default.contents(atPath: log)!, as: UTF8.self))
    }

    @Test(arguments: [
        ("", "examples/paths/pipeline.yaml"), ("examples", "paths/pipeline.yaml"),
        ("examples/paths", "pipeline.yaml"),
    ])
    func dataDefaultsAndCodeFilesResolveBesideTheirFiles(folder: String, pipeline: String) async throws {
        let scratch = try Scratch()
        defer { try? FileManager.default.removeItem(atPath: scratch.folder) }
        let project = try Self.project(in: scratch)
        let home = scratch.folder + "/home"
        let (status, output) = try await Self.sluice(["run", pipeline], in: scratch.folder + "/" + folder, home: home)
        #expect(status == 0, "\(output)")
        let id = try #require(output.firstMatch(of: /succeeded: execution (\S+)/)?.output.1, "\(output)")
        let (_, shown) = try await Self.sluice(["show", String(id)], in: scratch.folder, home: home)
        #expect(shown.contains("\"Rows\":\"\(project)/data/rows.csv\""), "\(shown)")
        #expect(shown.contains("outputs {\"lines\":4}"), "\(shown)")
        #expect(shown.contains("outputs {\"doubled\":8}"), "\(shown)")
    }

    /// The README's own commands: W1 from its folder, and from `examples/`.
    @Test(arguments: [("examples/w1-diabetes", "pipeline.yaml"), ("examples", "w1-diabetes/pipeline.yaml")])
    func theDiabetesPipelineRunsFromItsFolderAndFromExamples(folder: String, pipeline: String) async throws {
        let scratch = try Scratch()
        defer { try? FileManager.default.removeItem(atPath: scratch.folder) }
        let (status, output) = try await Self.sluice(
            ["run", pipeline], in: Self.repository + "/" + folder, home: scratch.home)
        #expect(status == 0, "\(output)")
        #expect(output.contains("succeeded: execution"), "\(output)")
    }
}
