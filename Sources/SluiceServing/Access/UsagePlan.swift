import SluiceCore
import Synchronization

/// Limits for one API key: a token bucket (steady rate, burst) and optional daily/monthly quotas.
@MemberwiseInit
public struct UsagePlan: Sendable, Equatable {
    /// Sustained requests per second.
    public var rate: Double
    /// Requests that may arrive at once after a quiet period.
    public var burst: Int
    /// Requests allowed per UTC day, if limited.
    public var dailyQuota: Int?
    /// Requests allowed per UTC month, if limited.
    public var monthlyQuota: Int?
}

/// A token bucket: holds up to `burst` tokens, refilled at `rate` per second; a request takes one.
public struct TokenBucket: Sendable, Equatable {
    /// Refill rate per second.
    public let rate: Double
    /// Capacity.
    public let burst: Double
    private var tokens: Double
    private var updatedAt: Double

    /// A full bucket at time `now` (seconds).
    public init(rate: Double, burst: Int, now: Double) {
        self.rate = rate
        self.burst = Double(max(burst, 1))
        self.tokens = self.burst
        self.updatedAt = now
    }

    /// Takes a token at `now`; returns nil when allowed, else the seconds until a token is available.
    public mutating func take(now: Double) -> Double? {
        if now > updatedAt {
            tokens = min(burst, tokens + (now - updatedAt) * rate)
            updatedAt = now
        }
        if tokens >= 1 {
            tokens -= 1
            return nil
        }
        return rate > 0 ? (1 - tokens) / rate : 86_400
    }
}

extension KeyUsage {
    /// The day and month numbers of `now` (seconds since 1970, UTC).
    public static func periods(at now: Double) -> (day: Int, month: Int) {
        let date = UTCDate(secondsSince1970: now)
        return (Int((now / 86_400).rounded(.down)), date.year * 12 + date.month - 1)
    }

    /// These counts as they stand at `now`: a count kept in an earlier day (or month) is 0 in the current one.
    public func current(at now: Double) -> KeyUsage {
        let (day, month) = Self.periods(at: now)
        return current(day: day, month: month)
    }

    /// These counts in `day` and `month` (as `periods(at:)` numbers them).
    func current(day: Int, month: Int) -> KeyUsage {
        KeyUsage(
            keyID: keyID, day: day, dayCount: self.day == day ? dayCount : 0, month: month,
            monthCount: self.month == month ? monthCount : 0)
    }
}

/// Applies usage plans per key; time is passed in (seconds since 1970, UTC) so tests control it.
public final class UsageMeter: Sendable {
    private struct Usage {
        /// Made at the key's first request, from its plan then.
        var bucket: TokenBucket?
        var counts: KeyUsage
        /// Whether the counts changed since `takeChanges()`.
        var changed = false
    }
    private let usage = Mutex<[String: Usage]>([:])

    /// Creates an empty meter.
    public init() {}

    /// Starts from counts kept earlier (a restarted server); counts of a past day or month are reset when used.
    public func restore(_ counts: [KeyUsage]) {
        usage.withLock { table in
            for count in counts where table[count.keyID] == nil { table[count.keyID] = Usage(counts: count) }
        }
    }

    /// The counts that changed since the last call, to be kept.
    public func takeChanges() -> [KeyUsage] {
        usage.withLock { table in
            var changed: [KeyUsage] = []
            for (key, entry) in table where entry.changed {
                changed.append(entry.counts)
                table[key]?.changed = false
            }
            return changed
        }
    }

    /// Marks `counts` (from `takeChanges`) as changed again because they could not be kept (a full disk): the next
    /// `takeChanges` returns their keys' counts, current by then.
    public func keepLater(_ counts: [KeyUsage]) {
        usage.withLock { table in
            for count in counts { table[count.keyID]?.changed = true }
        }
    }

