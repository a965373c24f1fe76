import Foundation
import SluiceCore
import SluiceSpec
import SluiceStore
import Testing

@testable import SluiceCLI

@Suite struct BuiltinCatalogTests {
    /// `validate` checks built-in names against `BuiltinCatalog`; `run` registers `EngineContext.builtins`.
    @Test func validateAcceptsExactlyTheBuiltinsRunRegisters() throws {
        let sandbox = try ServingSandbox()
        defer { try? FileManager.default.removeItem(atPath: sandbox.folder) }
        let registered = EngineContext.builtins(
            store: sandbox.store, artifacts: ArtifactStore(root: sandbox.homePath + "/artifacts")
        ).map(\.name)
        #expect(registered.count == Set(registered).count, "a built-in is registered twice")
        #expect(Set(registered) == BuiltinCatalog.names)
        for name in ["noop", "echo", "fail"] {
            let text = "name: M\ntype: Builtin\nimplementation: {builtin: \(name)}\ninputs: []\noutputs: []\n"
            let result = PipelineLoader.validate(
                text: text, file: "module.yaml", options: ValidationOptions(knownBuiltins: BuiltinCatalog.names))
            #expect(result.diagnostics.isEmpty, "built-in '\(name)': \(result.diagnostics)")
        }
    }
}
