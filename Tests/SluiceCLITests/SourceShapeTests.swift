import Foundation
import Testing

/// The shape the sources keep: no file so long that a reader cannot hold it (the limit is 500 lines).
@Suite struct SourceShapeTests {
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources")

    @Test func noSourceFileIsOver500Lines() throws {
        let files = try #require(FileManager.default.enumerator(atPath: Self.sources.path)).compactMap {
            ($0 as? String).flatMap { $0.hasSuffix(".swift") ? $0 : nil }
        }
        #expect(files.count > 100, "found \(files.count) Swift files under \(Self.sources.path)")
        let long = try files.compactMap { file -> String? in
            let text = try String(contentsOf: Self.sources.appendingPathComponent(file), encoding: .utf8)
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).count - 1
            return lines > 500 ? "\(file): \(lines) lines" : nil
        }
        #expect(long.isEmpty, "split these files: \(long)")
    }
}
