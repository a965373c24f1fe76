/// A UTC calendar minute, computed without Foundation so schedules stay pure and exact.
///
/// Days are counted from 1970-01-01 with Howard Hinnant's `days_from_civil` algorithm (proleptic Gregorian).
public struct CivilDay: Hashable, Comparable, Sendable {
    /// Days since 1970-01-01.
    public var ordinal: Int64

    public init(ordinal: Int64) { self.ordinal = ordinal }

    public init(year: Int, month: Int, day: Int) {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let shiftedMonth = Int64(month > 2 ? month - 3 : month + 9)
        let dayOfYear = (153 * shiftedMonth + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        ordinal = era * 146_097 + dayOfEra - 719_468
    }

    /// The day's year, month (1-12) and day of the month (1-31).
    public var date: (year: Int, month: Int, day: Int) {
        let z = ordinal + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * shiftedMonth + 2) / 5 + 1)
        let month = Int(shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9)
        let year = Int(yearOfEra + era * 400) + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }

    /// 1 = Sunday … 7 = Saturday, as EventBridge numbers the days of the week.
    var weekday: Int {
        let sundayBased = (ordinal + 4) % 7  // 1970-01-01 was a Thursday
        return Int(sundayBased < 0 ? sundayBased + 7 : sundayBased) + 1
    }

    static func daysIn(year: Int, month: Int) -> Int {
        switch month {
        case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    public static func < (lhs: CivilDay, rhs: CivilDay) -> Bool { lhs.ordinal < rhs.ordinal }
}

extension Int64 {
    /// Floor division, so times before 1970 land on the right day.
    func flooredDivision(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
