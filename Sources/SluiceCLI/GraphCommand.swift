import ArgumentParser
import Foundation
import SluiceCore
import SluiceSpec
import SluiceStore

/// `sluice graph PIPELINE`: the resolved step graph as text, Graphviz DOT or Mermaid.
struct GraphCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph",
        abstract: "Print a pipeline's resolved graph (steps, edges, references) as text, DOT or Mermaid."
    )

    @Argument(help: "The pipeline file.") var pipeline: String
    @Option(help: "text, dot (Graphviz) or mermaid.") var format: GraphRenderer.Format = .text

    func run() throws {
        let (loaded, diagnostics) = PipelineLoader.load(
            path: pipeline, options: ValidationOptions(catalog: try SluiceHome.resolve().catalog()))
        for diagnostic in diagnostics { writeToStandardError(diagnostic.description) }
        guard let loaded else { throw ExitCode.failure }
        print(GraphRenderer.render(loaded, as: format), terminator: "")
    }
}

extension GraphRenderer.Format: ExpressibleByArgument {}

private func writeToStandardError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
