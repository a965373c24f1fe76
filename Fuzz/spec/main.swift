import SluiceCore
import SluiceSpec

/// The spec loader (YAML/JSON text → located syntax → validated module or pipeline) on arbitrary text: it answers
/// with diagnostics, each located in the file it was given, and never crashes or hangs.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSpec(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let result = PipelineLoader.validate(text: text, file: "fuzz.yaml")
    for diagnostic in result.diagnostics {
        precondition(
            diagnostic.location.map { $0.file == "fuzz.yaml" } ?? true, "diagnostic located elsewhere: \(diagnostic)")
    }
    return 0
}
