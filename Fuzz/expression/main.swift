import SluiceML

/// A frame with a numeric, a text and a date column for parsed expressions to be checked and evaluated against.
let frame = Frame(
    names: ["a", "b", "when"],
    columns: [.numeric([1, -2.5, .nan]), .text(["x", nil, "y"]), .text(["2024-02-29", "1999-12-31", nil])])

/// The expression parser on arbitrary text: it parses or throws an `ExpressionError`; a parsed expression checks
/// against a frame or throws, and one that checks evaluates to one value per row (or throws).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzExpression(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let expression = try? Expression(text) else { return 0 }
    guard (try? expression.check(against: frame)) != nil else { return 0 }
    if let values = try? expression.evaluate(frame) {
        precondition(values.count == frame.rowCount, "\(values.count) values for \(frame.rowCount) rows")
    }
    return 0
}
