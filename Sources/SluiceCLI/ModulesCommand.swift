import ArgumentParser
import Foundation
import SluiceCore
import SluiceSpec
import SluiceStore

extension CatalogModuleVersion {
    var json: JSONValue {
        var object: [String: JSONValue] = [
            "name": .string(name), "version": .int(version), "id": .string(id), "contentHash": .string(contentHash),
            "source": .string(source), "publishedBy": .string(publishedBy), "publishedAt": .double(publishedAt),
            "deprecated": .bool(deprecated),
        ]
        if let deprecationReason { object["deprecationReason"] = .string(deprecationReason) }
        return .object(object)
    }
}

extension SluiceHome {
    /// The published module versions, for resolving pipelines; none when there is no store yet.
    func catalog() throws -> [CatalogModuleVersion] {
        guard FileManager.default.fileExists(atPath: databasePath) else { return [] }
        return try open(durability: try SluiceHome.durability()).catalogModules(name: nil)
    }
}

/// `sluice modules`: the module catalog.
struct ModulesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "modules", abstract: "Publish module specs to the catalog, list, show and deprecate them.",
        subcommands: [Publish.self, List.self, Show.self, Deprecate.self])

    struct Publish: ReportingCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record module spec files (or every module file in folders) as catalog versions.")

        @Argument(help: "Module spec files or folders.") var paths: [String]
        @OptionGroup var output: OutputFormat

        func execute() throws {
            var files: [String] = []
            for path in paths {
                var isFolder: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
                    throw CLIError("\(path): no such file or folder")
                }
                files += isFolder.boolValue ? PipelineLoader.specFiles(in: path) : [path]
            }
            var specs: [(file: String, text: String, module: Module)] = []
            var failed = false
            for file in files {
                guard
                    let text = FileManager.default.contents(atPath: file).flatMap({ String(data: $0, encoding: .utf8) })
                else { throw CLIError("\(file): cannot read the file as UTF-8 text") }
                let result = PipelineLoader.validate(text: text, file: file)
                // A folder may hold pipelines beside its modules: they are not published, so not checked here
                // (on their own, without their folder's modules, their references would not resolve).
                if result.kind == .pipeline { continue }
                for diagnostic in result.diagnostics { printError(diagnostic.description) }
                guard let module = result.module else {
                    failed = true
                    continue
                }
                specs.append((file, text, module))
            }
            if failed { throw CLIError("nothing was published: fix the errors above") }
            let store = try EngineContext.open().store
            let user = ProcessInfo.processInfo.environment["USER"] ?? "unknown"
            var published: [JSONValue] = []
            for spec in specs {
                let source = URL(fileURLWithPath: spec.file).standardizedFileURL.path
                let (version, created) = try store.publishModule(
                    name: spec.module.name, id: spec.module.id, newID: UUID().uuidString.lowercased(),
                    spec: spec.text, source: source, by: user, at: Date().timeIntervalSince1970)
                var json = version.json.object ?? [:]
                json["created"] = .bool(created)
                published.append(.object(json))
                if !output.json {
                    print(
                        created
                            ? "published \(version.reference)  \(version.id)  \(spec.file)"
                            : "unchanged \(version.reference)  \(version.id)  \(spec.file) (identical to that version)")
                }
            }
            if output.json { printJSON(.array(published)) }
        }
    }

    struct List: ReportingCommand {
        static let configuration = CommandConfiguration(abstract: "List every published version.")

        @OptionGroup var output: OutputFormat

        func execute() throws {
            let versions = try SluiceHome.resolve().catalog()
            if output.json {
                printJSON(.array(versions.map(\.json)))
                return
            }
            for version in versions {
                print(
                    "\(version.reference)  \(version.id)  \(version.publishedBy)"
                        + (version.deprecated ? "  deprecated" : ""))
            }
        }
    }

    struct Show: ReportingCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one version (Name@N), the latest of a name, or the latest with an id, and its spec.")

        @Argument(help: "Name, Name@N or the module's id.") var reference: String
        @OptionGroup var output: OutputFormat

        func execute() throws {
            let version = try ModulesCommand.resolve(reference, in: try SluiceHome.resolve().catalog())
            if output.json {
                var json = version.json.object ?? [:]
                json["spec"] = .string(version.spec)
                printJSON(.object(json))
                return
            }
            print("\(version.reference)  id \(version.id)  \(version.contentHash)")
            print("published by \(version.publishedBy) from \(version.source)")
            if version.deprecated { print("deprecated" + (version.deprecationReason.map { ": \($0)" } ?? "")) }
            print(version.spec)
        }
    }

    struct Deprecate: ReportingCommand {
        static let configuration = CommandConfiguration(
            abstract: "Deprecate a version: pipelines stop picking it as the latest; pins to it still resolve.")

        @Argument(help: "Name@N (or Name, Id: the latest version).") var reference: String
        @Option(help: "Why, recorded with the version.") var reason: String?

        func execute() throws {
            let store = try EngineContext.open().store
            let version = try ModulesCommand.resolve(reference, in: try store.catalogModules(name: nil))
            let updated = try store.deprecateModule(name: version.name, version: version.version, reason: reason)
            print("deprecated \(updated.reference)")
        }
    }

    /// `Name@N`, `Name` (its latest version) or an id (the latest version with it).
    static func resolve(_ reference: String, in versions: [CatalogModuleVersion]) throws -> CatalogModuleVersion {
        if let at = reference.lastIndex(of: "@"), let number = Int(reference[reference.index(after: at)...]) {
            let name = String(reference[..<at])
            if let found = versions.first(where: { $0.name == name && $0.version == number }) { return found }
            let count = versions.filter { $0.name == name }.count
            throw CLIError(
                count == 0
                    ? unknown(name, versions) : "module '\(name)' has no version \(number); its versions are 1…\(count)"
            )
        }
        if let found = versions.last(where: { $0.name == reference || $0.id == reference.lowercased() }) {
            return found
        }
        throw CLIError(unknown(reference, versions))
    }

    private static func unknown(_ name: String, _ versions: [CatalogModuleVersion]) -> String {
        let names = Set(versions.map(\.name)).sorted()
        let hint = closestMatch(to: name, in: names).map { "; did you mean '\($0)'?" } ?? ""
        return "no module '\(name)' in the catalog\(hint); list them with `sluice modules list`"
    }
}
