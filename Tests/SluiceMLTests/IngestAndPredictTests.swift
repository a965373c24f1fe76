import Foundation
import SluiceCore
import SluiceML
import Testing

extension SplitMix64 {
    /// An integer in 0..<n, for test data.
    fileprivate mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

/// Numeric cells in the spellings CSV files use: plain decimals, negatives, exponents, long mantissas, signs.
private func cell(_ g: inout SplitMix64) -> String {
    let x = (g.nextUnit() - 0.5) * 200
    switch g.int(10) {
    case 0: return String(format: "%.17g", x)
    case 1: return String(format: "%.3e", x)
    case 2: return "+" + String(format: "%.2f", abs(x))
    case 3: return "\(Int(x))"
    case 4: return String(format: "%.24f", x / 1e6)  // more than 19 significant digits
    default: return String(format: "%.6f", x)
    }
}

/// Same values, NaN included (Frame's == treats NaN as unequal to itself).
private func sameValues(_ a: [Double], _ b: [Double]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern }
}

private func sameFrames(_ a: Frame, _ b: Frame) -> Bool {
    guard a.names == b.names, a.rowCount == b.rowCount else { return false }
    for (x, y) in zip(a.columns, b.columns) {
        switch (x, y) {
        case (.numeric(let u), .numeric(let v)): if !sameValues(u, v) { return false }
        case (.text(let u), .text(let v)): if u != v { return false }
        default: return false
        }
    }
    return true
}

@Suite struct IngestTests {
    /// A file over 1 MiB (so the reader splits it between threads) with blank lines, CRLF and LF endings,
    /// missing cells and every numeric spelling; returns the text, the cells as written and the line of `mark`.
    func bigFile(rows: Int = 30_000, width: Int = 6, mark: Int = -1, markText: String = "") -> (
        String, [[String]], Int
    ) {
        var g = SplitMix64(seed: 7)
        var text = (0..<width).map { "c\($0)" }.joined(separator: ",") + "\n"
        var cells: [[String]] = []
        var line = 2
        var markLine = 0
        for i in 0..<rows {
            let row = (0..<width).map { _ in g.int(50) == 0 ? (g.int(2) == 0 ? "" : "NA") : cell(&g) }
            cells.append(row)
            if i == mark { markLine = line }
            text += (i == mark ? markText : row.joined(separator: ",")) + (i % 7 == 3 ? "\r\n" : "\n")
            line += 1
            if i % 997 == 500 {
                text += "\n"
                line += 1
            }
        }
        return (text, cells, markLine)
    }

    @Test func parallelParseMatchesEveryCellAndTheOneThreadParse() throws {
        let (text, cells, _) = bigFile()
        #expect(text.utf8.count > 1 << 20)
        let bytes = Array(text.utf8)
        let two = try CSVReader.parse(bytes, source: "big.csv", options: CSVOptions(threads: 2))
        let one = try CSVReader.parse(bytes, source: "big.csv", options: CSVOptions(threads: 1))
        #expect(sameFrames(one, two))
        #expect(two.rowCount == cells.count)
        for j in 0..<6 {
            let column = try two.numbers("c\(j)")
            for (i, row) in cells.enumerated() {
                let want = row[j] == "" || row[j] == "NA" ? Double.nan : Double(row[j])!
                #expect(column[i].bitPattern == want.bitPattern, "row \(i) column \(j): '\(row[j])'")
            }
        }
    }

    @Test func raggedRowInTheSecondThreadsHalfNamesItsLineAndColumn() throws {
        let (text, _, expectedLine) = bigFile(rows: 30_000, mark: 25_000, markText: "1,2,3")
        #expect(expectedLine > 25_000)
        #expect {
            try CSVReader.parse(Array(text.utf8), source: "big.csv", options: CSVOptions(threads: 2))
        } throws: { error in
            let e = error as? MLError
            return e?.kind == .raggedRow && e?.line == expectedLine && e?.column == "c3" && e?.file == "big.csv"
        }
    }

    @Test func tooManyFieldsNamesTheFirstExtraField() {
        #expect {
            try CSVReader.parse(Array("a,b\n1,2\n3,4,5\n".utf8), source: "t.csv")
        } throws: { error in
            let e = error as? MLError
            return e?.kind == .raggedRow && e?.line == 3 && e?.column == "3"
        }
    }

    @Test func crlfQuotedAndUnterminatedLastLine() throws {
        let frame = try CSVReader.parse(Array("a,b\r\n1.5,\"2\"\r\n-3,4e1".utf8))
        #expect(try frame.numbers("a") == [1.5, -3])
        #expect(try frame.numbers("b") == [2, 40])
    }

    @Test func decimalSyntaxes() {
        func parse(_ text: String, _ syntax: NumberSyntax) -> Double? {
            Array(text.utf8).withUnsafeBytes { parseDecimal($0, 0, $0.count, syntax: syntax) }
        }
        for text in ["0", "-0.5", "12.25e-3", "1E+2", "9007199254740993", "123456789012345678901234"] {
            #expect(parse(text, .json) == Double(text), "\(text)")
            #expect(parse(text, .csv) == Double(text), "\(text)")
        }
        for text in ["01", "+1", ".5", "5.", "1e", "-", "inf", "1.5x"] { #expect(parse(text, .json) == nil, "\(text)") }
        #expect(parse("+1", .csv) == 1 && parse(".5", .csv) == 0.5 && parse("5.", .csv) == 5)
        #expect(parse("inf", .csv) == .infinity && parse("1.5x", .csv) == nil)
    }
}

