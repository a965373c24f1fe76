/// A length of time written in a spec, either as ISO-8601 (`PT30S`, `P90D`) or as plain seconds.
///
/// Months count as 30 days and years as 365, as SageMaker's cache `ExpireAfter` does.
public struct TimeSpan: Hashable, Sendable, Codable, CustomStringConvertible {
    public var seconds: Double

    public init(seconds: Double) { self.seconds = seconds }

    public var duration: Duration { .nanoseconds(Int64((seconds * 1e9).rounded())) }

    /// Parses `PnYnMnWnDTnHnMnS` (fractions allowed on the last unit) or a bare number of seconds.
    public init?(iso8601 text: String) {
        if let value = Double(text), value >= 0, value.isFinite {
            self.seconds = value
            return
        }
        var rest = Substring(text.uppercased())
        guard rest.popFirst() == "P", !rest.isEmpty else { return nil }
        var total = 0.0
        var inTime = false
        var number = ""
        var sawUnit = false
        for character in rest {
            if character == "T" {
                guard !inTime, number.isEmpty else { return nil }
                inTime = true
                continue
            }
            if character.isNumber || character == "." || character == "," {
                number.append(character == "," ? "." : character)
                continue
            }
            guard let value = Double(number), value >= 0 else { return nil }
            let unit: Double
            switch (character, inTime) {
            case ("Y", false): unit = 365 * 86_400
            case ("M", false): unit = 30 * 86_400
            case ("W", false): unit = 7 * 86_400
            case ("D", false): unit = 86_400
            case ("H", true): unit = 3_600
            case ("M", true): unit = 60
            case ("S", true): unit = 1
            default: return nil
            }
            total += value * unit
            number = ""
            sawUnit = true
        }
        guard number.isEmpty, sawUnit else { return nil }
        self.seconds = total
    }

    /// ISO-8601 text for this span, in days, hours, minutes and seconds.
    public var description: String {
        var rest = seconds
        var text = "P"
        let days = (rest / 86_400).rounded(.down)
        if days > 0 { text += "\(Int(days))D" }
        rest -= days * 86_400
        guard rest > 0 else { return days > 0 ? text : "PT0S" }
        text += "T"
        let hours = (rest / 3_600).rounded(.down)
        if hours > 0 { text += "\(Int(hours))H" }
        rest -= hours * 3_600
        let minutes = (rest / 60).rounded(.down)
        if minutes > 0 { text += "\(Int(minutes))M" }
        rest -= minutes * 60
        if rest > 0 { text += rest == rest.rounded() ? "\(Int(rest))S" : "\(rest)S" }
        return text
    }
}