    /// Counts a request by `record` at `now`, or throws 429's error with its Retry-After.
    public func admit(_ record: APIKeyRecord, now: Double) throws(ServingError) {
        guard let plan = record.plan else { return }
        let (day, month) = KeyUsage.periods(at: now)
        let outcome: ServingError? = usage.withLock { table in
            var entry =
                table[record.id]
                ?? Usage(counts: KeyUsage(keyID: record.id, day: day, dayCount: 0, month: month, monthCount: 0))
            defer { table[record.id] = entry }
            entry.counts = entry.counts.current(day: day, month: month)
            if let quota = plan.dailyQuota, entry.counts.dayCount >= quota {
                let wait = Double(day + 1) * 86_400 - now
                return ServingError(
                    .quotaExceeded,
                    "Key \(record.id) used its daily quota of \(quota) requests; it resets at 00:00 UTC.",
                    retryAfterSeconds: Int(wait.rounded(.up))
                )
            }
            if let quota = plan.monthlyQuota, entry.counts.monthCount >= quota {
                let wait = UTCDate(secondsSince1970: now).secondsUntilNextMonth
                return ServingError(
                    .quotaExceeded,
                    "Key \(record.id) used its monthly quota of \(quota) requests; it resets on the 1st (UTC).",
                    retryAfterSeconds: Int(wait.rounded(.up))
                )
            }
            var bucket = entry.bucket ?? TokenBucket(rate: plan.rate, burst: plan.burst, now: now)
            defer { entry.bucket = bucket }
            if let wait = bucket.take(now: now) {
                return ServingError(
                    .throttled,
                    "Rate limit of \(plan.rate) requests/s (burst \(plan.burst)) exceeded for key \(record.id); "
                        + "retry later.",
                    retryAfterSeconds: max(1, Int(wait.rounded(.up)))
                )
            }
            entry.counts.dayCount += 1
            entry.counts.monthCount += 1
            entry.changed = true
            return nil
        }
        if let outcome { throw outcome }
    }
}

/// A UTC calendar date and hour computed from a timestamp, without Foundation's calendar.
public struct UTCDate: Sendable, Equatable {
    public var year: Int
    public var month: Int
    public var day: Int
    public var hour: Int
    public var minute: Int
    public var second: Int
    public var millisecond: Int
    let secondsSince1970: Double

    /// The UTC date of `secondsSince1970`.
    public init(secondsSince1970 seconds: Double) {
        self.secondsSince1970 = seconds
        let whole = Int(seconds.rounded(.down))
        millisecond = Int(((seconds - Double(whole)) * 1000).rounded(.down))
        var days = whole / 86_400
        var rest = whole % 86_400
        if rest < 0 {
            rest += 86_400
            days -= 1
        }
        hour = rest / 3600
        minute = rest % 3600 / 60
        second = rest % 60
        (year, month, day) = CivilDay(ordinal: Int64(days)).date
    }

    /// Seconds from this instant to 00:00 UTC on the first of next month.
    var secondsUntilNextMonth: Double {
        let (y, m) = month == 12 ? (year + 1, 1) : (year, month + 1)
        return Double(CivilDay(year: y, month: m, day: 1).ordinal) * 86_400 - secondsSince1970
    }

    /// `yyyy-mm-ddThh:mm:ss.sssZ`.
    public var iso8601: String {
        var bytes: [UInt8] = []
        appendISO8601(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends `yyyy-mm-ddThh:mm:ss.sssZ` as UTF-8, without intermediate strings.
    public func appendISO8601(to out: inout [UInt8]) {
        func digits(_ value: Int, _ width: Int) {
            var divisor = 1
            for _ in 1..<width { divisor *= 10 }
            var value = value
            if value >= divisor * 10 {
                out.append(contentsOf: String(value).utf8)
                return
            }
            while divisor > 0 {
                out.append(UInt8(ascii: "0") + UInt8(value / divisor))
                value %= divisor
                divisor /= 10
            }
        }
        // One call per field, not a loop over an array of them: this runs for every captured record.
        func field(_ value: Int, _ width: Int, then separator: Unicode.Scalar) {
            digits(value, width)
            out.append(UInt8(ascii: separator))
        }
        field(year, 4, then: "-")
        field(month, 2, then: "-")
        field(day, 2, then: "T")
        field(hour, 2, then: ":")
        field(minute, 2, then: ":")
        field(second, 2, then: ".")
        field(millisecond, 3, then: "Z")
    }
}

func pad(_ value: Int, _ width: Int) -> String {
    let text = String(value)
    return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
}
