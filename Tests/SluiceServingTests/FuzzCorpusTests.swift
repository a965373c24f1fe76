import Foundation
import SluiceServing
import Testing

/// The committed fuzz corpus of the input decoder (`Fuzz/input/corpus`: seeds and `regression-*` inputs that once
/// crashed it) replayed through the fuzz target's checks.
@Suite struct FuzzCorpusTests {
    @Test func inputCorpusDecodesOrFailsCleanly() {
        let root =
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path + "/Fuzz/input/corpus"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        #expect(!names.isEmpty)
        for name in names.sorted() {
            let bytes = Array(FileManager.default.contents(atPath: "\(root)/\(name)") ?? Data())
            guard let selector = bytes.first else { continue }
            let format: InputFormat = selector & 1 == 0 ? .json : .csv
            let width = Int(selector >> 1) % 8 + 1
            if let rows = try? InputDecoder.decode(Array(bytes.dropFirst()), format: format, width: width) {
                #expect(rows.columnCount == width && rows.values.count == rows.rowCount * width, "\(name)")
            }
        }
    }
}
