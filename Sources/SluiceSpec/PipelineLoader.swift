import Foundation
import SluiceCore

/// What validation checks beyond the spec itself.
@MemberwiseInit
public struct ValidationOptions: Sendable {
    /// The built-in step names that exist; nil means built-in names are not checked.
    public var knownBuiltins: Set<String>?
    /// Published module versions: a pipeline's `module`/`ModuleId` that its own folders do not hold resolves here
    /// (the latest version that is not deprecated, or `Name@N`).
    public var catalog: [CatalogModuleVersion] = []
}

/// What a spec file holds, decided by its keys: a pipeline has `steps`, anything else is a module.
public enum SpecKind: String, Sendable, CaseIterable {
    case module, pipeline
}

/// Loads module and pipeline specs from disk and validates them.
///
/// Module discovery for a pipeline file: every module file (`.yaml`, `.yml`, `.json`) in the pipeline's folder and
/// in its `modules/` subfolder, plus each file or folder listed under the pipeline's `modules:` key (paths relative
/// to the pipeline file).
public enum PipelineLoader {
    static let extensions: Set<String> = ["yaml", "yml", "json"]

    /// Loads and validates the pipeline file at `path` with the modules it can see; pipeline is nil when any error.
    public static func load(
        path: String, options: ValidationOptions = ValidationOptions()
    ) -> (pipeline: Pipeline?, diagnostics: [Diagnostic]) {
        var cache = FileCache(options: options)
        let result = compilePipeline(path: path, cache: &cache)
        return (result.diagnostics.hasErrors ? nil : result.pipeline, result.diagnostics)
    }

    /// Validates every module and pipeline file under the paths (files or folders), collecting every diagnostic.
    public static func validate(
        paths: [String], options: ValidationOptions = ValidationOptions()
    ) -> [Diagnostic] {
        validateReport(paths: paths, options: options).diagnostics
    }

