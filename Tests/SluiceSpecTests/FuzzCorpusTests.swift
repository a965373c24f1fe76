import Foundation
import SluiceCore
import SluiceSpec
import Testing

/// The committed fuzz corpus of the spec loader (`Fuzz/spec/corpus`: seeds and `regression-*` inputs that once
/// crashed it) replayed through the fuzz target's checks: diagnostics, each located in the given file.
@Suite struct FuzzCorpusTests {
    @Test func specCorpusValidatesWithLocatedDiagnostics() {
        let root =
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path + "/Fuzz/spec/corpus"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        #expect(!names.isEmpty)
        for name in names.sorted() {
            let text = String(
                decoding: FileManager.default.contents(atPath: "\(root)/\(name)") ?? Data(), as: UTF8.self)
            let result = PipelineLoader.validate(text: text, file: "fuzz.yaml")
            for diagnostic in result.diagnostics {
                #expect(diagnostic.location.map { $0.file == "fuzz.yaml" } ?? true, "\(name): \(diagnostic)")
            }
        }
    }
}
