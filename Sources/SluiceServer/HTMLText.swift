/// Text made safe for HTML content and attribute values (the approval pages and the console build some markup).
public enum HTMLText {
    /// Escapes `&`, `<`, `>`, `"` and `'`.
    ///
    /// It reads Unicode scalars, not characters: a quote followed by a combining mark is one `Character` that is not
    /// `"`, yet the browser still ends an attribute value at the quote.
    public static func escape(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }
}
