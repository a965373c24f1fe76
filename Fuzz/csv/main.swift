import SluiceML

/// The CSV reader on arbitrary bytes: any input either parses into a frame whose columns all have the same length
/// or throws an `MLError`; nothing else (no crash, no hang). The first byte picks the options.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCSV(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let selector = data[0]
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let header: Bool? = selector & 3 == 0 ? nil : selector & 3 == 1
    let delimiter: UInt8 = selector & 4 == 0 ? UInt8(ascii: ",") : UInt8(ascii: ";")
    let threads = selector & 8 == 0 ? 1 : 2
    let options = CSVOptions(header: header, delimiter: delimiter, threads: threads)
    if let frame = try? CSVReader.parse(bytes, options: options) {
        let counts = Set(frame.columns.map(\.count))
        precondition(counts.count <= 1, "columns of different lengths: \(counts)")
    }
    return 0
}
