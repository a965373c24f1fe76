import Foundation
import Logging
import NIOCore
public import SluiceCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One captured request/response pair.
@MemberwiseInit
public struct CaptureRecord: Sendable {
    /// Endpoint name.
    public var endpoint: String
    /// Stage that answered (`staging`, `production`, …): staging and production traffic stay apart.
    public var stage: String
    /// Variant that answered (or the shadow).
    public var variant: String
    /// Unique id of the inference.
    public var inferenceId: String
    /// When it was answered (seconds since 1970).
    public var time: Double
    /// Request content type.
    public var inputContentType: String
    /// Request body.
    public var input: ByteBuffer
    /// Response content type.
    public var outputContentType: String
    /// Response body.
    public var output: ByteBuffer

    /// Appends the record as one line of SageMaker's data-capture JSON Lines format, newline included.
    public func appendJSONLine(to out: inout [UInt8]) {
        func encoding(_ contentType: String) -> String {
            InputFormat(contentType: contentType) == .csv ? "CSV" : "JSON"
        }
        func raw(_ text: String) { out.append(contentsOf: text.utf8) }
        raw("{\"captureData\":{\"endpointInput\":{\"observedContentType\":")
        appendQuoted(inputContentType.utf8, to: &out)
        raw(",\"mode\":\"INPUT\",\"data\":")
        input.withUnsafeReadableBytes { appendQuoted($0, to: &out) }
        raw(",\"encoding\":\"\(encoding(inputContentType))\"},\"endpointOutput\":{\"observedContentType\":")
        appendQuoted(outputContentType.utf8, to: &out)
        raw(",\"mode\":\"OUTPUT\",\"data\":")
        output.withUnsafeReadableBytes { appendQuoted($0, to: &out) }
        raw(",\"encoding\":\"\(encoding(outputContentType))\"}},\"eventMetadata\":{\"eventId\":")
        appendQuoted(inferenceId.utf8, to: &out)
        raw(",\"inferenceTime\":\"")
        UTCDate(secondsSince1970: time).appendISO8601(to: &out)
        raw("\"},\"eventVersion\":\"0\"}\n")
    }

    /// The folder, relative to the capture root: `<endpoint>/<stage>/<variant>/yyyy/mm/dd/hh`.
    public var relativeFolder: String {
        let date = UTCDate(secondsSince1970: time)
        return
            "\(endpoint)/\(stage)/\(variant)/\(pad(date.year, 4))/\(pad(date.month, 2))/\(pad(date.day, 2))/\(pad(date.hour, 2))"
    }
}

/// Appends `bytes` (UTF-8) as a JSON string literal, copying runs that need no escaping in one go.
func appendQuoted(_ bytes: some Collection<UInt8>, to out: inout [UInt8]) {
    out.append(UInt8(ascii: "\""))
    // Bytes that need no escape are copied in runs, not one by one.
    var run = bytes.startIndex
    var index = bytes.startIndex
    while index != bytes.endIndex {
        let byte = bytes[index]
        if byte >= 0x20 && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") {
            bytes.formIndex(after: &index)
            continue
        }
        out.append(contentsOf: bytes[run..<index])
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"):
            out.append(UInt8(ascii: "\\"))
            out.append(byte)
        case 0x0A:
            out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
        case 0x0D:
            out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
        case 0x09:
            out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
        default:
            out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
            out.append(hexDigits[Int(byte >> 4)])
            out.append(hexDigits[Int(byte & 0xF)])
        }
        bytes.formIndex(after: &index)
        run = index
    }
    out.append(contentsOf: bytes[run..<index])
    out.append(UInt8(ascii: "\""))
}

private let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

/// Decides which requests are captured: a seeded pseudo-random draw against a percentage.
public final class CaptureSampler: Sendable {
    private let state: Atomic<UInt64>

    /// A sampler whose draws are reproducible from `seed`.
    public init(seed: UInt64) {
        state = Atomic(seed)
    }

    /// True for about `percentage` percent of calls.
    public func shouldCapture(percentage: Double) -> Bool {
        if percentage <= 0 { return false }
        if percentage >= 100 { return true }
        let draw = SplitMix64.mix(state.wrappingAdd(SplitMix64.gamma, ordering: .relaxed).newValue)
        return Double(draw >> 11) * 0x1p-53 * 100 < percentage
    }
}

/// Inference ids in the random-UUID layout (`8-4-4-4-12` lower-case hex, version 4), drawn from a generator seeded
/// once from the system's randomness: no system call per id, and no id repeats within a process.
public final class InferenceIDGenerator: Sendable {
    private let state: Atomic<UInt64>

