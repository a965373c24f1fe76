import Foundation
import NIOCore
public import SluiceCore
import Synchronization

/// One captured request/response pair.
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

    /// Creates a record.
    public init(
        endpoint: String, stage: String, variant: String, inferenceId: String, time: Double,
        inputContentType: String, input: ByteBuffer, outputContentType: String, output: ByteBuffer
    ) {
        self.endpoint = endpoint
        self.stage = stage
        self.variant = variant
        self.inferenceId = inferenceId
        self.time = time
        self.inputContentType = inputContentType
        self.input = input
        self.outputContentType = outputContentType
        self.output = output
    }

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
public final class CaptureWriter: Sendable {
    /// The capture root, e.g. `.sluice/capture`.
    public let root: URL
    private let capacity: Int
    /// Requests append here under a short lock; `run` takes the whole batch at each wake. No request wakes the
    /// writer: waking it per record cost about a fifth of `/stream`'s throughput at 20 % capture.
    private let queue = Mutex<(records: [CaptureRecord], finished: Bool)>(([], false))
    private let dropped = Atomic<Int>(0)
    private let written = Atomic<Int>(0)

    /// Names new capture files by the time of day.
    let clock: any WallClock

    /// A writer under `root`, buffering at most `capacity` records.
    public init(root: URL, capacity: Int = 10_000, clock: any WallClock = SystemWallClock()) {
        self.root = root
        self.capacity = capacity
        self.clock = clock
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

    /// Ends the stream; `run` returns after writing what is queued.
    public func finish() { queue.withLock { $0.finished = true } }

    /// Drains the buffer until `finish` is called (or the task is cancelled), then flushes.
    public func run() async {
        var files: [String: FileHandle] = [:]
        var pending: [String: [UInt8]] = [:]
        var pendingCount = 0
        let fileManager = FileManager.default
        let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        func flush() {
            for (folder, bytes) in pending where !bytes.isEmpty {
                let handle: FileHandle
                if let open = files[folder] {
                    handle = open
                } else {
                    let directory = root.appendingPathComponent(folder, isDirectory: true)
                    try? fileManager.createDirectory(at: directory, withIntermediateDirectories: true)
                    let date = UTCDate(secondsSince1970: clock.now)
                    let name =
                        "\(pad(date.minute, 2))-\(pad(date.second, 2))-\(pad(date.millisecond, 3))-\(suffix).jsonl"
                    let file = directory.appendingPathComponent(name)
                    fileManager.createFile(atPath: file.path, contents: nil)
                    guard let opened = try? FileHandle(forWritingTo: file) else { continue }
                    files[folder] = opened
                    handle = opened
                }
                try? handle.write(contentsOf: bytes)
            }
            written.add(pendingCount, ordering: .relaxed)
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
                record.appendJSONLine(to: &pending[folder, default: []])
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
        for handle in files.values { try? handle.close() }
    }
}
