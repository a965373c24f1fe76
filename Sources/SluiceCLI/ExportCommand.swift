import ArgumentParser
import Foundation
import SluiceCloud
import SluiceCore
import SluiceSpec
import SluiceStore

/// `sluice export stepfunctions|sagemaker PIPELINE`: the pipeline as AWS runs it.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a pipeline as AWS Step Functions (ASL + CloudFormation) or a SageMaker pipeline definition.",
        subcommands: [StepFunctions.self, SageMaker.self]
    )

    struct StepFunctions: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "stepfunctions",
            abstract: "Write statemachine.asl.json, template.yaml, NOTES.md and (when needed) Sluice's image folder."
        )

        @OptionGroup var target: ExportTarget

        func run() throws {
            try target.write(folder: "stepfunctions", { StepFunctionsExporter.export($0) }) {
                loaded, export in
                var files: [(String, String)] = [
                    ("statemachine.asl.json", export.definition.prettyJSON),
                    ("template.yaml", export.template.yaml(keyOrder: templateKeyOrder)),
                    ("NOTES.md", notesText(loaded, export.notes, export.substitutions, caching: true)),
                ]
                if let dockerfile = export.dockerfile {
                    files.append(("image/Dockerfile", dockerfile))
                    for (name, module) in export.imageModules.sorted(by: { $0.key < $1.key }) {
                        files.append(("image/modules/\(name)", module.prettyJSON))
                    }
                }
                return files
            }
        }
    }

    struct SageMaker: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sagemaker",
            abstract: "Write pipeline.json (SageMaker Pipelines, Version 2020-12-01) and NOTES.md."
        )

        @OptionGroup var target: ExportTarget

        func run() throws {
            try target.write(folder: "sagemaker", { SageMakerPipelineExporter.export($0) }) {
                loaded, export in
                [
                    ("pipeline.json", export.definition.prettyJSON),
                    ("NOTES.md", notesText(loaded, export.notes, export.substitutions, caching: false)),
                ]
            }
        }
    }
}

/// What both export formats take: the pipeline file and the folder to write.
struct ExportTarget: ParsableArguments {
    @Argument(help: "The pipeline file.") var pipeline: String

    @Option(name: .shortAndLong, help: "The folder to write (default: export/<pipeline name>/<format>).")
    var output: String?

    /// Loads and exports the pipeline, reporting every diagnostic, and writes the export's files to `output`
    /// (default: `export/<pipeline name>/<folder>`).
    func write<Export>(
        folder: String, _ export: (Pipeline) -> (Export?, [Diagnostic]), files: (Pipeline, Export) -> [(String, String)]
    ) throws {
        let loaded = try loadForExport(pipeline)
        let (exported, diagnostics) = export(loaded)
        report(diagnostics)
        guard let exported else { throw ExitCode.failure }
        try writeFiles(files(loaded, exported), to: output ?? "export/\(loaded.name)/\(folder)")
    }
}

private let templateKeyOrder = [
    "AWSTemplateFormatVersion", "Description", "Parameters", "Resources", "Outputs", "Type", "Properties",
]

func loadForExport(_ path: String) throws -> Pipeline {
    let (loaded, diagnostics) = PipelineLoader.load(
        path: path, options: ValidationOptions(catalog: try SluiceHome.resolve().catalog()))
    report(diagnostics)
    guard let loaded else { throw ExitCode.failure }
    return loaded
}

func report(_ diagnostics: [Diagnostic]) {
    for diagnostic in diagnostics { FileHandle.standardError.write(Data((diagnostic.description + "\n").utf8)) }
}

private func notesText(_ pipeline: Pipeline, _ notes: [String], _ substitutions: [String: String], caching: Bool)
    -> String
{
    var text = "# \(pipeline.name) on AWS\n\n"
    if !substitutions.isEmpty {
        text += "## Placeholders\n\n"
        for (name, meaning) in substitutions.sorted(by: { $0.key < $1.key }) { text += "- `${\(name)}`: \(meaning)\n" }
        text += "\n"
    }
    if !notes.isEmpty {
        text += "## Notes\n\n"
        for note in notes { text += "- \(note)\n" }
    }
    return text
}

private func writeFiles(_ files: [(String, String)], to folder: String) throws {
    for (name, content) in files {
        let path = "\(folder)/\(name)"
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(content.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        print("wrote \(path)")
    }
}
