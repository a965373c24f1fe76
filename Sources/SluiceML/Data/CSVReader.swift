import SluiceCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The declared type of a column.
public enum ColumnType: String, Sendable, Codable {
    case number, text
}

/// How to read a CSV file.
@MemberwiseInit
public struct CSVOptions: Sendable {
    /// Whether the first row is a header; nil infers it (a header has a cell that is not a number).
    public var header: Bool?
    /// Column names for a file without header (default `column_1`, `column_2`, …).
    public var names: [String]?
    public var delimiter: UInt8 = UInt8(ascii: ",")
    /// Cells read as missing (NaN in a numeric column, nil in a text column); the empty cell always is.
    public var missing: Set<String> = ["NA", "N/A", "NaN", "nan", "null", "NULL", "None"]
    /// Declared column types by name; other columns are inferred (number unless a cell is not a number).
    public var types: [String: ColumnType] = [:]
    public var threads: Int = defaultThreadCount
}

/// Reads CSV files into frames: quoted fields, missing values, header detection, numbers parsed by `threads` threads
/// straight into the column arrays. `CSVChunkReader` reads files larger than memory.
public enum CSVReader {
    /// Reads a whole file.
    public static func read(path: String, options: CSVOptions = CSVOptions()) throws(MLError) -> Frame {
        // Large files are mapped (no copy, no zero-fill); small ones read.
        let fd = open(path, O_RDONLY)
        if fd >= 0 {
            defer { close(fd) }
            var info = stat()
            if fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_size > 1 << 20,
                let mapped = mmap(nil, Int(info.st_size), PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0),
                mapped != MAP_FAILED
            {
                defer { munmap(mapped, Int(info.st_size)) }
                let buffer = UnsafeBufferPointer(
                    start: mapped.assumingMemoryBound(to: UInt8.self), count: Int(info.st_size))
                return try parse(buffer, source: path, options: options)
            }
        }
        let bytes = try readFile(path)
        return try parse(bytes, source: path, options: options)
    }

