import Foundation
import SluiceCore
import SluiceSpec
import Testing

/// Pipelines resolve modules from their own folders first, then from the catalog.
@Suite struct CatalogResolutionTests {
    let folder = NSTemporaryDirectory() + "sluice-catalog-spec-\(UUID().uuidString)"

    func version(_ name: String, _ number: Int, id: String, description: String, deprecated: Bool = false)
        -> CatalogModuleVersion
    {
        let spec = """
            name: \(name)
            description: \(description)
            id: \(id)
            type: Builtin
            implementation:
              builtin: noop
            """
        return CatalogModuleVersion(
            name: name, version: number, id: id, contentHash: "sha256:\(name)\(number)", spec: spec,
            source: folder + "/published/\(name).yaml", publishedBy: "ana", publishedAt: 1, deprecated: deprecated)
    }

    var catalog: [CatalogModuleVersion] {
        [
            version("Loader", 1, id: "123e4567-e89b-12d3-a456-426614174000", description: "one"),
            version("Loader", 2, id: "123e4567-e89b-12d3-a456-426614174000", description: "two"),
            version("Loader", 3, id: "123e4567-e89b-12d3-a456-426614174000", description: "three", deprecated: true),
            version("Trainer", 1, id: "223e4567-e89b-12d3-a456-426614174000", description: "train"),
        ]
    }

    func load(_ pipeline: String) throws -> (Pipeline?, [Diagnostic]) {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try pipeline.write(toFile: folder + "/pipeline.yaml", atomically: true, encoding: .utf8)
        return PipelineLoader.load(path: folder + "/pipeline.yaml", options: ValidationOptions(catalog: catalog))
    }

    @Test func latestNotDeprecatedByIdAndPinnedByVersion() throws {
        let (pipeline, diagnostics) = try load(
            """
            name: P
            steps:
              - name: Load
                ModuleId: 123e4567-e89b-12d3-a456-426614174000
              - name: Pinned
                module: Loader@1
                after: [Load]
              - name: Train
                module: Trainer
                after: [Pinned]
            """)
        let loaded = try #require(pipeline, "\(diagnostics)")
        #expect(
            loaded.modules["Loader"]?.catalog
                == CatalogReference(name: "Loader", version: 2, contentHash: "sha256:Loader2"))
        #expect(loaded.modules["Loader"]?.description == "two")
        #expect(loaded.modules["Loader@1"]?.catalog?.version == 1)
        #expect(loaded.modules["Trainer"]?.catalog?.version == 1)
    }

    @Test func aModuleInThePipelinesFolderWinsOverTheCatalog() throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try "name: Trainer\ntype: Builtin\nimplementation:\n  builtin: noop\n".write(
            toFile: folder + "/trainer.yaml", atomically: true, encoding: .utf8)
        let (pipeline, diagnostics) = try load("name: P\nsteps:\n  - name: Train\n    module: Trainer\n")
        let loaded = try #require(pipeline, "\(diagnostics)")
        #expect(loaded.modules["Trainer"]?.catalog == nil)
    }

    @Test func unknownModuleIdNamesTheNearestCatalogModule() throws {
        let (pipeline, diagnostics) = try load(
            "name: P\nsteps:\n  - name: Load\n    ModuleId: 123e4567-e89b-12d3-a456-426614174999\n")
        #expect(pipeline == nil)
        let error = try #require(diagnostics.first { $0.code == "unknown-module" })
        #expect(error.location?.line == 4 && error.location?.column == 15)
        #expect(error.message.contains("did you mean 'Loader'?"))
        let (_, other) = try load(
            "name: P\nsteps:\n  - name: Load\n    ModuleId: 99999999-0000-0000-0000-000000000000\n")
        let listed = try #require(other.first { $0.code == "unknown-module" })
        #expect(listed.message.contains("modules it sees: Loader, Trainer"))
        let (_, named) = try load("name: P\nsteps:\n  - name: Train\n    module: Trainr\n")
        #expect(named.contains { $0.code == "unknown-module" && $0.message.contains("did you mean 'Trainer'?") })
    }
}
