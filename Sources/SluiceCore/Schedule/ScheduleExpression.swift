/// A schedule expression is not one Sluice can read; the message says which part and how to write it.
public struct ScheduleError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// When a scheduled trigger fires: EventBridge's `rate(5 minutes)` and `cron(0 12 * * ? *)` (UTC), or an ISO-8601
/// period (`PT1H`) as the `every:` key takes it. Times are whole seconds since 1970-01-01 UTC.
public enum ScheduleExpression: Hashable, Sendable, CustomStringConvertible {
    /// Every `seconds`, counted from the moment the trigger was enabled (its anchor), as EventBridge counts rates.
    case rate(seconds: Int64)
    case cron(CronExpression)

    /// Reads `rate(N unit)`, `cron(six fields)` or an ISO-8601 period such as `PT15M`.
    public init(parsing text: String) throws(ScheduleError) {
        let trimmed = text.trimmingSpaces
        if let inside = trimmed.inside(prefix: "rate(") {
            let words = inside.split(separator: " ", omittingEmptySubsequences: true)
            guard words.count == 2, let value = Int64(words[0]), value > 0 else {
                throw ScheduleError(
                    "\(trimmed): write rate(VALUE UNIT) with a positive whole VALUE, e.g. rate(5 minutes)")
            }
            let unit: Int64
            switch words[1].lowercased() {
            case "minute", "minutes": unit = 60
            case "hour", "hours": unit = 3_600
            case "day", "days": unit = 86_400
            default:
                throw ScheduleError("\(trimmed): the unit '\(words[1])' is not minute(s), hour(s) or day(s)")
            }
            self = .rate(seconds: value * unit)
        } else if let inside = trimmed.inside(prefix: "cron(") {
            self = .cron(try CronExpression(fields: inside))
        } else if let span = TimeSpan(iso8601: trimmed), span.seconds >= 1 {
            self = .rate(seconds: Int64(span.seconds.rounded()))
        } else {
            throw ScheduleError(
                "'\(trimmed)' is not a schedule: write rate(5 minutes), cron(0 12 * * ? *) or an ISO-8601 period "
                    + "such as PT1H")
        }
    }

    public var description: String {
        switch self {
        case .rate(let seconds): "rate(\(seconds) seconds)"
        case .cron(let expression): "cron(\(expression.text))"
        }
    }

    /// The first firing strictly after `time`; nil when the schedule never fires again (a cron whose years are past).
    /// - Parameters:
    ///   - time: seconds since 1970 UTC.
    ///   - anchor: when the trigger was enabled; rates fire at `anchor + k × period`.
    public func firing(after time: Int64, anchor: Int64) -> Int64? {
        switch self {
        case .rate(let period):
            guard time >= anchor else { return anchor }
            return anchor + ((time - anchor).flooredDivision(by: period) + 1) * period
        case .cron(let cron):
            return cron.firing(after: time)
        }
    }

    /// The latest firing at or before `time` (nil when there is none, as before the anchor of a rate).
    public func latestFiring(notAfter time: Int64, anchor: Int64) -> Int64? {
        switch self {
        case .rate(let period):
            guard time >= anchor else { return nil }
            return anchor + (time - anchor).flooredDivision(by: period) * period
        case .cron(let cron):
            return cron.latestFiring(notAfter: time)
        }
    }

    /// What is due at `now` after the firing `last` (nil: the schedule has not fired yet): the one firing to run now,
    /// if any. Firings missed while nothing watched (a server that was down) collapse into this one catch-up firing,
    /// the latest scheduled time at or before `now`, so a long downtime gives one run, not a burst.
    public func due(after last: Int64?, now: Int64, anchor: Int64) -> Int64? {
        guard let next = firing(after: last ?? (anchor - 1), anchor: anchor), next <= now else { return nil }
        return latestFiring(notAfter: now, anchor: anchor)
    }
}

extension CronExpression {
    /// How far ahead or back a search looks before deciding the expression never fires (its years are 1970–2199).
    static let searchDays: Int64 = 366 * 231

    func firing(after time: Int64) -> Int64? {
        let start = time.flooredDivision(by: 60) + 1  // the next whole minute
        var day = CivilDay(ordinal: start.flooredDivision(by: 1_440))
        var minuteOfDay = Int(start - day.ordinal * 1_440)
        for _ in 0..<Self.searchDays {
            if matches(day), let minute = firstMinute(from: minuteOfDay) {
                return (day.ordinal * 1_440 + Int64(minute)) * 60
            }
            if day.date.year > Self.yearRange.upperBound { return nil }
            day = CivilDay(ordinal: day.ordinal + 1)
            minuteOfDay = 0
        }
        return nil
    }

    func latestFiring(notAfter time: Int64) -> Int64? {
        let end = time.flooredDivision(by: 60)
        var day = CivilDay(ordinal: end.flooredDivision(by: 1_440))
        var minuteOfDay = Int(end - day.ordinal * 1_440)
        for _ in 0..<Self.searchDays {
            if matches(day), let minute = lastMinute(through: minuteOfDay) {
                return (day.ordinal * 1_440 + Int64(minute)) * 60
            }
            if day.date.year < Self.yearRange.lowerBound { return nil }
            day = CivilDay(ordinal: day.ordinal - 1)
            minuteOfDay = 1_439
        }
        return nil
    }

    private func firstMinute(from minuteOfDay: Int) -> Int? {
        for hour in hours.sorted() where hour >= minuteOfDay / 60 {
            let from = hour == minuteOfDay / 60 ? minuteOfDay % 60 : 0
            if let minute = minutes.sorted().first(where: { $0 >= from }) { return hour * 60 + minute }
        }
        return nil
    }

    private func lastMinute(through minuteOfDay: Int) -> Int? {
        for hour in hours.sorted(by: >) where hour <= minuteOfDay / 60 {
            let through = hour == minuteOfDay / 60 ? minuteOfDay % 60 : 59
            if let minute = minutes.sorted(by: >).first(where: { $0 <= through }) { return hour * 60 + minute }
        }
        return nil
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }

    /// The text between `prefix` and a closing `)`, case-insensitively; nil when the text has another shape.
    fileprivate func inside(prefix: String) -> String? {
        guard lowercased().hasPrefix(prefix), hasSuffix(")") else { return nil }
        return String(dropFirst(prefix.count).dropLast())
    }
}
