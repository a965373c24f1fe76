import Foundation

/// The pinned Python packages tests use as oracles (`scripts/python-tools` installs them into a cached venv).
public enum PythonTools {
    /// The venv's interpreter: `$SLUICE_TEST_VENV/bin/python`, default `~/.cache/sluice-test/venv/bin/python`.
    public static let python: String = {
        let venv =
            ProcessInfo.processInfo.environment["SLUICE_TEST_VENV"]
            ?? FileManager.default.homeDirectoryForCurrentUser.path + "/.cache/sluice-test/venv"
        return venv + "/bin/python"
    }()

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Runs `python ARGUMENTS…` with the venv's interpreter and returns its standard output; throws with its
    /// standard error when it fails or the venv is missing.
    public static func run(_ arguments: [String]) throws -> String {
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw Failure(description: "\(python) is missing: run scripts/python-tools (scripts/test runs it)")
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("python-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let outputURL = folder.appendingPathComponent("stdout")
        let errorURL = folder.appendingPathComponent("stderr")
        FileManager.default.createFile(atPath: outputURL.path, contents: nil)
        FileManager.default.createFile(atPath: errorURL.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = arguments
        process.standardOutput = try FileHandle(forWritingTo: outputURL)
        process.standardError = try FileHandle(forWritingTo: errorURL)
        try process.run()
        process.waitUntilExit()
        let output = String(decoding: (try? Data(contentsOf: outputURL)) ?? Data(), as: UTF8.self)
        guard process.terminationStatus == 0 else {
            let errors = String(decoding: (try? Data(contentsOf: errorURL)) ?? Data(), as: UTF8.self)
            throw Failure(
                description: "python \(arguments.joined(separator: " ")) exited \(process.terminationStatus): \(errors)"
            )
        }
        return output
    }
}
