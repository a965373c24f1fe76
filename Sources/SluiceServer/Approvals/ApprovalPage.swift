import Foundation
import SluiceCore

/// The HTML pages of the approval flow: small, self-contained, no scripts.
enum ApprovalPage {
    static func confirmation(_ view: ApprovalView, token: String, suggested: Bool?) -> String {
        let action = "/approvals/" + (token.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? token)
        var rows = [
            ("Pipeline", view.pipeline), ("Execution", view.executionID), ("Step", view.step),
        ]
        if let expiresAt = view.expiresAt {
            rows.append(("Times out", ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: expiresAt))))
        }
        let hint =
            switch suggested {
            case true?: "<p class=hint>You followed the <b>approve</b> link. Confirm below; nothing is decided yet.</p>"
            case false?: "<p class=hint>You followed the <b>reject</b> link. Confirm below; nothing is decided yet.</p>"
            case nil: ""
            }
        return document(
            title: "Approve \(view.step)?",
            body: """
                <h1>\(escape(view.message.isEmpty ? "Approve \(view.step)?" : view.message))</h1>
                \(hint)
                <table>\(rows.map { "<tr><th>\($0.0)</th><td>\(escape($0.1))</td></tr>" }.joined())</table>
                <form method=post action="\(escape(action))">
                  <input type=hidden name=decision value=approve>
                  <button type=submit class=approve>Approve</button>
                </form>
                <form method=post action="\(escape(action))">
                  <input type=hidden name=decision value=reject>
                  <label>Reason <input name=reason required placeholder="why this is rejected"></label>
                  <button type=submit class=reject>Reject</button>
                </form>
                <p class=note>The link works once: after a decision it answers 410 Gone.</p>
                """)
    }

    static func decided(_ view: ApprovalView) -> String {
        let outcome: String
        switch view.state {
        case .approved: outcome = "Approved. Execution \(view.executionID) continues."
        case .rejected(let reason):
            outcome = "Rejected (\(reason)). Step '\(view.step)' of execution \(view.executionID) fails."
        case .expired, .pending: outcome = "Recorded."
        }
        return document(title: "Decision recorded", body: "<h1>\(escape(outcome))</h1>")
    }

    private static func document(title: String, body: String) -> String {
        """
        <!doctype html>
        <html lang=en><head><meta charset=utf-8><meta name=robots content=noindex>
        <meta name=viewport content="width=device-width, initial-scale=1">
        <title>\(escape(title)) · Sluice</title>
        <style>
        body{font:16px system-ui,sans-serif;max-width:40em;margin:3em auto;padding:0 1em;color:#222}
        th{text-align:left;padding-right:1em;color:#666}form{margin:1.5em 0}
        button{font-size:1em;padding:.5em 1.5em;border:0;border-radius:4px;color:#fff;cursor:pointer}
        .approve{background:#2a7d2a}.reject{background:#b03030}.hint{background:#fff7d6;padding:.5em}
        .note{color:#666;font-size:.9em}input[name=reason]{width:20em;margin-right:1em}
        </style></head>
        <body>
        \(body)
        </body></html>

        """
    }

    /// Escapes text for HTML content and attribute values.
    static func escape(_ text: String) -> String { HTMLText.escape(text) }
}
