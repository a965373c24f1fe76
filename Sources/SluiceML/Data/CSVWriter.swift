/// Writes frames as CSV text (numbers in shortest round-trip form, text quoted when needed).
public enum CSVWriter {
    /// CSV text of `frame`, with or without the header row.
    public static func text(_ frame: Frame, header: Bool = true) -> String {
        var out = ""
        out.reserveCapacity(frame.rowCount * frame.columns.count * 10)
        if header { out += frame.names.map(quote).joined(separator: ",") + "\n" }
        for i in 0..<frame.rowCount {
            for (j, column) in frame.columns.enumerated() {
                if j > 0 { out += "," }
                switch column {
                case .numeric(let values): if !values[i].isNaN { out += formatCell(values[i]) }
                case .text(let values): if let value = values[i] { out += quote(value) }
                }
            }
            out += "\n"
        }
        return out
    }

    /// A number as written in CSV output (integers without ".0").
    public static func formatCell(_ value: Double) -> String { formatNumber(value) }

    private static func quote(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\""
    }
}
