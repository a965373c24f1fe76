/// Number of `\n` bytes in `count` bytes from `start`, 16 at a time.
func countNewlines(_ start: UnsafePointer<UInt8>, _ count: Int) -> Int {
    scanLines(start, count).newlines
}

/// Number of `\n` bytes in `count` bytes from `start` and whether any is a `"`, in one pass 16 bytes at a time.
func scanLines(_ start: UnsafePointer<UInt8>, _ count: Int) -> (newlines: Int, quotes: Bool) {
    let raw = UnsafeRawPointer(start)
    let newline = SIMD16<UInt8>(repeating: UInt8(ascii: "\n"))
    let quote = SIMD16<UInt8>(repeating: UInt8(ascii: "\""))
    let one = SIMD16<UInt8>(repeating: 1)
    var total = 0
    var quotes = SIMD16<UInt8>()
    var i = 0
    while i + 16 <= count {
        // Byte lanes count at most 255 matches before they are added up.
        var lanes = SIMD16<UInt8>()
        let stop = min(count - 15, i + 255 * 16)
        while i < stop {
            let bytes = raw.loadUnaligned(fromByteOffset: i, as: SIMD16<UInt8>.self)
            lanes &+= SIMD16<UInt8>().replacing(with: one, where: bytes .== newline)
            quotes |= SIMD16<UInt8>().replacing(with: one, where: bytes .== quote)
            i += 16
        }
        for k in 0..<16 { total += Int(lanes[k]) }
    }
    var sawQuote = quotes != SIMD16<UInt8>()
    while i < count {
        if start[i] == UInt8(ascii: "\n") { total += 1 }
        if start[i] == UInt8(ascii: "\"") { sawQuote = true }
        i += 1
    }
    return (total, sawQuote)
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}

/// Splits records into field byte ranges; quoted fields may hold delimiters, `""` and newlines.
struct Tokenizer {
    let base: UnsafePointer<UInt8>
    var position: Int
    let end: Int
    let delimiter: UInt8
    /// 1-based line (relative to where the tokenizer started) of the next record.
    var line: Int
    var starts: [Int] = []
    var ends: [Int] = []
    var quoted: [Bool] = []
    var count = 0

    init(base: UnsafePointer<UInt8>, position: Int, end: Int, delimiter: UInt8, line: Int) {
        self.base = base
        self.position = position
        self.end = end
        self.delimiter = delimiter
        self.line = line
        starts.reserveCapacity(64)
        ends.reserveCapacity(64)
        quoted.reserveCapacity(64)
    }

    var isBlank: Bool { starts[0] == ends[0] && !quoted[0] }

    /// Reads the next record; false at the end of input.
    mutating func next() -> Bool {
        guard position < end else { return false }
        count = 0
        var i = position
        while true {
            var fieldStart = i
            var fieldEnd: Int
            var isQuoted = false
            if i < end, base[i] == UInt8(ascii: "\"") {
                isQuoted = true
                i += 1
                fieldStart = i
                while i < end {
                    if base[i] == UInt8(ascii: "\"") {
                        if i + 1 < end, base[i + 1] == UInt8(ascii: "\"") {
                            i += 2
                            continue
                        }
                        break
                    }
                    if base[i] == UInt8(ascii: "\n") { line += 1 }
                    i += 1
                }
                fieldEnd = i
                if i < end { i += 1 }
                while i < end, base[i] != delimiter, base[i] != UInt8(ascii: "\n") { i += 1 }
            } else {
                while i < end, base[i] != delimiter, base[i] != UInt8(ascii: "\n") { i += 1 }
                fieldEnd = i
                if fieldEnd > fieldStart, base[fieldEnd - 1] == UInt8(ascii: "\r") { fieldEnd -= 1 }
            }
            if count < starts.count {
                starts[count] = fieldStart
                ends[count] = fieldEnd
                quoted[count] = isQuoted
            } else {
                starts.append(fieldStart)
                ends.append(fieldEnd)
                quoted.append(isQuoted)
            }
            count += 1
            if i < end, base[i] == delimiter {
                i += 1
                continue
            }
            break
        }
        if i < end { i += 1 }  // the newline
        line += 1
        position = i
        return true
    }

    /// Field `j` as a string (quotes removed, `""` unescaped).
    func string(_ j: Int) -> String {
        let buffer = UnsafeBufferPointer(start: base + starts[j], count: ends[j] - starts[j])
        let text = String(decoding: buffer, as: UTF8.self)
        return quoted[j] ? text.replacingDoubleQuotes() : text
    }
}

extension String {
    fileprivate func replacingDoubleQuotes() -> String {
        guard contains("\"\"") else { return self }
        var out = ""
        var previousQuote = false
        for character in self {
            if character == "\"" && previousQuote {
                previousQuote = false
                continue
            }
            previousQuote = character == "\""
            out.append(character)
        }
        return out
    }
}
