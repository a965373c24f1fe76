import Foundation
import Testing

/// Runs the built `sluice` binary as a user would.
@Suite struct CommandTests {
    static let binary = Paths.repository.appendingPathComponent(".build/debug/sluice").path

    func run(_ arguments: [String], home: String? = nil) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = arguments
        process.currentDirectoryURL = Paths.repository
        if let home { process.environment = ProcessInfo.processInfo.environment.merging(["SLUICE_HOME": home]) { $1 } }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = Pipe()
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func validateExitsZeroOnTheExamplesAndOneOnABrokenSpec() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build the sluice binary first")
        // W4 finds its modules in the catalog, as the README publishes them.
        let home = NSTemporaryDirectory() + "sluice-validate-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: home) }
        let published = try run(["modules", "publish", "examples/seed-000", "examples/modules"], home: home)
        #expect(published.status == 0, "\(published.output)")
        let clean = try run(["validate", "examples"], home: home)
        #expect(clean.status == 0, "\(clean.output)")
        // The seed's XGBoostTrainer has no type but names an XGBoost image: SageMaker training, not a warning.
        #expect(clean.output.hasSuffix("0 errors, 0 warnings\n"))
        let broken = try run(["validate", "Tests/SluiceSpecTests/Fixtures/unknown-step"])
        #expect(broken.status == 1)
        #expect(broken.output.contains("pipeline.yaml:11:11: error: 'Next' of step 'Train Model'"))
        #expect(broken.output.hasSuffix("validated 1 file: 1 error, 0 warnings\n"))
        // The same for tools, as JSON.
        let json = try run(["validate", "Tests/SluiceSpecTests/Fixtures/unknown-step", "--format", "json"])
        let report = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any]
        let diagnostic = (report?["diagnostics"] as? [[String: Any]])?.first
        #expect(json.status == 1 && report?["errors"] as? Int == 1, "\(json.output)")
        #expect(diagnostic?["code"] as? String == "unknown-step" && diagnostic?["fix"] as? String != nil)
        #expect((diagnostic?["location"] as? [String: Any])?["line"] as? Int == 11)
    }

    /// A folder is read recursively for `.yaml`, `.yml` and `.json` files, skipping hidden folders and `data`.
    @Test func validateReadsAFolderSkippingHiddenAndDataFolders() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build the sluice binary first")
        let folder = NSTemporaryDirectory() + "sluice-folder-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let files = [
            "echo.yml": "name: Echo\nimplementation: {builtin: echo}\ninputs: []\noutputs: []\n",
            "sub/noop.json": #"{"name": "Noop", "implementation": {"builtin": "noop"}, "inputs": [], "outputs": []}"#,
            ".hidden/broken.yaml": "name: [\n", "data/broken.yaml": "name: [\n", "notes.txt": "not a spec\n",
        ]
        for (name, text) in files {
            let path = folder + "/" + name
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        }
        let result = try run(["validate", folder])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output == "validated 2 files: 0 errors, 0 warnings\n", "\(result.output)")
    }

    @Test func graphAndSchemaPrintTheirFormats() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build the sluice binary first")
        let dot = try run(["graph", "examples/w2-abalone/pipeline.yaml", "--format", "dot"])
        #expect(dot.status == 0)
        #expect(dot.output.contains("\"Check MSE\" -> \"MSE Too High\" [label=\"else\"];"))
        let mermaid = try run(["graph", "examples/w2-abalone/pipeline.yaml", "--format", "mermaid"])
        #expect(mermaid.output.hasPrefix("flowchart TD"))
        let text = try run(["graph", "examples/w2-abalone/pipeline.yaml"])
        #expect(text.status == 0 && text.output.hasPrefix("pipeline AbaloneRegression\n"), "\(text.output)")
        for (kind, key) in [("module", "implementation"), ("pipeline", "max_concurrent_executions")] {
            let schema = try run(["schema", "--kind", kind])
            let object = try JSONSerialization.jsonObject(with: Data(schema.output.utf8)) as? [String: Any]
            #expect(object?["$schema"] as? String == "https://json-schema.org/draft/2020-12/schema")
            #expect((object?["properties"] as? [String: Any])?[key] != nil, "\(kind)")
        }
    }
}
