import SluiceServer
import Testing

@Suite struct HTMLTextTests {
    /// The five characters markup gives a meaning to are escaped; everything else is kept as written.
    @Test func escapesMarkupAndKeepsTheRest() {
        #expect(
            HTMLText.escape(#"<a href="x" title='y'>Tom & Jerry</a>"#)
                == "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;Tom &amp; Jerry&lt;/a&gt;")
        #expect(HTMLText.escape("Ship it? café 🚀 — résumé") == "Ship it? café 🚀 — résumé")
    }

    /// A quote followed by a combining mark is one Swift `Character`, but the browser still sees the quote: it is
    /// escaped, so a step named so cannot end an attribute value and add its own attributes.
    @Test func aQuoteCarryingACombiningMarkIsStillEscaped() {
        let name = "x\"\u{301} onmouseover=alert(1) y=<\u{301}"
        let escaped = HTMLText.escape(name)
        #expect(escaped == "x&quot;\u{301} onmouseover=alert(1) y=&lt;\u{301}")
        #expect(!escaped.unicodeScalars.contains("\"") && !escaped.unicodeScalars.contains("<"))
    }
}
