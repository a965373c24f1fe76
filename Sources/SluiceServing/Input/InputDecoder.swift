import SluiceML

/// Decodes request bodies into feature rows with exact, located errors.
public enum InputDecoder {
    /// Decodes `body` in `format`, requiring `width` features per row.
    /// - Parameters:
    ///   - body: the raw request body.
    ///   - format: CSV or JSON.
    ///   - width: the number of features the model expects.
    public static func decode(
        _ body: UnsafeRawBufferPointer,
        format: InputFormat,
        width: Int
    ) throws(ServingError) -> FeatureRows {
        var start = 0
        var end = body.count
        while start < end, isSpace(body[start]) { start += 1 }
        while end > start, isSpace(body[end - 1]) { end -= 1 }
        guard start < end else {
            throw ServingError(.emptyBody, "The request body is empty; send \(example(format, width: width)).")
        }
        switch format {
        case .json:
            var scanner = JSONRowScanner(bytes: body, position: start, end: end, width: width)
            return try scanner.scanDocument()
        case .csv:
            return try decodeCSV(body, start: start, end: end, width: width)
        }
    }

    /// Decodes a `[UInt8]` body (convenience for tests and non-NIO callers).
    public static func decode(_ body: [UInt8], format: InputFormat, width: Int) throws(ServingError) -> FeatureRows {
        do {
            return try body.withUnsafeBytes { buffer in try decode(buffer, format: format, width: width) }
        } catch let error as ServingError {
            throw error
        } catch {
            throw ServingError(.validation, "\(error)")
        }
    }

    static func example(_ format: InputFormat, width: Int) -> String {
        let row = Array(repeating: "0.5", count: max(width, 1)).joined(separator: ",")
        switch format {
        case .json: return "{\"x\": [[\(row)]]}"
        case .csv: return "one line per row such as '\(row)'"
        }
    }

    static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    /// A CSV field: a JSON-grammar number, or anything the standard library reads as a Double.
    private static func parseLenient(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Double? {
        parseDecimal(bytes, start, end, syntax: .json)
            ?? Double(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self))
    }

    static func wrongWidth(row: Int, found: Int, width: Int, format: InputFormat) -> ServingError {
        ServingError(
            .validation,
            "Row \(row) has \(found) feature\(found == 1 ? "" : "s") but the model expects \(width); "
                + "send rows like \(example(format, width: width))."
        )
    }

    private static func decodeCSV(
        _ bytes: UnsafeRawBufferPointer,
        start: Int,
        end: Int,
        width: Int
    ) throws(ServingError) -> FeatureRows {
        var values: [Double] = []
        values.reserveCapacity(width * 4)
        var rowCount = 0
        var lineNumber = 0
        var lineStart = start
        var sawDataLine = false
        while lineStart < end {
            var lineEnd = lineStart
            while lineEnd < end && bytes[lineEnd] != 0x0A { lineEnd += 1 }
            lineNumber += 1
            var contentEnd = lineEnd
            if contentEnd > lineStart && bytes[contentEnd - 1] == 0x0D { contentEnd -= 1 }
            defer { lineStart = lineEnd + 1 }
            var blank = true
            for i in lineStart..<contentEnd where !isSpace(bytes[i]) {
                blank = false
                break
            }
            if blank { continue }
            var fields: [(Int, Int)] = []
            var fieldStart = lineStart
            for i in lineStart...contentEnd where i == contentEnd || bytes[i] == UInt8(ascii: ",") {
                var a = fieldStart
                var b = i
                while a < b, bytes[a] == 0x20 || bytes[a] == 0x09 { a += 1 }
                while b > a, bytes[b - 1] == 0x20 || bytes[b - 1] == 0x09 { b -= 1 }
                fields.append((a, b))
                fieldStart = i + 1
            }
            let parsed = fields.map { parseLenient(bytes, $0.0, $0.1) }
            if !sawDataLine && parsed.allSatisfy({ $0 == nil }) {
                sawDataLine = true
                continue  // a header line, e.g. `x` or `x0,x1,…`
            }
            sawDataLine = true
            rowCount += 1
            guard fields.count == width else {
                throw wrongWidth(row: rowCount, found: fields.count, width: width, format: .csv)
            }
            for (column, value) in parsed.enumerated() {
                let text = String(
                    decoding: UnsafeRawBufferPointer(rebasing: bytes[fields[column].0..<fields[column].1]),
                    as: UTF8.self
                )
                guard let value else {
                    throw ServingError(
                        .validation,
                        "Line \(lineNumber), column \(column + 1): '\(text)' is not a number; "
                            + "every field must be a finite decimal number."
                    )
                }
                guard value.isFinite else {
                    throw ServingError(
                        .validation,
                        "Line \(lineNumber), column \(column + 1): '\(text)' is not finite; "
                            + "NaN and infinity cannot be predicted on."
                    )
                }
                values.append(value)
            }
        }
        guard rowCount > 0 else {
            throw ServingError(
                .validation,
                "The CSV body has a header but no rows; send \(example(.csv, width: width))."
            )
        }
        return FeatureRows(values: values, rowCount: rowCount, columnCount: width)
    }
}

