import Foundation
import SluiceCore
import SluiceServer
import SluiceServing
import SluiceStore
import Testing

@testable import SluiceCLI
@testable import SluiceConsole

/// Text users choose (names, parameter values, query values) reaches the console's pages escaped by Unicode scalar: a
/// `"` or `<` followed by a combining mark is one `Character` that is not `"` or `<`, yet a browser still ends an
/// attribute value at the quote and opens a tag at the bracket.
@Suite struct ConsoleEscapingTests {
    /// A value that adds an event handler when its quote is left raw inside an attribute, and a script element when
    /// its bracket is left raw in text.
    static let hostile = "x\"\u{301} onmouseover=\"alert(1)\" <\u{301}script>alert(2)</script>"

    /// The markup characters a page must never carry raw right before a combining mark (no template's own markup
    /// has one).
    static let unsafe: [String] = ["\"", "<", ">", "'", "&"].map { $0 + "\u{301}" }

    /// Whether `body` holds `needle`, compared byte for byte (no Unicode equivalence).
    static func holds(_ body: String, _ needle: String) -> Bool {
        Array(body.utf8).firstRange(of: Array(needle.utf8)) != nil
    }

    /// The markup `body` carries raw before a combining mark.
    static func rawMarkup(_ body: String) -> [String] {
        unsafe.filter { holds(body, $0) }
    }

    /// An execution whose pipeline, step and parameter carry the hostile value, an API key, a model group and an alias
    /// named with it, and a feature lookup asking for it: each page shows the value (escaped) in text and inside attributes, never a raw
    /// quote or bracket.
    @Test func namesAndValuesReachThePagesEscapedByScalar() async throws {
        let scratch = try Scratch()
        let hostile = Self.hostile
        try await withHostedServer(home: scratch.home, workingDirectory: scratch.folder) { base, server, _ in
            let store = server.context.store
            try store.createExecution(
                NewExecution(
                    id: "exec-hostile", pipelineName: "Pipe " + hostile, pipelineHash: "sha256:hostile",
                    pipelineDefinition: "{}", parameters: ["Note": .string(hostile)], stepNames: ["Step " + hostile],
                    maxConcurrentExecutions: 0, createdAt: 1_700_000_000))
            let (_, record) = APIKey.generate(name: "team " + hostile)
            try store.createAPIKey(
                StoredAPIKey(
                    id: record.id, name: "team " + hostile, hashHex: Hex.encode(record.hash), createdAt: 1_700_000_000,
                    dailyQuota: 100))
            _ = try store.createFeatureGroup(
                FeatureGroup(
                    name: "customers", recordIdentifier: "id", eventTime: "at",
                    features: [.init(name: "id", type: .string), .init(name: "at", type: .string)],
                    onlineStore: true, createdAt: 1_700_000_000))
            _ = try store.registerModelVersion(
                NewModelVersion(
                    group: "Churn " + hostile, artifactPath: "/tmp/model",
                    artifactHash: "sha256:" + String(repeating: "ab", count: 32), metrics: .object([:]),
                    status: .approved, createdAt: 1_700_000_000),
                by: "test")
            try store.setAlias(
                group: "Churn " + hostile, alias: "prod " + hostile, version: 1, by: "test", reason: "test",
                now: 1_700_000_000)
            let browser = Browser(base: base)
            let escaped = HTMLText.escape(hostile)
            let asked = hostile.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let pages: [(path: String, shows: [String])] = [
                // The step's name inside `data-step-row="…"`, the pipeline's and the parameter's in text.
                (
                    "/console/executions/exec-hostile",
                    [#"data-step-row="Step "# + escaped + #"""#, "Pipe " + escaped, "<code>" + escaped + "</code>"]
                ),
                ("/console/executions", ["Pipe " + escaped]),
                ("/console/endpoints", ["team " + escaped]),
                ("/console/registry", [">Churn " + escaped + "</a>", ">prod " + escaped + " → v1</span>"]),
                // The id asked for, inside `value="…"`.
                ("/console/features?group=customers&id=" + asked, [#"name="id" value=""# + escaped + #"""#]),
            ]
            for (path, shows) in pages {
                let page = try await browser.get(path)
                #expect(page.status == 200, "\(path): \(page.body)")
                #expect(Self.rawMarkup(page.body).isEmpty, "\(path) carries raw markup: \(Self.rawMarkup(page.body))")
                for text in shows {
                    #expect(Self.holds(page.body, text), "\(path) shows \(text)")
                }
            }
        }
    }

    /// Every console template, rendered with the hostile value for every name it asks for (but the names it inserts
    /// unescaped, `{{{…}}}`, which hold markup the console builds and escapes itself), escapes it by scalar: a
    /// template added later gets the same escaping without asking for it.
    @Test(arguments: ConsoleTemplates.templates.keys.sorted())
    func everyTemplateEscapesByScalar(_ name: String) throws {
        let text = try #require(ConsoleTemplates.templates[name])
        let unescaped = Set(text.matches(of: /\{\{\{\s*(\w+)/).map { String($0.output.1) })
        let asked = Set(text.matches(of: /\{\{[#^]?\s*(\w+)/).map { String($0.output.1) })
        let context = Dictionary(uniqueKeysWithValues: asked.subtracting(unescaped).map { ($0, Self.hostile as Any) })
        let rendered = ConsoleTemplates.render(context, name)
        // The escaping adds nothing to the page: its text up to the first tag is the template's.
        #expect(rendered.hasPrefix(text.prefix { $0 != "{" }), "\(name) begins as it is written: \(rendered)")
        #expect(Self.rawMarkup(rendered).isEmpty, "\(name) carries raw markup: \(rendered)")
        #expect(Self.holds(rendered, HTMLText.escape(Self.hostile)), "\(name) shows the value: \(rendered)")
    }
}
