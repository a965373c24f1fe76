import ArgumentParser
import Testing

@testable import SluiceCLI

/// `sluice --help` lists the commands a user types; benchmarks live in `sluice-bench`, and the exported image's entry
/// point (`job`) runs without being listed.
@Suite struct HelpTests {
    /// The first word of each line of the help's SUBCOMMANDS section.
    static func listedCommands(_ help: String) -> Set<String> {
        let lines = help.split(separator: "\n", omittingEmptySubsequences: false)
        guard let start = lines.firstIndex(where: { $0.hasPrefix("SUBCOMMANDS:") }) else { return [] }
        let section = lines[(start + 1)...].prefix { !$0.isEmpty }
        return Set(
            section.compactMap { line -> String? in
                // Commands stand indented by two spaces; their wrapped abstracts by many more.
                guard line.hasPrefix("  "), !line.hasPrefix("   ") else { return nil }
                return line.split(separator: " ").first.map(String.init)
            })
    }

    @Test func sluiceHelpListsUserCommandsOnly() throws {
        let listed = Self.listedCommands(SluiceCommand.helpMessage(columns: 120))
        #expect(listed.isSuperset(of: ["run", "serve", "endpoints", "models", "export", "monitor"]), "\(listed)")
        let unlisted: Set<String> = [
            "job", "bench-train", "bench-engine", "bench-drift", "serve-bench", "console-bench",
        ]
        #expect(listed.isDisjoint(with: unlisted), "\(listed)")
        #expect(Self.listedCommands(SluiceBenchCommand.helpMessage(columns: 120)) == unlisted.subtracting(["job"]))
        // The unlisted entry point still parses.
        let parsed = try SluiceCommand.parseAsRoot(["job", "--module", "{}"])
        #expect(parsed is JobCommand)
    }
}
