import Foundation
import SluiceCore
import SluiceSpec
import Testing

/// Broken specs, each with the exact diagnostics it must produce (`expected.txt`).
///
/// A fixture folder is named after the diagnostic code it shows (`type-mismatch`), optionally followed by `.` and
/// the case (`type-mismatch.model-as-data`).
@Suite struct FixtureTests {
    static let codes: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: Paths.fixtures)) ?? []
        return names.filter { $0 != "modules" && !$0.hasPrefix(".") }.sorted()
    }()

    static func diagnostics(_ code: String) -> [Diagnostic] {
        PipelineLoader.validate(
            paths: [Paths.fixtures + "/" + code], options: ValidationOptions(knownBuiltins: builtinCatalog))
    }

    /// Every code the README lists has a fixture of its own.
    @Test func everyCodeHasAFixture() {
        let required = [
            "yaml-syntax", "duplicate-key", "too-deep", "empty-file", "missing-file", "unknown-key", "missing-key",
            "bad-value", "unknown-type", "missing-type", "unknown-builtin", "unknown-module", "unknown-step",
            "unknown-parameter", "unknown-input", "unknown-output", "missing-input", "type-mismatch", "bad-reference",
            "bad-expression", "branch-reference", "cycle", "unreachable-step", "duplicate-name", "bad-duration",
            "bad-default", "map-without-items", "unknown-hyperparameter",
        ]
        let named = Set(Self.codes.map { String($0.prefix { $0 != "." }) })
        #expect(Set(required).subtracting(named).isEmpty, "\(Set(required).subtracting(named).sorted())")
    }

    @Test(arguments: codes)
    func fixtureProducesItsGoldenDiagnostics(_ code: String) throws {
        let diagnostics = Self.diagnostics(code)
        let own = String(code.prefix { $0 != "." })
        #expect(diagnostics.contains { $0.code == own }, "fixture \(code) does not produce its own code")
        for diagnostic in diagnostics {
            let location = try #require(diagnostic.location, "\(diagnostic) has no location")
            #expect(location.line >= 1 && location.column >= 1)
            #expect(diagnostic.fix?.isEmpty == false)
        }
        let actual = diagnostics.map { $0.relative(to: Paths.fixtures) }.joined(separator: "\n") + "\n"
        let expected = try Paths.text(Paths.fixtures + "/" + code + "/expected.txt")
        #expect(actual == expected)
    }

    @Test func theSeedStateMachineTypoIsCaughtWithASuggestion() {
        let diagnostics = Self.diagnostics("unknown-step")
        let typo = diagnostics.first { $0.code == "unknown-step" }
        #expect(typo?.message.contains("'Sagemaker Create Model'; did you mean 'SageMaker Create Model'?") == true)
        #expect(typo?.location?.line == 11)
    }
}