    /// Parses CSV bytes; `source` names the data in errors.
    public static func parse(_ bytes: [UInt8], source: String = "<data>", options: CSVOptions = CSVOptions())
        throws(MLError) -> Frame
    {
        let result = bytes.withUnsafeBufferPointer { buffer -> Result<Frame, MLError> in
            do throws(MLError) {
                return .success(try parse(buffer, source: source, options: options))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Whether the first record is a header, and the column names.
    static func header(_ fields: [String], options: CSVOptions, source: String, line: Int) throws(MLError) -> (
        Bool, [String]
    ) {
        let hasHeader =
            options.header
            ?? fields.contains { !$0.isEmpty && parseNumber($0) == nil && !options.missing.contains($0) }
        let names =
            hasHeader ? fields.map { $0.trimmingSpaces() } : options.names ?? (1...fields.count).map { "column_\($0)" }
        guard names.count == fields.count else {
            throw MLError(
                .invalidOption, "\(names.count) column names given for \(fields.count) fields", file: source,
                line: line)
        }
        for (name, _) in options.types where !names.contains(name) {
            throw MLError(
                .missingColumn, "declared column '\(name)' is not in the file (\(names.joined(separator: ", ")))",
                file: source, column: name)
        }
        return (hasHeader, names)
    }

    /// Parses a buffer whose first byte starts line `firstLine` of `source`.
    ///
    /// Plan: split the data at newlines into one chunk per thread, count each chunk's lines (an upper bound on
    /// its rows, exact without blank lines) so every chunk knows its first row, then parse every chunk straight
    /// into the final column arrays; blank lines leave gaps that are closed afterwards.
    static func parse(_ buffer: UnsafeBufferPointer<UInt8>, source: String, options: CSVOptions, firstLine: Int = 1)
        throws(MLError) -> Frame
    {
        guard let base = buffer.baseAddress, buffer.contains(where: { !isSpace($0) }) else {
            throw MLError(.emptyFile, "the file is empty; a CSV file needs at least one row", file: source)
        }
        let end = buffer.count
        var tokenizer = Tokenizer(base: base, position: 0, end: end, delimiter: options.delimiter, line: firstLine)
        guard tokenizer.next() else {
            throw MLError(.emptyFile, "the file has no rows", file: source)
        }
        let (hasHeader, names) = try header(
            (0..<tokenizer.count).map { tokenizer.string($0) }, options: options, source: source, line: firstLine)
        let dataStart = hasHeader ? tokenizer.position : 0
        let firstDataLine = hasHeader ? tokenizer.line : firstLine
        let width = names.count
        let textDeclared = names.map { options.types[$0] == .text }
        let missing = options.missing
        // Chunks split at newlines, several per thread so that a thread slowed by other work on the machine does
        // not hold the others up; chunks can only be parsed independently when no field is quoted, so a quote
        // anywhere makes the whole data one chunk.
        let parallelism = end - dataStart < 1 << 20 ? 1 : max(1, options.threads)
        var chunkCount = parallelism == 1 ? 1 : min(8 * parallelism, max(parallelism, (end - dataStart) >> 18))
        var bounds = [dataStart]
        for t in 1..<chunkCount {
            var cut = dataStart + (end - dataStart) * t / chunkCount
            while cut < end, base[cut] != UInt8(ascii: "\n") { cut += 1 }
            bounds.append(min(end, cut + 1))
        }
        bounds.append(end)
        var scans = [(newlines: Int, quotes: Bool)](repeating: (0, false), count: chunkCount)
        scans.withUnsafeMutableBufferPointer { out in
            let out = UncheckedBox(out)
            parallelFor(chunkCount) { t in out.value[t] = scanLines(base + bounds[t], bounds[t + 1] - bounds[t]) }
        }
        var newlines = scans.map(\.newlines)
        if chunkCount > 1, scans.contains(where: \.quotes) {
            chunkCount = 1
            bounds = [dataStart, end]
            newlines = [newlines.reduce(0, +)]
        }
        var firstRow = [0]
        for t in 0..<chunkCount { firstRow.append(firstRow[t] + newlines[t]) }
        if end > dataStart, base[end - 1] != UInt8(ascii: "\n") { firstRow[chunkCount] += 1 }  // last line unterminated
        var chunks = [ChunkResult?](repeating: nil, count: chunkCount)
        var rowCount = 0
        let numbers = makeColumns(width, capacity: firstRow[chunkCount]) { pointers -> Int in
            chunks.withUnsafeMutableBufferPointer { out in
                let out = UncheckedBox(out)
                parallelFor(chunkCount) { t in
                    out.value[t] = parseChunk(
                        base: base, start: bounds[t], end: bounds[t + 1], width: width, textColumns: textDeclared,
                        missing: missing, delimiter: options.delimiter, columns: pointers, firstRow: firstRow[t])
                }
            }
            // Close the gaps left by blank lines.
            for t in 0..<chunkCount {
                let rows = chunks[t]!.rows
                if firstRow[t] != rowCount {
                    for column in pointers {
                        _ = memmove(column + rowCount, column + firstRow[t], rows * MemoryLayout<Double>.stride)
                    }
                }
                rowCount += rows
            }
            return rowCount
        }
        // Line numbers: chunk-local until the lines of earlier chunks are known.
        var lineOffset = firstDataLine - 1
        var textInferred = textDeclared
        var firstTextCell = [Int?](repeating: nil, count: width)
        for chunk in chunks {
            let chunk = chunk!
            if let ragged = chunk.ragged {
                let column = ragged.fields < width ? names[ragged.fields] : "\(width + 1)"
                throw MLError(
                    .raggedRow,
                    "found \(ragged.fields) fields, expected \(width) (as in the first row); check the delimiter "
                        + "and quoting of this row", file: source, line: ragged.line + lineOffset, column: column)
            }
            for j in 0..<width where !textDeclared[j] {
                if let cell = chunk.firstNonNumeric[j], firstTextCell[j] == nil {
                    firstTextCell[j] = cell + lineOffset
                    textInferred[j] = true
                }
            }
            lineOffset += chunk.lines
        }
        for j in 0..<width where options.types[names[j]] == .number {
            if let line = firstTextCell[j] {
                throw MLError(
                    .notNumeric, "the cell is not a number but the column is declared numeric", file: source,
                    line: line, column: names[j])
            }
        }
        var columns = (0..<width).map { Column.numeric(numbers[$0]) }
        let textIndices = (0..<width).filter { textInferred[$0] }
        if !textIndices.isEmpty {
            var text = [[String?]](repeating: [], count: width)
            var scan = Tokenizer(base: base, position: dataStart, end: end, delimiter: options.delimiter, line: 1)
            while scan.next() {
                if scan.count == 1 && scan.isBlank { continue }
                for j in textIndices {
                    let value = scan.string(j)
                    text[j].append(value.isEmpty || missing.contains(value) ? nil : value)
                }
            }
            for j in textIndices { columns[j] = .text(text[j]) }
        }
        return Frame(names: names, columns: columns, source: source)
    }

    /// `count` Double arrays of `capacity` uninitialised slots; `fill` writes through the pointers and returns how
    /// many leading slots of each it wrote. (Double is trivial: no zero-fill pass, and the page faults of the
    /// first writes are taken by the parsing threads.)
    private static func makeColumns(
        _ count: Int, capacity: Int, _ fill: ([UnsafeMutablePointer<Double>]) -> Int
    ) -> [[Double]] {
        var arrays: [[Double]] = []
        func nest(_ pointers: [UnsafeMutablePointer<Double>]) -> Int {
            if pointers.count == count { return fill(pointers) }
            var written = 0
            let array = [Double](unsafeUninitializedCapacity: max(1, capacity)) { buffer, initialized in
                written = nest(pointers + [buffer.baseAddress!])
                initialized = written
            }
            arrays.append(array)
            return written
        }
        _ = nest([])
        return arrays.reversed()
    }

    private struct ChunkResult {
        var rows: Int
        var lines: Int
        var ragged: (line: Int, fields: Int)?
        /// Chunk-local line of the first cell of each column that is neither a number nor missing.
        var firstNonNumeric: [Int?]
    }

    private static func parseChunk(
        base: UnsafePointer<UInt8>, start: Int, end: Int, width: Int, textColumns: [Bool], missing: Set<String>,
        delimiter: UInt8, columns: [UnsafeMutablePointer<Double>], firstRow: Int
    ) -> ChunkResult {
        var row = firstRow
        var firstNonNumeric = [Int?](repeating: nil, count: width)
        var tokenizer = Tokenizer(base: base, position: start, end: end, delimiter: delimiter, line: 1)
        var ragged: (line: Int, fields: Int)?
        let allNumeric = !textColumns.contains(true)
        columns.withUnsafeBufferPointer { columnPointers in
            exactPowersOfTenTable.withUnsafeBufferPointer { powers in
                powersOfTenInteger.withUnsafeBufferPointer { integerPowers in
                    let columnPointers = columnPointers.baseAddress!
                    let powers = powers.baseAddress!
                    let integerPowers = integerPowers.baseAddress!
                    while true {
                        let line = tokenizer.line
                        if allNumeric, tokenizer.position < end,
                            let next = fastNumericRow(
                                base: base, start: tokenizer.position, end: end, width: width, delimiter: delimiter,
                                columns: columnPointers, row: row, powers: powers, integerPowers: integerPowers)
                        {
                            tokenizer.position = next
                            tokenizer.line += 1
                            row += 1
                            continue
                        }
                        guard tokenizer.next() else { break }
                        if tokenizer.count == 1 && tokenizer.isBlank { continue }
                        if tokenizer.count != width {
                            ragged = (line, tokenizer.count)
                            break
                        }
                        for j in 0..<width where !textColumns[j] {
                            let s = tokenizer.starts[j]
                            let e = tokenizer.ends[j]
                            if let value = parseDouble(base, s, e) {
                                columnPointers[j][row] = value
                            } else {
                                columnPointers[j][row] = .nan
                                if s < e, firstNonNumeric[j] == nil {
                                    let text = tokenizer.string(j)
                                    if !missing.contains(text) && !text.allSatisfy({ $0 == " " }) {
                                        firstNonNumeric[j] = line
                                    }
                                }
                            }
                        }
                        row += 1
                    }
                }
            }
        }
        return ChunkResult(
            rows: row - firstRow, lines: tokenizer.line - 1, ragged: ragged, firstNonNumeric: firstNonNumeric)
    }

    /// Parses one row of plain numbers (no quotes, no missing cells) straight into the columns; nil (nothing
    /// consumed) when the row needs the general tokenizer.
    ///
    /// The common `-?digits[.digits]` cell with at most 19 significant digits is Clinger's fast path: the
    /// mantissa is exact in a UInt64 (≤ 2^53) and the power of ten exact, so one division rounds correctly.
    @inline(__always)
    private static func fastNumericRow(
        base: UnsafePointer<UInt8>, start: Int, end: Int, width: Int, delimiter: UInt8,
        columns: UnsafePointer<UnsafeMutablePointer<Double>>, row: Int, powers: UnsafePointer<Double>,
        integerPowers: UnsafePointer<UInt64>
    ) -> Int? {
        let newline = UInt8(ascii: "\n")
        let carriageReturn = UInt8(ascii: "\r")
        var p = start
        var j = 0
        while true {
            let fieldStart = p
            var negative = false
            if p < end, base[p] == UInt8(ascii: "-") {
                negative = true
                p += 1
            }
            var mantissa: UInt64 = 0
            var digits = 0
            var scale = 0
            // Eight bytes at a time while 16 are left: the digit runs' lengths come from a mask, not a loop.
            if p + 16 <= end, let (whole, wholeDigits) = eightDigits(base + p), wholeDigits > 0,
                base[p + wholeDigits] == UInt8(ascii: "."),
                let (fraction, fractionDigits) = eightDigits(base + p + wholeDigits + 1), fractionDigits > 0
            {
                mantissa = whole &* integerPowers[fractionDigits] &+ fraction
                digits = wholeDigits + fractionDigits
                scale = fractionDigits
                p += wholeDigits + 1 + fractionDigits
            } else {
                let digitsStart = p
                while p < end, base[p] &- 48 < 10 {
                    mantissa = mantissa &* 10 &+ UInt64(base[p] &- 48)
                    p += 1
                }
                digits = p - digitsStart
                if p < end, base[p] == UInt8(ascii: ".") {
                    p += 1
                    let fractionStart = p
                    while p < end, base[p] &- 48 < 10 {
                        mantissa = mantissa &* 10 &+ UInt64(base[p] &- 48)
                        p += 1
                    }
                    scale = p - fractionStart
                    digits += scale
                }
            }
            var byte = p < end ? base[p] : newline
            if digits > 0, digits <= 19, scale <= 22, mantissa <= 1 << 53,
                byte == delimiter || byte == newline || byte == carriageReturn
            {
                let value = Double(mantissa) / powers[scale]
                columns[j][row] = negative ? -value : value
            } else {
                // Exponents, long mantissas, signs, blanks, text: the careful parser, on the whole field.
                var fieldEnd = fieldStart
                while fieldEnd < end, base[fieldEnd] != delimiter, base[fieldEnd] != newline { fieldEnd += 1 }
                var trimmed = fieldEnd
                if trimmed > fieldStart, base[trimmed - 1] == carriageReturn { trimmed -= 1 }
                guard trimmed > fieldStart, base[fieldStart] != UInt8(ascii: "\""),
                    let parsed = parseDouble(base, fieldStart, trimmed)
                else { return nil }
                columns[j][row] = parsed
                p = trimmed
                byte = p < end ? base[p] : newline
            }
            j += 1
            if byte == carriageReturn {
                // Only as the end of a CRLF line.
                guard j == width, p + 1 >= end || base[p + 1] == newline else { return nil }
                p += 1
                byte = p < end ? base[p] : newline
            }
            if j < width {
                guard byte == delimiter else { return nil }
                p += 1
            } else {
                guard byte == newline else { return nil }
                return min(p + 1, end)
            }
        }
    }

    /// The run of ASCII digits at the start of the 8 bytes at `p` and its value, when the run is shorter than 8
    /// (so the byte after it is among the 8 and the caller may read it).
    @inline(__always)
    private static func eightDigits(_ p: UnsafePointer<UInt8>) -> (UInt64, Int)? {
        let word = UInt64(littleEndian: UnsafeRawPointer(p).loadUnaligned(as: UInt64.self))
        // High bit of each byte that is not a digit: ≥ 0x3A (carry into bit 7), < 0x30 (borrow) or ≥ 0x80.
        // Carries and borrows only move upward, past the first non-digit, which is the only one used.
        let notDigit =
            (word | (word &+ 0x4646_4646_4646_4646) | (word &- 0x3030_3030_3030_3030)) & 0x8080_8080_8080_8080
        let count = notDigit.trailingZeroBitCount >> 3
        guard count < 8 else { return nil }
        // The digits move to the high bytes; the zero bytes below them are leading zeros (byte 0 is the most
        // significant digit), then three multiply-shift steps combine pairs, quads and octets.
        var value = (word &- 0x3030_3030_3030_3030) &<< UInt64(64 &- 8 &* count)
        if count == 0 { value = 0 }
        value = ((value & 0x0F0F_0F0F_0F0F_0F0F) &* 2561) >> 8
        value = ((value & 0x00FF_00FF_00FF_00FF) &* 6_553_601) >> 16
        value = ((value & 0x0000_FFFF_0000_FFFF) &* 42_949_672_960_001) >> 32
        return (value, count)
    }

    /// Reads a file into memory with one `read` loop.
    static func readFile(_ path: String) throws(MLError) -> [UInt8] {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw MLError(.io, "cannot open the file (\(String(cString: strerror(errno)))); check the path", file: path)
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw MLError(.io, "cannot stat the file", file: path) }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            throw MLError(.io, "this is a folder; give a CSV file", file: path)
        }
        let size = Int(info.st_size)
        var bytes = [UInt8](repeating: 0, count: size)
        var filled = 0
        let failed = bytes.withUnsafeMutableBytes { raw -> Bool in
            while filled < size {
                let n = Glibc.read(fd, raw.baseAddress! + filled, size - filled)
                if n <= 0 { return n < 0 }
                filled += n
            }
            return false
        }
        if failed { throw MLError(.io, "cannot read the file", file: path) }
        if filled < size { bytes.removeLast(size - filled) }
        return bytes
    }
}

@inline(__always)
private func isSpace(_ byte: UInt8) -> Bool {
    byte == 32 || byte == 9 || byte == 10 || byte == 13
}
