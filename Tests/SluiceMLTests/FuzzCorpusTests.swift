import Foundation
import SluiceML
import Testing

/// The committed fuzz corpora (`Fuzz/<target>/corpus`: seeds, and every input that once crashed a target, kept as
/// `regression-*`) replayed through the same checks as the fuzz targets, so a fixed crash stays fixed.
func fuzzCorpus(_ target: String) -> [(name: String, bytes: [UInt8])] {
    let root =
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path + "/Fuzz/\(target)/corpus"
    let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
    return names.sorted().map { ($0, Array(FileManager.default.contents(atPath: "\(root)/\($0)") ?? Data())) }
}

@Suite struct FuzzCorpusTests {
    @Test func csvCorpusParsesOrFailsCleanly() {
        let corpus = fuzzCorpus("csv")
        #expect(!corpus.isEmpty)
        for (name, bytes) in corpus where !bytes.isEmpty {
            let selector = bytes[0]
            let header: Bool? = selector & 3 == 0 ? nil : selector & 3 == 1
            let delimiter: UInt8 = selector & 4 == 0 ? UInt8(ascii: ",") : UInt8(ascii: ";")
            let options = CSVOptions(header: header, delimiter: delimiter, threads: selector & 8 == 0 ? 1 : 2)
            if let frame = try? CSVReader.parse(Array(bytes.dropFirst()), options: options) {
                #expect(Set(frame.columns.map(\.count)).count <= 1, "\(name)")
            }
        }
    }

    @Test func expressionCorpusParsesOrFailsCleanly() {
        let frame = Frame(
            names: ["a", "b", "when"],
            columns: [.numeric([1, -2.5, .nan]), .text(["x", nil, "y"]), .text(["2024-02-29", "1999-12-31", nil])])
        let corpus = fuzzCorpus("expression")
        #expect(!corpus.isEmpty)
        for (name, bytes) in corpus {
            guard let expression = try? Expression(String(decoding: bytes, as: UTF8.self)),
                (try? expression.check(against: frame)) != nil
            else { continue }
            if let values = try? expression.evaluate(frame) { #expect(values.count == frame.rowCount, "\(name)") }
        }
    }
}
