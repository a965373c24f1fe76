import Testing

@testable import SluiceCore

/// Seconds since 1970 of a UTC minute (dates checked against Python's `datetime` and `calendar`).
private func utc(_ year: Int, _ month: Int, _ day: Int, _ hour: Int = 0, _ minute: Int = 0) -> Int64 {
    (CivilDay(year: year, month: month, day: day).ordinal * 1_440 + Int64(hour * 60 + minute)) * 60
}

@Suite struct CivilDayTests {
    @Test func ordinalsAndWeekdaysMatchTheCalendar() {
        #expect(CivilDay(year: 1970, month: 1, day: 1).ordinal == 0)
        #expect(CivilDay(year: 2000, month: 3, day: 1).ordinal == 11_017)
        #expect(CivilDay(year: 1969, month: 12, day: 31).ordinal == -1)
        #expect(CivilDay(year: 2026, month: 12, day: 4).weekday == 6)  // a Friday; 1 = Sunday
        #expect(utc(2026, 12, 4, 18, 20) == 1_796_408_400)
        for ordinal in stride(from: Int64(-800_000), through: 800_000, by: 997) {
            let (year, month, day) = CivilDay(ordinal: ordinal).date
            #expect(CivilDay(year: year, month: month, day: day).ordinal == ordinal)
        }
    }
}

@Suite struct ScheduleExpressionTests {
    let now = Int64(1_796_408_430)  // 2026-12-04T18:20:30Z

    func cron(_ text: String) throws -> ScheduleExpression { try ScheduleExpression(parsing: "cron(\(text))") }

    @Test func cronFiresAtTheNextMatchingMinute() throws {
        #expect(try cron("0 12 * * ? *").firing(after: now, anchor: 0) == utc(2026, 12, 5, 12))
        #expect(try cron("*/15 * * * ? *").firing(after: now, anchor: 0) == utc(2026, 12, 4, 18, 30))
        #expect(try cron("15 10 ? * 6L 2026").firing(after: now, anchor: 0) == utc(2026, 12, 25, 10, 15))
        #expect(try cron("0 9 ? * TUE#2 *").firing(after: now, anchor: 0) == utc(2026, 12, 8, 9))
        #expect(try cron("0 9 ? * TUE#2 *").firing(after: utc(2026, 12, 8, 9), anchor: 0) == utc(2027, 1, 12, 9))
        #expect(try cron("0 9 15W MAY ? 2027").firing(after: now, anchor: 0) == utc(2027, 5, 14, 9))
        #expect(try cron("0 9 LW MAY ? 2027").firing(after: now, anchor: 0) == utc(2027, 5, 31, 9))
        #expect(try cron("0 0 L FEB ? 2028").firing(after: now, anchor: 0) == utc(2028, 2, 29))
        #expect(try cron("0 8 ? * MON-FRI *").firing(after: utc(2026, 12, 5), anchor: 0) == utc(2026, 12, 7, 8))
        #expect(try cron("0 0 1 1 ? 2020").firing(after: now, anchor: 0) == nil)
    }

    @Test func cronSearchAgreesWithMinuteByMinuteScan() throws {
        for text in ["7,37 */5 ? * 2-4 *", "0 0 L * ? *", "30 6 ? * 1#1 *", "59 23 29 * ? *"] {
            let expression = try CronExpression(fields: text)
            var time = utc(2027, 1, 30, 22, 3)
            for _ in 0..<3 {
                guard let next = expression.firing(after: time) else {
                    Issue.record("\(text) never fires")
                    break
                }
                var scan = (time / 60 + 1) * 60
                while scan < next {
                    #expect(!expression.fires(at: scan), "\(text) fires at \(scan), before \(next)")
                    scan += 60
                }
                #expect(expression.fires(at: next))
                #expect(expression.latestFiring(notAfter: next + 59) == next)
                time = next
            }
        }
    }

    @Test func ratesCountFromTheAnchor() throws {
        let hourly = try ScheduleExpression(parsing: "rate(1 hour)")
        #expect(hourly == .rate(seconds: 3_600))
        #expect(try ScheduleExpression(parsing: "PT1H") == hourly)
        #expect(hourly.firing(after: 100, anchor: 100) == 3_700)
        #expect(hourly.firing(after: 50, anchor: 100) == 100)
        #expect(hourly.latestFiring(notAfter: 7_299, anchor: 100) == 3_700)
        #expect(hourly.latestFiring(notAfter: 99, anchor: 100) == nil)
    }

    @Test func missedFiringsCollapseIntoOneCatchUp() throws {
        let hourly = ScheduleExpression.rate(seconds: 3_600)
        // Last fired at 01:00; the server was down until 10:00:05: one firing, the 10:00 one, is due.
        #expect(hourly.due(after: 3_600, now: 36_005, anchor: 0) == 36_000)
        #expect(hourly.due(after: 36_000, now: 36_010, anchor: 0) == nil)
        #expect(hourly.due(after: nil, now: 10, anchor: 0) == 0)
        let daily = try cron("0 12 * * ? *")
        let missed = daily.due(after: utc(2026, 12, 1, 12), now: now, anchor: 0)
        #expect(missed == utc(2026, 12, 4, 12))
        #expect(daily.due(after: utc(2026, 12, 4, 12), now: now, anchor: 0) == nil)
    }

    @Test func badExpressionsSayWhatToWrite() {
        let cases: [(String, String)] = [
            ("cron(0 12 * * *)", "has 5 fields; it needs 6"),
            ("cron(0 12 * * * *)", "cannot both be given"),
            ("cron(0 12 ? * ? *)", "cannot both be '?'"),
            ("cron(61 12 * * ? *)", "Minutes: '61' is not a number from 0 to 59"),
            ("cron(0 12 ? * FUN *)", "Day-of-week: 'FUN' is not a number from 1 to 7 or one of SUN"),
            ("cron(0 12 5-3 * ? *)", "the range 5-3 runs backwards"),
            ("rate(5 weeks)", "the unit 'weeks' is not minute(s), hour(s) or day(s)"),
            ("rate(0 minutes)", "positive whole VALUE"),
            ("every hour", "is not a schedule"),
        ]
        for (text, expected) in cases {
            #expect(throws: ScheduleError.self) { try ScheduleExpression(parsing: text) }
            do {
                _ = try ScheduleExpression(parsing: text)
            } catch {
                #expect(error.message.contains(expected), "\(text): \(error.message)")
            }
        }
    }
}

extension CronExpression {
    /// The definition the search must agree with: this minute's day, hour and minute all match.
    fileprivate func fires(at time: Int64) -> Bool {
        let minute = time / 60
        let day = CivilDay(ordinal: minute / 1_440)
        let minuteOfDay = Int(minute % 1_440)
        return matches(day) && hours.contains(minuteOfDay / 60) && minutes.contains(minuteOfDay % 60)
    }
}
