import SluiceServing

/// The serving input decoder on arbitrary bodies: every body decodes into `rows × width` values or throws a
/// `ServingError` (a 4xx for the client); nothing else. The first byte picks the format and the width (1…8).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let format: InputFormat = data[0] & 1 == 0 ? .json : .csv
    let width = Int(data[0] >> 1) % 8 + 1
    let body = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    if let rows = try? InputDecoder.decode(body, format: format, width: width) {
        precondition(rows.columnCount == width, "\(rows.columnCount) columns, expected \(width)")
        precondition(rows.values.count == rows.rowCount * width)
    }
    return 0
}
