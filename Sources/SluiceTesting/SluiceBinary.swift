import Foundation

/// The built `sluice` binary next to the test bundle; built on demand so a test does not depend on build order.
public enum SluiceBinary {
    /// The binary's path.
    public static let path: String = {
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let bundleFolder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
        let candidates = [bundleFolder + "/sluice", packageRoot + "/.build/debug/sluice"]
        if let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) { return found }
        let build = Process()
        build.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        build.arguments = ["swift", "build", "--product", "sluice", "--package-path", packageRoot]
        try? build.run()
        build.waitUntilExit()
        return packageRoot + "/.build/debug/sluice"
    }()
}
