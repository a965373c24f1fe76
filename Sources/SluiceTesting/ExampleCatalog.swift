import Foundation
import SluiceCore
import SluiceSpec

/// The repository's example modules as the catalog holds them after the README's
/// `sluice modules publish examples/seed-000 examples/modules`, for tests that load the examples without a store.
public enum ExampleCatalog {
    /// The repository's `examples` folder.
    public static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("examples").path

    /// The folders under `examples/` the README publishes.
    public static let publishedFolders = ["seed-000", "modules"]

    /// Version 1 of every module spec directly in `folders` (under `examples/`); pipelines beside them are skipped,
    /// as `sluice modules publish` skips them.
    public static func versions(_ folders: [String] = publishedFolders) -> [CatalogModuleVersion] {
        var versions: [CatalogModuleVersion] = []
        for folder in folders {
            for file in PipelineLoader.specFiles(in: examples + "/" + folder) {
                guard let text = try? String(contentsOfFile: file, encoding: .utf8),
                    let module = PipelineLoader.validate(text: text, file: file).module
                else { continue }
                versions.append(
                    CatalogModuleVersion(
                        name: module.name, version: 1, id: module.id ?? "example-\(module.name)",
                        contentHash: "sha256:" + SHA256.hex(Array(text.utf8)), spec: text, source: file,
                        publishedBy: "examples", publishedAt: 0))
            }
        }
        return versions
    }

    /// Validation with every built-in known and the example modules published.
    public static var options: ValidationOptions {
        ValidationOptions(knownBuiltins: BuiltinCatalog.names, catalog: versions())
    }
}
