import ArgumentParser
import SluiceSpec

/// `sluice schema`: JSON Schema of module and pipeline specs for editor completion.
struct SchemaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "Print the JSON Schema (draft 2020-12) of module or pipeline specs, for editor completion."
    )

    @Option(help: "module or pipeline.") var kind: SpecKind = .pipeline

    func run() throws {
        print(SpecSchema.json(for: kind))
    }
}

extension SpecKind: ExpressibleByArgument {}
