import Foundation

/// The folder a server runs submitted pipelines from (`sluice serve --pipelines DIR`): a submission naming a file
/// outside it — an absolute path elsewhere, a `..` escape, a symbolic link that leads out — is refused before any
/// file is opened, and no diagnostic about a file outside it is sent back.
public struct PipelineRoot: Sendable {
    /// The folder as given, and with its symbolic links resolved.
    public let path: String
    let resolved: String

    public init(_ path: String) {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        self.path = Self.normalized(absolute)
        self.resolved = Self.resolvingLinks(self.path)
    }

    /// Why `submitted` may not be run, or nil when it names a file under the root. Reads no file: only path
    /// components and symbolic links are looked at.
    public func refusal(_ submitted: String) -> String? {
        let absolute = Self.normalized(submitted.hasPrefix("/") ? submitted : path + "/" + submitted)
        guard Self.isWithin(absolute, path) else {
            return "'\(submitted)' is outside the pipeline root; submit a path under the folder given to "
                + "`sluice serve --pipelines` (relative paths are read from there)"
        }
        guard Self.isWithin(Self.resolvingLinks(absolute), resolved) else {
            return "'\(submitted)' is a symbolic link (or lies under one) that leads out of the pipeline root; "
                + "copy the pipeline into the root instead"
        }
        return nil
    }

    /// Whether a diagnostic line (`file:line:column: …`) is about a file under the root; relative files are read
    /// from the root.
    public func contains(diagnostic: String) -> Bool {
        let file = diagnostic.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
        let absolute = Self.normalized(file.hasPrefix("/") ? file : path + "/" + file)
        return Self.isWithin(absolute, path) && Self.isWithin(Self.resolvingLinks(absolute), resolved)
    }

    static func isWithin(_ candidate: String, _ folder: String) -> Bool {
        folder == "/" || candidate == folder || candidate.hasPrefix(folder + "/")
    }

    /// `path` with `.`, `..` and repeated slashes removed, without touching the file system.
    static func normalized(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            switch part {
            case ".": continue
            case "..": _ = parts.popLast()
            default: parts.append(part)
            }
        }
        return "/" + parts.joined(separator: "/")
    }

    /// `path` with every symbolic link resolved; a missing tail is kept as written below its deepest existing
    /// folder (so a missing file inside the root stays inside it).
    static func resolvingLinks(_ path: String) -> String {
        var existing = path
        var tail: [String] = []
        while existing != "/" {
            if let resolved = realpath(existing, nil) {
                defer { free(resolved) }
                return normalized(([String(cString: resolved)] + tail.reversed()).joined(separator: "/"))
            }
            let url = URL(fileURLWithPath: existing)
            tail.append(url.lastPathComponent)
            existing = url.deletingLastPathComponent().path
        }
        return path
    }
}
