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

    @Test func everyCodeHasAFixture() {
        let required = [
            "yaml-syntax", "unknown-key", "unknown-step", "unknown-module", "unknown-parameter", "unknown-output",
            "cycle", "unreachable-step", "missing-input", "type-mismatch", "branch-reference", "duplicate-name",
            "bad-duration", "bad-default", "map-without-items", "unknown-builtin",
        ]
        #expect(Set(required).isSubset(of: Set(Self.codes)))
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
