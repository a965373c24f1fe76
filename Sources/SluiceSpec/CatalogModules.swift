import Foundation
import SluiceCore

/// The modules a pipeline sees from the catalog, after its own folders: each name's latest version that is not
/// deprecated as `Name` (and by its id), and every version pinned as `Name@N`.
enum CatalogModules {
    /// Versions were validated when published; their built-in names are checked where they run.
    static func modules(_ versions: [CatalogModuleVersion]) -> [Module] {
        var latest: [String: Module] = [:]
        var pinned: [Module] = []
        for entry in versions {
            let reporter = Reporter()
            guard let root = SpecReader.parse(entry.spec, file: entry.source, diagnostics: &reporter.diagnostics),
                var module = ModuleSpec.module(
                    from: root, baseDirectory: (entry.source as NSString).deletingLastPathComponent,
                    options: ValidationOptions(), reporter: reporter),
                !reporter.diagnostics.hasErrors
            else { continue }
            module.catalog = CatalogReference(name: entry.name, version: entry.version, contentHash: entry.contentHash)
            module.id = entry.id
            if !entry.deprecated, (latest[entry.name]?.catalog?.version ?? 0) < entry.version {
                latest[entry.name] = module
            }
            module.name = entry.reference
            module.id = nil
            pinned.append(module)
        }
        return latest.keys.sorted().compactMap { latest[$0] } + pinned
    }

    /// `modules` followed by the catalog's modules whose name and id none of `modules` has.
    static func adding(_ catalog: [Module], to modules: [Module]) -> [Module] {
        let names = Set(modules.map(\.name))
        let ids = Set(modules.compactMap(\.id))
        return modules + catalog.filter { !names.contains($0.name) && !($0.id.map(ids.contains) ?? false) }
    }
}
