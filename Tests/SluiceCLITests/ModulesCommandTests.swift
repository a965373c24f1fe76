import Foundation
import SluiceCore
import Testing

/// `sluice modules` through the binary: publish, list, show, deprecate, and a pipeline in another folder running
/// a published module by its id.
@Suite struct ModulesCommandTests {
    @Test func publishedModuleRunsFromAnotherFolderAndTheExecutionRecordsItsVersion() throws {
        let sandbox = try ServingSandbox()
        defer { try? FileManager.default.removeItem(atPath: sandbox.folder) }
        let published = sandbox.folder + "/published"
        try FileManager.default.createDirectory(atPath: published, withIntermediateDirectories: true)
        let spec = """
            name: Echoer
            id: 3f1e4567-e89b-12d3-a456-426614174000
            type: Builtin
            implementation:
              builtin: noop
            """
        try spec.write(toFile: published + "/echoer.yaml", atomically: true, encoding: .utf8)
        var result = try sandbox.run(["modules", "publish", published])
        #expect(result.status == 0 && result.out.contains("published Echoer@1"), "\(result)")
        result = try sandbox.run(["modules", "publish", published + "/echoer.yaml"])
        #expect(result.status == 0 && result.out.contains("unchanged Echoer@1"), "\(result)")
        try (spec + "\ndescription: second\n").write(
            toFile: published + "/echoer.yaml", atomically: true, encoding: .utf8)
        result = try sandbox.run(["modules", "publish", published])
        #expect(result.status == 0 && result.out.contains("published Echoer@2"), "\(result)")
        result = try sandbox.run(["modules", "deprecate", "Echoer@2", "--reason", "not ready"])
        #expect(result.status == 0, "\(result)")
        result = try sandbox.run(["modules", "list", "--format", "json"])
        let listed = try #require((try? JSONDecoder().decode(JSONValue.self, from: Data(result.out.utf8)))?.array)
        #expect(listed.map { $0["version"] } == [.int(1), .int(2)])
        #expect(listed.map { $0["deprecated"] } == [.bool(false), .bool(true)])
        result = try sandbox.run(["modules", "show", "Echoer@1"])
        #expect(result.status == 0 && result.out.contains("Echoer@1  id 3f1e4567-e89b-12d3-a456-426614174000"))
        result = try sandbox.run(["modules", "show", "Echoerr"])
        #expect(result.status != 0 && result.err.contains("did you mean 'Echoer'?"), "\(result)")

        // A pipeline elsewhere refers to the module by id: the latest version not deprecated (1) runs.
        let pipelines = sandbox.folder + "/pipelines"
        try FileManager.default.createDirectory(atPath: pipelines, withIntermediateDirectories: true)
        try "name: UsesCatalog\nsteps:\n  - name: Echo\n    ModuleId: 3f1e4567-e89b-12d3-a456-426614174000\n"
            .write(toFile: pipelines + "/pipeline.yaml", atomically: true, encoding: .utf8)
        result = try sandbox.run(["validate", pipelines])
        #expect(result.status == 0, "\(result)")
        result = try sandbox.run(["run", pipelines + "/pipeline.yaml"])
        #expect(result.status == 0, "\(result)")
        result = try sandbox.run(["executions", "--format", "json"])
        let execution = try #require(
            (try? JSONDecoder().decode(JSONValue.self, from: Data(result.out.utf8)))?.array?.first?["id"]?.string,
            "\(result)")
        result = try sandbox.run(["show", execution])
        #expect(result.out.contains("catalog modules Echoer@1"), "\(result)")

        // A mistyped id is a located error naming the nearest published module.
        try "name: Typo\nsteps:\n  - name: Echo\n    ModuleId: 3f1e4567-e89b-12d3-a456-426614174999\n"
            .write(toFile: pipelines + "/typo.yaml", atomically: true, encoding: .utf8)
        result = try sandbox.run(["validate", pipelines + "/typo.yaml"])
        #expect(result.status != 0)
        #expect(result.out.contains("typo.yaml:4:15: error: step 'Echo' uses unknown module"), "\(result)")
        #expect(result.out.contains("did you mean 'Echoer'?"), "\(result)")
    }
}
