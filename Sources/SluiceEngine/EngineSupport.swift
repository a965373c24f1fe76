public import Foundation
public import SluiceCore

/// Time as the engine sees it: now, and sleeping. Injected so tests control retries, waits and timeouts.
public protocol EngineClock: Sendable {
    /// Seconds since 1970.
    var now: Double { get }
    func sleep(seconds: Double) async throws
}

/// The wall clock.
public struct SystemClock: EngineClock {
    public init() {}
    public var now: Double { Date().timeIntervalSince1970 }
    public func sleep(seconds: Double) async throws {
        guard seconds > 0 else { return }
        try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
    }
}

/// Something the engine tells whoever watches the run (the CLI's live display), after it is committed.
public enum EngineNotice: Sendable {
    case stepStarted(step: String, attempt: Int, time: Double)
    case stepFinished(
        step: String, attempt: Int, status: StepStatus, seconds: Double, cacheHit: Bool, error: StepFailure?)
    case retryScheduled(step: String, attempt: Int, afterSeconds: Double)
    case approvalRequested(step: String, token: String, message: String)
    case approvalWaiting(step: String)
    case cacheDecision(step: String, hit: Bool, key: String, explanation: String)
    case mapProgress(step: String, done: Int, total: Int)
    case finished(ExecutionStatus, StepFailure?)
}

/// Receives engine notices; called from the engine's tasks, so it must be thread-safe.
public protocol ExecutionObserver: Sendable {
    func notify(_ notice: EngineNotice)
}

/// Settings of one engine.
public struct EngineConfiguration: Sendable {
    /// Task steps running at once within one execution.
    public var maxParallel: Int = 8
    /// How long a lease lasts without renewal.
    public var leaseSeconds: Double = 30
    /// How often the lease is renewed (and cancel requests noticed).
    public var heartbeatSeconds: Double = 2
    /// How often a waiting approval checks the store for a decision.
    public var approvalPollSeconds: Double = 0.2
    /// The folder holding `<execution>/<step>/<attempt>/` work directories.
    public var executionsDirectory: String
    /// Seeds retry jitter.
    public var seed: UInt64 = 0x5eed

    public init(executionsDirectory: String, maxParallel: Int = 8) {
        self.executionsDirectory = executionsDirectory
        self.maxParallel = maxParallel
    }
}

/// Why an execution cannot be started or driven; shown to the user as one line.
public struct EngineError: Error, Hashable, Sendable, CustomStringConvertible {
    public var code: String
    public var message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

extension JSONValue {
    /// Canonical JSON text: sorted keys, no spaces, for hashing and storage.
    public var canonicalJSON: String {
        switch self {
        case .null: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .int(let value): return String(value)
        case .double(let value):
            return value.isFinite ? (value == value.rounded() && abs(value) < 1e15 ? "\(value)" : "\(value)") : "null"
        case .string(let value): return Self.quote(value)
        case .array(let items): return "[" + items.map(\.canonicalJSON).joined(separator: ",") + "]"
        case .object(let members):
            return "{"
                + members.keys.sorted().map { Self.quote($0) + ":" + members[$0]!.canonicalJSON }.joined(
                    separator: ",") + "}"
        }
    }

    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out +=
                        "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                        + String(scalar.value, radix: 16)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// Parses JSON text.
    public static func parse(_ text: String) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }
}

/// Encodes a Codable value as canonical JSON (sorted keys).
func canonicalJSON(_ value: some Encodable) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return (try? String(decoding: encoder.encode(value), as: UTF8.self)) ?? ""
}
