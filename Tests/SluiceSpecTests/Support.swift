import Foundation
import SluiceCore
import SluiceSpec

/// Paths of the repository, found from this file so tests run from any working directory.
enum Paths {
    static let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let fixtures = tests.appendingPathComponent("Fixtures").path
    static let repository = tests.deletingLastPathComponent().deletingLastPathComponent()
    static let examples = repository.appendingPathComponent("examples").path

    static func example(_ relative: String) -> String { examples + "/" + relative }

    static func text(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }
}

/// The built-in step catalog every part of Sluice agrees on.
let builtinCatalog: Set<String> = BuiltinCatalog.names

extension Diagnostic {
    /// The compiler-style text with `root/` removed from the file path, as golden files store it.
    func relative(to root: String) -> String {
        var copy = self
        if let location, location.file.hasPrefix(root + "/") {
            copy.location?.file = String(location.file.dropFirst(root.count + 1))
        }
        return copy.description
    }
}