    /// Like `validate(paths:options:)`, also naming the files that were read.
    public static func validateReport(
        paths: [String], options: ValidationOptions = ValidationOptions()
    ) -> (files: [String], diagnostics: [Diagnostic]) {
        var cache = FileCache(options: options)
        var diagnostics: [Diagnostic] = []
        var files: [String] = []
        for path in paths {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
                diagnostics.append(
                    .error(
                        "missing-file", "no such file or folder", at: SourceLocation(file: path, line: 1, column: 1),
                        fix: "check the path"))
                continue
            }
            files += isFolder.boolValue ? specFiles(under: path, recursive: true) : [path]
        }
        for file in files {
            let parsed = cache.parsed(file)
            switch parsed.kind {
            case .pipeline:
                diagnostics += compilePipeline(path: file, cache: &cache).diagnostics
            case .module, nil:
                diagnostics += parsed.diagnostics
            }
        }
        return (files, unique(diagnostics))
    }

    /// Parses any spec text without touching the disk: a module, or a pipeline seeing `modules`.
    public static func validate(
        text: String, file: String, modules: [Module] = [], options: ValidationOptions = ValidationOptions()
    ) -> (kind: SpecKind?, pipeline: Pipeline?, module: Module?, diagnostics: [Diagnostic]) {
        let reporter = Reporter()
        guard let root = SpecReader.parse(text, file: file, diagnostics: &reporter.diagnostics) else {
            return (nil, nil, nil, reporter.diagnostics)
        }
        switch kind(of: root) {
        case .pipeline:
            let pipeline = PipelineCompiler(modules: modules, reporter: reporter).compile(root)
            return (.pipeline, reporter.diagnostics.hasErrors ? nil : pipeline, nil, reporter.diagnostics)
        case .module:
            let module = ModuleSpec.module(
                from: root, baseDirectory: SpecPaths.folder(of: file), options: options, reporter: reporter)
            return (.module, nil, reporter.diagnostics.hasErrors ? nil : module, reporter.diagnostics)
        }
    }

    static func kind(of root: SpecNode) -> SpecKind {
        let keys = (root.entries ?? []).map { Fields.canonical($0.key) }
        return keys.contains("steps") ? .pipeline : .module
    }

    private static func compilePipeline(path: String, cache: inout FileCache) -> (
        pipeline: Pipeline?, diagnostics: [Diagnostic]
    ) {
        let parsed = cache.parsed(path)
        guard let root = parsed.root else { return (nil, parsed.diagnostics) }
        let reporter = Reporter()
        reporter.diagnostics = parsed.diagnostics
        let folder = (path as NSString).deletingLastPathComponent
        var moduleFiles = specFiles(under: folder.isEmpty ? "." : folder, recursive: false)
        moduleFiles += specFiles(under: (folder as NSString).appendingPathComponent("modules"), recursive: false)
        for (listed, location) in PipelineCompiler.modulePaths(root, reporter: reporter) {
            let full = normalized(listed.hasPrefix("/") ? listed : (folder as NSString).appendingPathComponent(listed))
            var isFolder: ObjCBool = false
            if !FileManager.default.fileExists(atPath: full, isDirectory: &isFolder) {
                reporter.error(
                    "missing-file", "module path '\(listed)' does not exist", at: location,
                    fix: "write a path relative to the pipeline file")
                continue
            }
            moduleFiles += isFolder.boolValue ? specFiles(under: full, recursive: false) : [full]
        }
        var modules: [Module] = []
        var moduleDiagnostics: [String: [Diagnostic]] = [:]
        var seen: Set<String> = []
        for file in moduleFiles {
            let standard = (file as NSString).standardizingPath
            guard seen.insert(standard).inserted, standard != (path as NSString).standardizingPath else { continue }
            let module = cache.parsed(file)
            guard module.kind == .module else { continue }
            if let value = module.module {
                modules.append(value)
                moduleDiagnostics[value.name, default: []] += module.diagnostics
            }
        }
        modules = CatalogModules.adding(cache.catalogModules, to: modules)
        let pipeline = PipelineCompiler(modules: modules, reporter: reporter).compile(root)
        // A module's own problems matter to every pipeline that uses it.
        for name in (pipeline?.modules.keys.sorted() ?? []) { reporter.diagnostics += moduleDiagnostics[name] ?? [] }
        let diagnostics = unique(reporter.diagnostics)
        return (pipeline, diagnostics)
    }

    /// The spec files directly in `folder`, sorted.
    public static func specFiles(in folder: String) -> [String] { specFiles(under: folder, recursive: false) }

    /// Spec files under `folder`, sorted; hidden folders and `data` folders are skipped.
    static func specFiles(under folder: String, recursive: Bool) -> [String] {
        let manager = FileManager.default
        guard let names = try? manager.contentsOfDirectory(atPath: folder) else { return [] }
        var files: [String] = []
        for name in names.sorted() where !name.hasPrefix(".") {
            let path = folder == "." ? name : (folder as NSString).appendingPathComponent(name)
            var isFolder: ObjCBool = false
            guard manager.fileExists(atPath: path, isDirectory: &isFolder) else { continue }
            if isFolder.boolValue {
                if recursive, name != "data" { files += specFiles(under: path, recursive: true) }
            } else if extensions.contains((name as NSString).pathExtension.lowercased()) {
                files.append(path)
            }
        }
        return files
    }

    /// Removes `.` and resolves `..` components lexically, keeping the path relative when it was.
    static func normalized(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == "..", let last = parts.last, last != ".." {
                parts.removeLast()
            } else {
                parts.append(part)
            }
        }
        let joined = parts.joined(separator: "/")
        return path.hasPrefix("/") ? "/" + joined : (joined.isEmpty ? "." : joined)
    }

    static func unique(_ diagnostics: [Diagnostic]) -> [Diagnostic] {
        var seen: Set<Diagnostic> = []
        return diagnostics.filter { seen.insert($0).inserted }
    }
}

/// Each file is read and parsed once per load, however many pipelines see it.
struct FileCache {
    struct Parsed {
        var root: SpecNode?
        var kind: SpecKind?
        var module: Module?
        var diagnostics: [Diagnostic]
    }

    let options: ValidationOptions
    /// The catalog's modules, read once per load.
    let catalogModules: [Module]
    private var files: [String: Parsed] = [:]

    init(options: ValidationOptions) {
        self.options = options
        catalogModules = CatalogModules.modules(options.catalog)
    }

    mutating func parsed(_ path: String) -> Parsed {
        let key = (path as NSString).standardizingPath
        if let cached = files[key] { return cached }
        var result = Parsed(diagnostics: [])
        let location = SourceLocation(file: path, line: 1, column: 1)
        if let data = FileManager.default.contents(atPath: path) {
            if let text = String(data: data, encoding: .utf8) {
                let reporter = Reporter()
                result.root = SpecReader.parse(text, file: path, diagnostics: &reporter.diagnostics)
                if let root = result.root {
                    result.kind = PipelineLoader.kind(of: root)
                    if result.kind == .module {
                        // Code files of command, Lambda and Glue modules sit beside the module file.
                        result.module = ModuleSpec.module(
                            from: root, baseDirectory: SpecPaths.folder(of: path), options: options,
                            reporter: reporter)
                    }
                }
                result.diagnostics = reporter.diagnostics
            } else {
                result.diagnostics = [
                    .error("yaml-syntax", "the file is not UTF-8 text", at: location, fix: "save it as UTF-8")
                ]
            }
        } else {
            result.diagnostics = [.error("missing-file", "cannot read the file", at: location, fix: "check the path")]
        }
        files[key] = result
        return result
    }
}
