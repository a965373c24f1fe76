import Foundation
import SluiceCore

/// The stdout and stderr of an execution's attempts (`executions/<id>/<step>/<attempt>/*.log`), read as they grow.
///
/// The first read of a log gives its last `tailBytes`; each later read gives what was written since, or the tail
/// again when more than `largestChunk` arrived at once (a page follows a log, it does not download it). Bytes of a
/// character still being written are left for the next read, so a chunk is always whole UTF-8. Only a running
/// attempt's logs can grow: a finished attempt's are read once after it finished (for what it wrote last), then no
/// more.
struct AttemptLogs {
    /// One log's new text.
    struct Chunk {
        var step: String
        var attempt: Int
        var file: String
        var text: String
        /// Whether `text` replaces what was shown of this log (a tail) rather than continuing it.
        var replaces: Bool

        /// Names the log on the page.
        var key: String { "\(step)/\(attempt)/\(file)" }
    }

    static let tailBytes: UInt64 = 8192
    static let largestChunk: UInt64 = 64 * 1024

    let folder: String
    /// How far each log has been read, by key.
    private var offsets: [String: UInt64] = [:]
    /// The attempts (`step/number`) whose logs were read after they finished.
    private var settled: Set<String> = []

    /// - Parameters:
    ///   - executionsPath: the folder of attempt work directories.
    init(executionsPath: String, executionID: String) {
        folder = "\(executionsPath)/\(executionID)"
    }

    /// What the logs of `attempts` gained since the last read.
    mutating func read(_ attempts: [AttemptRecord]) -> [Chunk] {
        var chunks: [Chunk] = []
        for attempt in attempts {
            if attempt.status != .running {
                guard settled.insert("\(attempt.step)/\(attempt.number)").inserted else { continue }
            }
            for file in ["stdout.log", "stderr.log"] {
                var chunk = Chunk(step: attempt.step, attempt: attempt.number, file: file, text: "", replaces: false)
                guard let handle = FileHandle(forReadingAtPath: "\(folder)/\(attempt.step)/\(attempt.number)/\(file)")
                else { continue }
                defer { try? handle.close() }
                let size = (try? handle.seekToEnd()) ?? 0
                var start = offsets[chunk.key] ?? 0
                chunk.replaces = offsets[chunk.key] == nil || size < start || size - start > Self.largestChunk
                if chunk.replaces { start = size > Self.tailBytes ? size - Self.tailBytes : 0 }
                guard size > start else { continue }
                try? handle.seek(toOffset: start)
                var bytes = [UInt8]((try? handle.read(upToCount: Int(size - start))) ?? Data())
                if chunk.replaces && start > 0 {
                    // A tail may begin inside a character: drop its continuation bytes.
                    let skipped = bytes.prefix(3).prefix { $0 & 0xC0 == 0x80 }.count
                    bytes.removeFirst(skipped)
                    start += UInt64(skipped)
                }
                let whole = Self.wholeCharacters(bytes)
                offsets[chunk.key] = start + UInt64(whole)
                guard whole > 0 || chunk.replaces else { continue }
                chunk.text = String(decoding: bytes[..<whole], as: UTF8.self)
                chunks.append(chunk)
            }
        }
        return chunks
    }

    /// The length of `bytes` without a last character whose bytes are not all there yet.
    static func wholeCharacters(_ bytes: [UInt8]) -> Int {
        // Look back at most 3 bytes for the lead byte of the last character.
        for back in 1...4 where back <= bytes.count {
            let byte = bytes[bytes.count - back]
            if byte & 0xC0 == 0x80 { continue }  // a continuation byte: the lead is further back
            let length = byte < 0x80 ? 1 : byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1
            return length > back ? bytes.count - back : bytes.count
        }
        return bytes.count
    }
}