/// A hand-written scanner for `{"x": [[…]]}`-shaped JSON bodies; allocation-free except for the result.
struct JSONRowScanner {
    let bytes: UnsafeRawBufferPointer
    var position: Int
    let end: Int
    let width: Int

    init(bytes: UnsafeRawBufferPointer, position: Int, end: Int, width: Int) {
        self.bytes = bytes
        self.position = position
        self.end = end
        self.width = width
    }

    mutating func scanDocument() throws(ServingError) -> FeatureRows {
        let rows: FeatureRows
        if peek() == UInt8(ascii: "{") {
            position += 1
            skipSpace()
            let key = try scanKey()
            guard key == "x" || key == "instances" || key == "inputs" else {
                throw error("unexpected key \"\(key)\"; put the rows under \"x\"")
            }
            skipSpace()
            try expect(UInt8(ascii: ":"))
            skipSpace()
            rows = try scanRows()
            skipSpace()
            if peek() == UInt8(ascii: ",") { throw error("unexpected second key; send only \"x\"") }
            try expect(UInt8(ascii: "}"))
        } else if peek() == UInt8(ascii: "[") {
            rows = try scanRows()
        } else {
            throw error("expected '{' or '['")
        }
        skipSpace()
        guard position == end else { throw error("unexpected text after the end of the JSON document") }
        return rows
    }

    private mutating func scanRows() throws(ServingError) -> FeatureRows {
        try expect(UInt8(ascii: "["))
        skipSpace()
        var values: [Double] = []
        values.reserveCapacity(width)
        if peek() != UInt8(ascii: "[") {
            // One flat row: `[0.1, 0.2, …]`.
            guard peek() != UInt8(ascii: "]") else { throw error("the list of rows is empty") }
            let count = try scanNumbers(into: &values, row: 1)
            guard count == width else {
                throw InputDecoder.wrongWidth(row: 1, found: count, width: width, format: .json)
            }
            return FeatureRows(values: values, rowCount: 1, columnCount: width)
        }
        var rowCount = 0
        while true {
            try expect(UInt8(ascii: "["))
            rowCount += 1
            skipSpace()
            let count = peek() == UInt8(ascii: "]") ? 0 : try scanNumbers(into: &values, row: rowCount)
            if count == 0 { position += 1 }
            guard count == width else {
                throw InputDecoder.wrongWidth(row: rowCount, found: count, width: width, format: .json)
            }
            skipSpace()
            if peek() == UInt8(ascii: ",") {
                position += 1
                skipSpace()
                continue
            }
            try expect(UInt8(ascii: "]"))
            break
        }
        return FeatureRows(values: values, rowCount: rowCount, columnCount: width)
    }

    /// Scans `n, n, …]` (the closing bracket included); returns how many numbers were read.
    private mutating func scanNumbers(into values: inout [Double], row: Int) throws(ServingError) -> Int {
        var count = 0
        while true {
            skipSpace()
            let start = position
            while position < end {
                let byte = bytes[position]
                if byte == UInt8(ascii: ",") || byte == UInt8(ascii: "]") || InputDecoder.isSpace(byte) { break }
                position += 1
            }
            guard position > start else { throw error("expected a number") }
            count += 1
            guard let value = parseDecimal(bytes, start, position, syntax: .json) else {
                let token = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
                let lowered = token.lowercased()
                if lowered.contains("nan") || lowered.contains("inf") {
                    throw error(
                        "row \(row), feature \(count): \(token) is not finite; NaN and infinity cannot be predicted on",
                        at: start
                    )
                }
                throw error("row \(row), feature \(count): '\(token)' is not a JSON number", at: start)
            }
            guard value.isFinite else {
                throw error("row \(row), feature \(count): the number overflows a 64-bit float", at: start)
            }
            values.append(value)
            skipSpace()
            if peek() == UInt8(ascii: ",") {
                position += 1
                continue
            }
            try expect(UInt8(ascii: "]"))
            return count
        }
    }

    private mutating func scanKey() throws(ServingError) -> String {
        try expect(UInt8(ascii: "\""))
        let start = position
        while position < end && bytes[position] != UInt8(ascii: "\"") { position += 1 }
        guard position < end else { throw error("unterminated string") }
        let key = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        position += 1
        return key
    }

    private func peek() -> UInt8? { position < end ? bytes[position] : nil }

    private mutating func skipSpace() {
        while position < end && InputDecoder.isSpace(bytes[position]) { position += 1 }
    }

    private mutating func expect(_ byte: UInt8) throws(ServingError) {
        guard position < end, bytes[position] == byte else {
            throw error("expected '\(Character(Unicode.Scalar(byte)))'")
        }
        position += 1
    }

    private func error(_ what: String, at offset: Int? = nil) -> ServingError {
        let offset = min(offset ?? position, bytes.count)
        var line = 1
        var column = 1
        for i in 0..<offset {
            if bytes[i] == 0x0A {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        let found = offset < end ? "'\(Character(Unicode.Scalar(bytes[offset])))'" : "the end of the body"
        return ServingError(
            .validation,
            "Malformed JSON at line \(line), column \(column) (found \(found)): \(what); "
                + "send \(InputDecoder.example(.json, width: width))."
        )
    }
}
