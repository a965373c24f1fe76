import SluiceCore
import SluiceServing
import Testing

@Suite struct KeyUsageTests {
    /// 2026-11-30T23:00:00Z and the next hours: the last day of a month, then the first of the next.
    let lastHourOfNovember = 1_796_079_600.0

    @Test func countsOfAnEarlierDayOrMonthAreZeroNow() {
        let (day, month) = KeyUsage.periods(at: lastHourOfNovember)
        let kept = KeyUsage(keyID: "k", day: day, dayCount: 7, month: month, monthCount: 40)

        let sameHour = kept.current(at: lastHourOfNovember + 1800)
        #expect(sameHour.dayCount == 7 && sameHour.monthCount == 40)

        let december = kept.current(at: lastHourOfNovember + 3600)
        #expect(december.day == day + 1 && december.month == month + 1)
        #expect(december.dayCount == 0 && december.monthCount == 0)

        let laterInNovember = KeyUsage(keyID: "k", day: day - 1, dayCount: 5, month: month, monthCount: 40)
            .current(at: lastHourOfNovember)
        #expect(laterInNovember.dayCount == 0 && laterInNovember.monthCount == 40)
        #expect(laterInNovember.keyID == "k")
    }
}
