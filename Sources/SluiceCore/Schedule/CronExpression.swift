/// An EventBridge cron expression: `Minutes Hours Day-of-month Month Day-of-week Year`, in UTC.
///
/// Supports what EventBridge documents: `,` lists, `-` ranges, `*`, `/` increments, `?` (one of the two day fields
/// must be `?`), `L` (last day of the month, or `5L`: the month's last Thursday), `W` (`15W`: the weekday nearest the
/// 15th, `LW`: the last weekday) and `#` (`3#2`: the month's second Tuesday), with month names `JAN`–`DEC` and day
/// names `SUN`–`SAT` (1 = Sunday).
public struct CronExpression: Hashable, Sendable {
    enum DayOfMonth: Hashable, Sendable {
        case unspecified
        case days(Set<Int>)
        case last
        case lastWeekday
        case nearestWeekday(Int)
    }

    enum DayOfWeek: Hashable, Sendable {
        case unspecified
        case days(Set<Int>)
        case last(Int)
        case nth(Int, Int)
    }

    var minutes: Set<Int>
    var hours: Set<Int>
    var dayOfMonth: DayOfMonth
    var months: Set<Int>
    var dayOfWeek: DayOfWeek
    var years: Set<Int>

    /// The text the expression was read from, without `cron(` and `)`.
    public let text: String

    static let yearRange = 1970...2199

    /// Reads the six fields of `cron(…)`'s inside.
    public init(fields text: String) throws(ScheduleError) {
        self.text = text
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map { String($0).uppercased() }
        guard fields.count == 6 else {
            throw ScheduleError(
                "cron(\(text)) has \(fields.count) fields; it needs 6: Minutes Hours Day-of-month Month Day-of-week "
                    + "Year, e.g. cron(0 12 * * ? *)")
        }
        minutes = try Self.values(fields[0], name: "Minutes", range: 0...59)
        hours = try Self.values(fields[1], name: "Hours", range: 0...23)
        months = try Self.values(fields[3], name: "Month", range: 1...12, names: Self.monthNames)
        years = try Self.values(fields[5], name: "Year", range: Self.yearRange)
        dayOfMonth = try Self.dayOfMonth(fields[2])
        dayOfWeek = try Self.dayOfWeek(fields[4])
        switch (dayOfMonth, dayOfWeek) {
        case (.unspecified, .unspecified):
            throw ScheduleError("cron(\(text)): Day-of-month and Day-of-week cannot both be '?'; give one of them")
        case (.unspecified, _), (_, .unspecified): break
        default:
            throw ScheduleError(
                "cron(\(text)): Day-of-month and Day-of-week cannot both be given; write '?' in one of them, "
                    + "e.g. cron(0 12 * * ? *)")
        }
    }

    /// Whether the expression fires at some minute of `day`.
    func matches(_ day: CivilDay) -> Bool {
        let (year, month, dayOfMonthNumber) = day.date
        guard years.contains(year), months.contains(month) else { return false }
        let lastDay = CivilDay.daysIn(year: year, month: month)
        switch dayOfMonth {
        case .unspecified: break
        case .days(let days): return days.contains(dayOfMonthNumber)
        case .last: return dayOfMonthNumber == lastDay
        case .lastWeekday:
            return dayOfMonthNumber == Self.nearestWeekday(to: lastDay, year: year, month: month)
        case .nearestWeekday(let target):
            return dayOfMonthNumber == Self.nearestWeekday(to: min(target, lastDay), year: year, month: month)
        }
        let weekday = day.weekday
        switch dayOfWeek {
        case .unspecified: return true
        case .days(let days): return days.contains(weekday)
        case .last(let target): return weekday == target && dayOfMonthNumber + 7 > lastDay
        case .nth(let target, let nth): return weekday == target && (dayOfMonthNumber - 1) / 7 + 1 == nth
        }
    }

    /// The weekday (Monday–Friday) nearest `day` without leaving the month.
    static func nearestWeekday(to day: Int, year: Int, month: Int) -> Int {
        let weekday = CivilDay(year: year, month: month, day: day).weekday
        let lastDay = CivilDay.daysIn(year: year, month: month)
        switch weekday {
        case 7: return day > 1 ? day - 1 : day + 2  // Saturday
        case 1: return day < lastDay ? day + 1 : day - 2  // Sunday
        default: return day
        }
    }

    // MARK: Reading fields

    static let monthNames = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    static let dayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]

    static func dayOfMonth(_ field: String) throws(ScheduleError) -> DayOfMonth {
        switch field {
        case "?": return .unspecified
        case "L": return .last
        case "LW": return .lastWeekday
        default:
            if field.hasSuffix("W") {
                let day = try number(String(field.dropLast()), name: "Day-of-month", range: 1...31, names: [])
                return .nearestWeekday(day)
            }
            return .days(try values(field, name: "Day-of-month", range: 1...31))
        }
    }

    static func dayOfWeek(_ field: String) throws(ScheduleError) -> DayOfWeek {
        if field == "?" { return .unspecified }
        if field.hasSuffix("L"), field.count > 1 {
            return .last(try number(String(field.dropLast()), name: "Day-of-week", range: 1...7, names: dayNames))
        }
        if let hash = field.firstIndex(of: "#") {
            let day = try number(String(field[..<hash]), name: "Day-of-week", range: 1...7, names: dayNames)
            let nth = try number(String(field[field.index(after: hash)...]), name: "Day-of-week '#'", range: 1...5)
            return .nth(day, nth)
        }
        if field == "L" { return .days([7]) }
        return .days(try values(field, name: "Day-of-week", range: 1...7, names: dayNames))
    }

    /// A list of `*`, `N`, `A-B`, `*/S`, `N/S` or `A-B/S` items.
    static func values(
        _ field: String, name: String, range: ClosedRange<Int>, names: [String] = []
    ) throws(ScheduleError) -> Set<Int> {
        var result: Set<Int> = []
        for item in field.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = item.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count <= 2, let spanText = parts.first, !spanText.isEmpty else {
                throw ScheduleError("cron field \(name) '\(field)': '\(item)' is not a value, range or increment")
            }
            var span: ClosedRange<Int>
            if spanText == "*" || spanText == "?" {
                span = range
            } else if let dash = spanText.firstIndex(of: "-") {
                let low = try number(String(spanText[..<dash]), name: name, range: range, names: names)
                let high = try number(
                    String(spanText[spanText.index(after: dash)...]), name: name, range: range, names: names)
                guard low <= high else {
                    throw ScheduleError("cron field \(name) '\(field)': the range \(spanText) runs backwards")
                }
                span = low...high
            } else {
                let start = try number(String(spanText), name: name, range: range, names: names)
                span = start...(parts.count == 2 ? range.upperBound : start)
            }
            var step = 1
            if parts.count == 2 {
                step = try number(String(parts[1]), name: "\(name) increment", range: 1...range.upperBound)
            }
            result.formUnion(stride(from: span.lowerBound, through: span.upperBound, by: step))
        }
        return result
    }

    static func number(
        _ text: String, name: String, range: ClosedRange<Int>, names: [String] = []
    ) throws(ScheduleError) -> Int {
        if let index = names.firstIndex(of: text) { return index + range.lowerBound }
        guard let value = Int(text), range.contains(value) else {
            let spelled = names.isEmpty ? "" : " or one of \(names.joined(separator: ", "))"
            throw ScheduleError(
                "cron field \(name): '\(text)' is not a number from \(range.lowerBound) to \(range.upperBound)\(spelled)"
            )
        }
        return value
    }
}