    /// A generator seeded from the system's random source.
    public init() {
        var system = SystemRandomNumberGenerator()
        state = Atomic(system.next())
    }

    /// The next id.
    public func next() -> String {
        let base = state.wrappingAdd(2 &* SplitMix64.gamma, ordering: .relaxed).newValue
        // Version 4 in the high half's 13th digit; RFC 4122 variant bits in the low half.
        let high = SplitMix64.mix(base) & 0xFFFF_FFFF_FFFF_0FFF | 0x4000
        let low = SplitMix64.mix(base &+ SplitMix64.gamma) & 0x3FFF_FFFF_FFFF_FFFF | 0x8000_0000_0000_0000
        return String(unsafeUninitializedCapacity: 36) { out in
            var position = 0
            func put(_ value: UInt64, digits: Int) {
                for shift in stride(from: (digits - 1) * 4, through: 0, by: -4) {
                    out[position] = hexDigits[Int(value >> UInt64(shift) & 0xF)]
                    position += 1
                }
            }
            func dash() {
                out[position] = UInt8(ascii: "-")
                position += 1
            }
            put(high >> 32, digits: 8)
            dash()
            put(high >> 16 & 0xFFFF, digits: 4)
            dash()
            put(high & 0xFFFF, digits: 4)
            dash()
            put(low >> 48, digits: 4)
            dash()
            put(low & 0xFFFF_FFFF_FFFF, digits: 12)
            return position
        }
    }
}

/// Writes capture records to `<root>/<endpoint>/<stage>/<variant>/yyyy/mm/dd/hh/*.jsonl` off the request path:
/// requests `submit` into a bounded buffer (dropping, and counting, when it is full); `run` drains it, writing
/// in batches.
///
/// A write the disk refuses (full, read-only, an I/O error) never stops the server: the file is cut back to its last
/// whole line, the batch's records are counted as failed, the first failure is logged with the file's path, the
/// cause and the fix, and the next batch opens a new file, so writing resumes once space is back.
public final class CaptureWriter: Sendable {
    /// The capture root, e.g. `.sluice/capture`.
    public let root: URL
    private let capacity: Int
    /// Requests append here under a short lock; `run` takes the whole batch at each wake. No request wakes the
    /// writer: waking it per record cost about a fifth of `/stream`'s throughput at 20 % capture.
    private let queue = Mutex<(records: [CaptureRecord], finished: Bool)>(([], false))
    private let dropped = Atomic<Int>(0)
    private let written = Atomic<Int>(0)
    private let failed = Atomic<Int>(0)
    private let logger: Logger

    /// Names new capture files by the time of day.
    let clock: any WallClock

    /// A writer under `root`, buffering at most `capacity` records; write failures go to `logger`.
    public init(
        root: URL, capacity: Int = 10_000, clock: any WallClock = SystemWallClock(),
        logger: Logger = Logger(label: "sluice.capture")
    ) {
        self.root = root
        self.capacity = capacity
        self.clock = clock
        self.logger = logger
    }

    /// Queues a record without waiting.
    public func submit(_ record: CaptureRecord) {
        let accepted = queue.withLock { queue in
            guard !queue.finished, queue.records.count < capacity else { return false }
            queue.records.append(record)
            return true
        }
        if !accepted { dropped.add(1, ordering: .relaxed) }
    }

    /// Records dropped because the buffer was full.
    public var droppedCount: Int { dropped.load(ordering: .relaxed) }
    /// Records written so far.
    public var writtenCount: Int { written.load(ordering: .relaxed) }
    /// Records lost because the disk refused them (full, read-only, an I/O error).
    public var failedCount: Int { failed.load(ordering: .relaxed) }

    /// Ends the stream; `run` returns after writing what is queued.
    public func finish() { queue.withLock { $0.finished = true } }

    /// An open capture file and the length of its whole lines.
    private struct OpenFile {
        var path: String
        var descriptor: Int32
        var length: Int
    }

