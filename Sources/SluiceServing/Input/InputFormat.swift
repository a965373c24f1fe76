/// The body formats an endpoint can accept.
public enum InputFormat: String, Sendable, Hashable, CaseIterable {
    /// `text/csv`: one row per line, comma-separated, an optional header line.
    case csv = "text/csv"
    /// `application/json`: `{"x": [[…], …]}`, `{"instances": …}`, `[[…], …]` or one flat row `[…]`.
    case json = "application/json"

    /// The format named by a `Content-Type` header value (parameters such as `charset` ignored).
    public init?(contentType: some StringProtocol) {
        // What clients send almost always: the bare lower-case media type, compared without allocating.
        if contentType.utf8.elementsEqual("application/json".utf8) {
            self = .json
            return
        }
        if contentType.utf8.elementsEqual("text/csv".utf8) {
            self = .csv
            return
        }
        let mediaType = contentType.split(separator: ";", maxSplits: 1).first ?? ""
        let trimmed = mediaType.trimmingSpaces().lowercased()
        switch trimmed {
        case "text/csv": self = .csv
        case "application/json": self = .json
        default: return nil
        }
    }
}

extension StringProtocol {
    func trimmingSpaces() -> Substring {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" { slice.removeFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice.removeLast() }
        return slice
    }
}
