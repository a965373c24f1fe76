#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Exact powers of ten representable in a Double (Clinger's fast path).
let exactPowersOfTenTable: [Double] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
    1e20, 1e21, 1e22,
]

/// 10^0 … 10^8 as integers.
let powersOfTenInteger: [UInt64] = [1, 10, 100, 1000, 10000, 100_000, 1_000_000, 10_000_000, 100_000_000]

/// Which spellings of a number a parser accepts.
public enum NumberSyntax: Sendable {
    /// CSV cells: an optional sign, digits with an optional point (`.5`, `5.` too), an optional exponent, and
    /// whatever `strtod` reads when the cell does not start with a digit (`inf`, `nan`).
    case csv
    /// RFC 8259 numbers only: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    case json
}

/// Parses `bytes[start..<end]` as a decimal number, correctly rounded; nil when it is not one in `syntax`.
public func parseDecimal(
    _ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int, syntax: NumberSyntax = .csv
) -> Double? {
    guard start < end, let base = bytes.baseAddress else { return nil }
    let pointer = base.assumingMemoryBound(to: UInt8.self)
    return syntax == .json ? parseDouble(pointer, start, end, json: true) : parseDouble(pointer, start, end)
}

/// Parses a decimal number in `bytes[start..<end]`, correctly rounded; nil when the bytes are not a number.
///
/// The fast path (Clinger) covers mantissas up to 2^53 with |exponent| ≤ 22: both exact, so one multiply or
/// divide rounds correctly. Other inputs go to `strtod`, which is correctly rounded in glibc.
@inline(__always)
func parseDouble(_ bytes: UnsafePointer<UInt8>, _ start: Int, _ end: Int, json: Bool = false) -> Double? {
    var i = start
    guard i < end else { return nil }
    var negative = false
    if bytes[i] == UInt8(ascii: "-") {
        negative = true
        i += 1
    } else if !json, bytes[i] == UInt8(ascii: "+") {
        i += 1
    }
    var mantissa: UInt64 = 0
    var digits = 0
    var exponent = 0
    let integerStart = i
    while i < end, bytes[i] &- 48 < 10 {
        if digits < 19 {
            mantissa = mantissa &* 10 &+ UInt64(bytes[i] &- 48)
            if mantissa != 0 { digits += 1 }
        } else {
            exponent += 1
            digits += 1
        }
        i += 1
    }
    let integerDigits = i - integerStart
    if json, integerDigits == 0 || (integerDigits > 1 && bytes[integerStart] == UInt8(ascii: "0")) { return nil }
    var fractionDigits = 0
    if i < end, bytes[i] == UInt8(ascii: ".") {
        i += 1
        let fractionStart = i
        while i < end, bytes[i] &- 48 < 10 {
            if digits < 19 {
                mantissa = mantissa &* 10 &+ UInt64(bytes[i] &- 48)
                if mantissa != 0 { digits += 1 }
                exponent -= 1
            } else {
                digits += 1
            }
            i += 1
        }
        fractionDigits = i - fractionStart
        if json, fractionDigits == 0 { return nil }
    }
    guard integerDigits + fractionDigits > 0 else { return json ? nil : slowParse(bytes, start, end) }
    if i < end, bytes[i] | 0x20 == UInt8(ascii: "e") {
        i += 1
        var expNegative = false
        if i < end, bytes[i] == UInt8(ascii: "-") {
            expNegative = true
            i += 1
        } else if i < end, bytes[i] == UInt8(ascii: "+") {
            i += 1
        }
        // At least one exponent digit: otherwise `i` stops short of `end` below.
        guard i < end else { return nil }
        var e = 0
        while i < end, bytes[i] &- 48 < 10 {
            if e < 100_000 { e = e * 10 + Int(bytes[i] &- 48) }
            i += 1
        }
        exponent += expNegative ? -e : e
    }
    guard i == end else { return nil }
    if digits <= 19, mantissa <= 1 << 53, exponent >= -22, exponent <= 22 {
        var value = Double(mantissa)
        value = exponent < 0 ? value / exactPowersOfTenTable[-exponent] : value * exactPowersOfTenTable[exponent]
        return negative ? -value : value
    }
    return slowParse(bytes, start, end)
}

/// `strtod` on a NUL-terminated copy; also accepts `inf`, `nan`, hex floats.
private func slowParse(_ bytes: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Double? {
    let count = end - start
    guard count > 0 else { return nil }
    return withUnsafeTemporaryAllocation(of: CChar.self, capacity: count + 1) { buffer -> Double? in
        for k in 0..<count { buffer[k] = CChar(bitPattern: bytes[start + k]) }
        buffer[count] = 0
        var endPointer: UnsafeMutablePointer<CChar>?
        let value = strtod(buffer.baseAddress!, &endPointer)
        guard let endPointer, endPointer - buffer.baseAddress! == count else { return nil }
        return value
    }
}

/// Parses a number from a string with the same rules as the CSV reader.
public func parseNumber(_ text: String) -> Double? {
    var text = text
    return text.withUTF8 { buffer in
        guard let base = buffer.baseAddress else { return nil }
        return parseDouble(base, 0, buffer.count)
    }
}
