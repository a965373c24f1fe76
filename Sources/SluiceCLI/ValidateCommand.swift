import ArgumentParser
import Foundation
import SluiceCore
import SluiceSpec
import SluiceStore

/// `sluice validate PATH…`: every problem of every module and pipeline file, compiler style.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check module and pipeline specs and report every problem with file:line:column and a fix."
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    @Argument(help: "Spec files or folders (searched recursively for .yaml, .yml and .json).") var paths: [String]
    @Option(help: "Output format: text (compiler style) or json.") var format: Format = .text

    func run() throws {
        let catalog = try SluiceHome.resolve().catalog()
        let report = PipelineLoader.validateReport(
            paths: paths, options: ValidationOptions(knownBuiltins: BuiltinCatalog.names, catalog: catalog))
        let errors = report.diagnostics.filter { $0.severity == .error }.count
        let warnings = report.diagnostics.filter { $0.severity == .warning }.count
        let files = report.files.count
        switch format {
        case .text:
            for diagnostic in report.diagnostics { print(diagnostic) }
            let summary =
                "validated \(files) file\(files == 1 ? "" : "s"): \(errors) error\(errors == 1 ? "" : "s"), "
                + "\(warnings) warning\(warnings == 1 ? "" : "s")"
            print(summary)
        case .json:
            struct Output: Encodable {
                var files: [String]
                var errors: Int
                var warnings: Int
                var diagnostics: [Diagnostic]
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let data = try encoder.encode(
                Output(files: report.files, errors: errors, warnings: warnings, diagnostics: report.diagnostics))
            print(String(decoding: data, as: UTF8.self))
        }
        if errors > 0 { throw ExitCode.failure }
    }
}