@Suite struct StreamingTests {
    /// Writes a file with a quoted text column (commas, doubled quotes, newlines inside quotes), missing cells
    /// and numbers; returns its path and size.
    func writeFile(rows: Int) throws -> (String, Int) {
        var g = SplitMix64(seed: 11)
        var text = "id,name,x,y\n"
        for i in 0..<rows {
            let name = g.int(20) == 0 ? "\"two\nlines, \"\"quoted\"\"\"" : "n\(g.int(1000))"
            let y = g.int(30) == 0 ? "" : cell(&g)
            text += "\(i),\(name),\(cell(&g)),\(y)\n"
        }
        let path = NSTemporaryDirectory() + "sluice-stream-\(UUID().uuidString).csv"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return (path, text.utf8.count)
    }

    @Test func smallChunksGiveTheWholeFileWithBoundedMemory() throws {
        let (path, size) = try writeFile(rows: 20_000)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let whole = try CSVReader.read(path: path)
        let reader = try CSVChunkReader(path: path, chunkRows: 300, readSize: 4096)
        var chunks: [Frame] = []
        while let chunk = try reader.next() { chunks.append(chunk) }
        #expect(chunks.count >= 20_000 / 300)
        #expect(chunks.allSatisfy { $0.rowCount <= 300 && $0.names == whole.names })
        for (j, name) in whole.names.enumerated() {
            switch whole.columns[j] {
            case .numeric(let values):
                let streamed = try chunks.flatMap { try $0.numbers(name) }
                #expect(sameValues(values, streamed), "column \(name)")
            case .text(let values):
                let streamed = chunks.flatMap { chunk -> [String?] in
                    if case .text(let cells) = chunk.columns[j] { return cells }
                    return []
                }
                #expect(values == streamed, "column \(name)")
            }
        }
        // One chunk's bytes (300 rows of at most ~80 bytes) plus one read, far below the file's size.
        #expect(reader.peakBufferBytes <= 300 * 80 + 4096 + 4096)
        #expect(reader.peakBufferBytes * 20 < size)
    }

    @Test func errorsNameTheFilesLine() throws {
        var text = "a,b\n"
        for i in 0..<1000 { text += "\(i),\(i)\n" }
        text += "1,2,3\n"
        let path = NSTemporaryDirectory() + "sluice-stream-\(UUID().uuidString).csv"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let reader = try CSVChunkReader(path: path, chunkRows: 64, readSize: 512)
        #expect {
            while try reader.next() != nil {}
        } throws: { error in
            let e = error as? MLError
            return e?.kind == .raggedRow && e?.line == 1002 && e?.file == path
        }
    }

    @Test func headerOnlyAndEmptyFiles() throws {
        let path = NSTemporaryDirectory() + "sluice-stream-\(UUID().uuidString).csv"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data("a,b\n".utf8).write(to: URL(fileURLWithPath: path))
        let reader = try CSVChunkReader(path: path)
        let first = try #require(try reader.next())
        #expect(first.names == ["a", "b"] && first.rowCount == 0)
        #expect(try reader.next() == nil)
        try Data(" \n".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: MLError.self) { try CSVChunkReader(path: path).next() }
    }
}

@Suite struct BatchPredictionTests {
    /// Predicting many rows at once (the padded block layout) equals predicting each row alone (the direct walk).
    func agree(_ model: GBDTModel, _ x: Matrix) {
        let batch = model.predict(x)
        for i in stride(from: 0, to: x.rows, by: 7) {
            let one = model.predict(x.rows(i..<(i + 1)))[0]
            #expect(batch[i].bitPattern == one.bitPattern, "row \(i)")
        }
    }

    @Test func trainedModelWithMissingValues() throws {
        var g = SplitMix64(seed: 3)
        let n = 3000
        var columns = (0..<4).map { _ in (0..<n).map { _ in g.nextUnit() * 4 - 2 } }
        for i in stride(from: 0, to: n, by: 13) { columns[1][i] = .nan }
        let y = (0..<n).map { i in columns[0][i] + (columns[1][i].isNaN ? 1 : columns[1][i] * columns[2][i]) }
        var parameters = GBDTParameters()
        parameters.numRound = 30
        parameters.maxDepth = 5
        let model = try GBDT.fit(Matrix(columns: columns, rows: n), y, parameters: parameters)
        agree(model, Matrix(columns: columns, rows: n))
    }

    @Test func importedXGBoostModelWithMissingValuesGoingRight() throws {
        let model = try XGBoostImport.load(path: fixture("xgb_breast_cancer.json"))
        #expect(model.trees.contains { $0.missingRight?.contains(true) == true })
        let frame = try CSVReader.read(path: fixture("breast_cancer.csv"))
        var x = try frame.matrix(Array(frame.names.dropLast()))
        for i in stride(from: 0, to: x.values.count, by: 5) { x.values[i] = .nan }
        agree(model, x)
    }
}
