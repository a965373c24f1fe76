import Foundation

/// Reads JSON Lines (one object per line) into a frame: numbers and booleans become numeric columns, strings
/// text columns; a key missing from a line is a missing value.
public enum JSONLinesReader {
    public static func read(path: String) throws(MLError) -> Frame {
        try parse(CSVReader.readFile(path), source: path)
    }

    public static func parse(_ bytes: [UInt8], source: String = "<data>") throws(MLError) -> Frame {
        var names: [String] = []
        var rows: [[String: Any]] = []
        var line = 0
        for slice in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            line += 1
            if slice.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { continue }
            guard let object = try? JSONSerialization.jsonObject(with: Data(slice)) as? [String: Any] else {
                throw MLError(.notNumeric, "the line is not a JSON object", file: source, line: line)
            }
            for key in object.keys.sorted() where !names.contains(key) { names.append(key) }
            rows.append(object)
        }
        guard !rows.isEmpty else { throw MLError(.emptyFile, "the file has no JSON lines", file: source) }
        var columns: [Column] = []
        for name in names {
            let values = rows.map { $0[name] }
            if values.allSatisfy({ $0 == nil || $0 is NSNull || ($0 is NSNumber) }) {
                columns.append(.numeric(values.map { ($0 as? NSNumber)?.doubleValue ?? .nan }))
            } else {
                columns.append(
                    .text(
                        values.map { value in
                            if let text = value as? String { return text }
                            if let number = value as? NSNumber { return number.stringValue }
                            return nil
                        }))
            }
        }
        return Frame(names: names, columns: columns, source: source)
    }
}