    /// Drains the buffer until `finish` is called (or the task is cancelled), then flushes.
    public func run() async {
        var files: [String: OpenFile] = [:]
        var pending: [String: (bytes: [UInt8], count: Int)] = [:]
        var pendingCount = 0
        var failure = FailureReport()
        let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        func fail(_ count: Int, path: String, cause: String) {
            failed.add(count, ordering: .relaxed)
            guard failure.failed(count) else { return }
            logger.error(
                """
                capture: cannot write \(path): \(cause); \(count) record(s) lost, and later ones are lost too \
                (counted in /metrics as sluice_capture_records_total{outcome="failed"}) until a write succeeds. \
                Fix: free space on the disk holding \(root.path) (`df -h \(root.path)`; move old capture files \
                elsewhere), or lower the capture percentage (`sluice endpoints deploy ... --capture-percent N`)
                """)
        }
        func flush() {
            for (folder, batch) in pending where !batch.bytes.isEmpty {
                var file: OpenFile
                if let open = files[folder] {
                    file = open
                } else {
                    do {
                        file = try newFile(in: folder, suffix: suffix)
                    } catch {
                        fail(batch.count, path: error.path, cause: error.cause)
                        continue
                    }
                }
                if let code = Self.writeAll(batch.bytes, to: file.descriptor) {
                    // Cut the file back to its whole lines and close it; the next batch starts a new file.
                    _ = ftruncate(file.descriptor, off_t(file.length))
                    close(file.descriptor)
                    if file.length == 0 { unlink(file.path) }
                    files[folder] = nil
                    fail(batch.count, path: file.path, cause: String(cString: strerror(code)))
                    continue
                }
                file.length += batch.bytes.count
                files[folder] = file
                written.add(batch.count, ordering: .relaxed)
                if let lost = failure.recovered() {
                    logger.notice(
                        "capture: writing again (\(file.path)); \(lost) record(s) were lost while writes failed")
                }
            }
            pending.removeAll(keepingCapacity: true)
            pendingCount = 0
        }
        var lastFlush = ContinuousClock.now
        // Folders by endpoint, stage, variant and hour since 1970: computed once an hour, not per record.
        struct FolderKey: Hashable {
            var endpoint: String
            var stage: String
            var variant: String
            var hour: Int
        }
        var folders: [FolderKey: String] = [:]
        while true {
            let (batch, finished) = queue.withLock { queue in
                defer { queue.records.removeAll(keepingCapacity: true) }
                return (queue.records, queue.finished)
            }
            for record in batch {
                let key = FolderKey(
                    endpoint: record.endpoint, stage: record.stage, variant: record.variant,
                    hour: Int((record.time / 3600).rounded(.down)))
                let folder: String
                if let known = folders[key] {
                    folder = known
                } else {
                    if folders.count > 1024 { folders.removeAll() }
                    folder = record.relativeFolder
                    folders[key] = folder
                }
                record.appendJSONLine(to: &pending[folder, default: ([], 0)].bytes)
                pending[folder]!.count += 1
            }
            pendingCount += batch.count
            // Batch writes: every 256 records or once a second, whichever comes first.
            if pendingCount >= 256 || ContinuousClock.now - lastFlush > .seconds(1) {
                flush()
                lastFlush = ContinuousClock.now
            }
            if finished || Task.isCancelled { break }
            try? await Task.sleep(for: .milliseconds(20))
        }
        flush()
        for file in files.values { close(file.descriptor) }
    }

    /// A file that could not be opened: its path and why.
    private struct OpenFailure: Error {
        var path: String
        var cause: String
    }

    /// Creates a new capture file in `folder` (and the folder), named by the time of day.
    private func newFile(in folder: String, suffix: String) throws(OpenFailure) -> OpenFile {
        let directory = root.appendingPathComponent(folder, isDirectory: true)
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw OpenFailure(path: directory.path, cause: "cannot create the folder (\(error.localizedDescription))")
        }
        let date = UTCDate(secondsSince1970: clock.now)
        let name = "\(pad(date.minute, 2))-\(pad(date.second, 2))-\(pad(date.millisecond, 3))-\(suffix).jsonl"
        let path = directory.appendingPathComponent(name).path
        let descriptor = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw OpenFailure(path: path, cause: String(cString: strerror(errno))) }
        var status = stat()
        let length = fstat(descriptor, &status) == 0 ? Int(status.st_size) : 0
        return OpenFile(path: path, descriptor: descriptor, length: length)
    }

    /// Writes all of `bytes`; returns `errno` if the system refuses part of them.
    private static func writeAll(_ bytes: [UInt8], to descriptor: Int32) -> Int32? {
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if count < 0 {
                if errno == EINTR { continue }
                return errno
            }
            offset += count
        }
        return nil
    }

    /// Whether writes are failing, so the log gets one line when they start failing and one when they work again.
    private struct FailureReport {
        private var lost = 0

        /// Counts `count` lost records; true for the first failure of a run of failures.
        mutating func failed(_ count: Int) -> Bool {
            defer { lost += count }
            return lost == 0
        }

        /// After a successful write: the records lost since the last one, if any were.
        mutating func recovered() -> Int? {
            defer { lost = 0 }
            return lost > 0 ? lost : nil
        }
    }
}
