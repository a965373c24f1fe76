import Foundation
import SluiceCore
import SluiceServing
import SluiceStore
import SluiceTesting
import Testing

@testable import SluiceCLI
@testable import SluiceConsole

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The web console over real HTTP against the hosted server: pages, the approval inbox, CSRF, sign-in, the stream.
@Suite struct ConsoleTests {
    /// The executions list and page show a waiting execution; the inbox lists its approval; a decision without the
    /// session's CSRF token is refused and changes nothing; with it the execution continues to success; the stream of
    /// a finished execution says so and ends. Every page carries the Content-Security-Policy.
    @Test func inboxDecidesOnlyWithTheSessionsToken() async throws {
        let scratch = try Scratch()
        try scratch.writeGate()
        try await withHostedServer(home: scratch.home, workingDirectory: scratch.folder) { base, server, console in
            let (id, _) = try await submitGate(at: base, console: console, parameters: #"{"Version": "7"}"#)
            let browser = Browser(base: base)
            // The console's address, and the server's root, lead to the executions list.
            for path in ["/", "/console/"] {
                let root = try await browser.get(path)
                #expect(root.status == 303 && root.headers["location"] == "/console/executions", "\(path)")
            }

            let list = try await browser.get("/console/executions")
            #expect(list.status == 200 && list.body.contains(id) && list.body.contains("Gate"))
            #expect(list.headers["content-security-policy"]?.contains("script-src 'self'") == true)
            #expect(list.headers["content-security-policy"]?.contains("unsafe-inline") == false)
            let cookie = try #require(list.headers["set-cookie"])
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "\(cookie)")
            #expect(try await browser.get("/console/executions?status=running").body.contains(id))
            #expect(!(try await browser.get("/console/executions?status=succeeded").body.contains(id)))

            let page = try await browser.get("/console/executions/\(id)")
            for text in [#"data-step="Ship It""#, #"data-step="Echo""#, "data-live=", "Ship version 7?", "Version"] {
                #expect(page.body.contains(text), "the execution page shows \(text)")
            }
            #expect(try await browser.get("/console/executions/no-such-id").status == 404)

            let inbox = try await browser.get("/console/approvals")
            #expect(inbox.body.contains("Ship version 7?") && inbox.body.contains(id))
            let csrf = try #require(inbox.body.firstMatch(of: /name="csrf" value="([0-9a-f]+)"/)?.output.1)
            let approval = try #require(inbox.body.firstMatch(of: /name="approval" value="([0-9a-f]{64})"/)?.output.1)
            let form = "approval=\(approval)&decision=approve"

            let tokenless = try await browser.post("/console/approvals/decide", form)
            #expect(tokenless.status == 403 && tokenless.body.contains("CSRF"), "\(tokenless.body)")
            let stranger = Browser(base: base)
            _ = try await stranger.get("/console/approvals")
            let foreign = try await stranger.post("/console/approvals/decide", form + "&csrf=\(csrf)")
            #expect(foreign.status == 403, "a token from another session does not work")
            #expect(try server.context.store.approval(executionID: id, step: "Ship It")?.decision == .pending)

            let decided = try await browser.post("/console/approvals/decide", form + "&csrf=\(csrf)")
            #expect(decided.status == 303 && decided.headers["location"]?.contains("Approved") == true)
            let final = try await finalStatus(base, id)
            #expect(final["status"] as? String == "succeeded", "\(final)")
            let again = try await browser.post("/console/approvals/decide", form + "&csrf=\(csrf)")
            #expect(again.status == 410, "a decision works once: \(again.body)")
            #expect(!(try await browser.get("/console/approvals").body.contains(id)))

            let stream = try await browser.get("/console/executions/\(id)/events")
            #expect(stream.headers["content-type"]?.hasPrefix("text/event-stream") == true)
            #expect(stream.body.contains("event: state") && stream.body.contains(#""finished":true"#))
            #expect(stream.body.contains(#""name":"Echo","status":"succeeded""#), "\(stream.body)")
        }
    }

    /// The registry page approves a pending model version (audited under the console) and the endpoints page revokes
    /// a key by name, each only with the session's CSRF token; no page shows a key's secret.
    @Test func registryApprovesAndEndpointsRevokeWithTheToken() async throws {
        let scratch = try Scratch()
        try await withHostedServer(home: scratch.home, workingDirectory: scratch.folder) { base, server, _ in
            let store = server.context.store
            _ = try store.registerModelVersion(
                NewModelVersion(
                    group: "Churn", artifactPath: "/tmp/model",
                    artifactHash: "sha256:" + String(repeating: "ab", count: 32),
                    metrics: .object(["auc": .double(0.91)]), status: .pendingManualApproval,
                    createdAt: 1_700_000_000),
                by: "test")
            let (key, record) = APIKey.generate(name: "scoring-team")
            try store.createAPIKey(
                StoredAPIKey(
                    id: record.id, name: "scoring-team", hashHex: Hex.encode(record.hash), createdAt: 1_700_000_000,
                    dailyQuota: 100))
            let browser = Browser(base: base)
            let registry = try await browser.get("/console/registry")
            #expect(registry.body.contains("Churn") && registry.body.contains("PendingManualApproval"))
            let group = try await browser.get("/console/registry/Churn")
            #expect(group.body.contains("0.91") && group.body.contains("Audit log"), "\(group.body)")
            let csrf = try #require(group.body.firstMatch(of: /name="csrf" value="([0-9a-f]+)"/)?.output.1)
            #expect(try await browser.post("/console/registry/Churn/1/approve", "").status == 403)
            #expect(try store.modelVersion(group: "Churn", version: 1)?.status == .pendingManualApproval)
            let rejected = try await browser.post("/console/registry/Churn/1/reject", "csrf=\(csrf)")
            #expect(rejected.status == 400 && rejected.body.contains("reason"))
            let approved = try await browser.post("/console/registry/Churn/1/approve", "csrf=\(csrf)&reason=looks+good")
            #expect(approved.status == 303)
            #expect(try store.modelVersion(group: "Churn", version: 1)?.status == .approved)
            let audit = try await browser.get("/console/registry/Churn")
            #expect(audit.body.contains("console (loopback)") && audit.body.contains("looks good"))

            let endpoints = try await browser.get("/console/endpoints")
            #expect(endpoints.body.contains("scoring-team") && endpoints.body.contains("100/day"))
            #expect(!endpoints.body.contains(key), "the key's secret is never shown")
            #expect(try await browser.post("/console/keys/\(record.id)/revoke", "csrf=bad").status == 403)
            #expect(try store.apiKeys().first?.revokedAt == nil)
            #expect(try await browser.post("/console/keys/\(record.id)/revoke", "csrf=\(csrf)").status == 303)
            #expect(try store.apiKeys().first?.revokedAt != nil)
            #expect(try await browser.get("/console/endpoints").body.contains("revoked"))
        }
    }

    /// The feature store page looks a record up by id (the online read); the monitoring page lists schedules and runs.
    @Test func featureRecordByIdAndMonitoring() async throws {
        let scratch = try Scratch()
        try await withHostedServer(home: scratch.home, workingDirectory: scratch.folder) { base, server, _ in
            let store = server.context.store
            _ = try store.createFeatureGroup(
                FeatureGroup(
                    name: "customers", recordIdentifier: "id", eventTime: "at",
                    features: [
                        .init(name: "id", type: .string), .init(name: "at", type: .string),
                        .init(name: "spend", type: .fractional),
                    ],
                    onlineStore: true, createdAt: 1_700_000_000))
            _ = try store.putFeatureRecords(
                group: "customers",
                records: [
                    FeatureRecord(recordID: "c7", eventTime: "2026-01-01", features: ["spend": .double(12.5)]),
                    FeatureRecord(recordID: "c7", eventTime: "2026-02-01", features: ["spend": .double(99.25)]),
                ], now: 1_700_000_000)
            let browser = Browser(base: base)
            let page = try await browser.get("/console/features?group=customers&id=c7")
            #expect(page.body.contains("customers") && page.body.contains("99.25") && !page.body.contains("12.5"))
            let missing = try await browser.get("/console/features?group=customers&id=nobody")
            #expect(missing.body.contains("No record ") && missing.body.contains("nobody"))
            let monitoring = try await browser.get("/console/monitoring")
            #expect(monitoring.status == 200 && monitoring.body.contains("No monitoring run yet"))
        }
    }

    /// `next` links walk every execution exactly once, newest first; filters narrow the list.
    @Test func pagingWalksEveryExecutionOnce() async throws {
        let scratch = try Scratch()
        try await withHostedServer(home: scratch.home, workingDirectory: scratch.folder) { base, server, _ in
            let store = server.context.store
            var made: [String] = []
            for index in 0..<123 {
                let id = String(format: "exec-%03d", index)
                try store.createExecution(
                    NewExecution(
                        id: id, pipelineName: index % 3 == 0 ? "Thirds" : "Others",
                        pipelineHash: "sha256:" + (index % 3 == 0 ? "a" : "b"), pipelineDefinition: "{}",
                        parameters: [:], stepNames: ["Only"], maxConcurrentExecutions: 0,
                        // Pairs share a creation time: the id orders them.
                        createdAt: 1_000 + Double(index / 2)))
                made.append(id)
            }
            let browser = Browser(base: base)
            var seen: [String] = []
            var path: String? = "/console/executions"
            while let next = path {
                let page = try await browser.get(next)
                #expect(page.status == 200)
                seen += page.body.matches(of: /<td><a href="\/console\/executions\/(exec-\d+)">/).map {
                    String($0.output.1)
                }
                path = page.body.firstMatch(of: /rel="next" href="([^"]+)"/).map {
                    String($0.output.1).replacingOccurrences(of: "&amp;", with: "&")
                }
            }
            #expect(seen == made.reversed(), "every execution once, newest first")
            let thirds = try await browser.get("/console/executions?pipeline=Thirds")
            #expect(thirds.body.contains("exec-120") && !thirds.body.contains("exec-121"))
        }
    }

    /// Bound beyond loopback, pages redirect to sign-in and forms are refused until a browser signs in with an API
    /// key through the sign-in form (whose CSRF token is checked too); the session cookie is HttpOnly and
    /// SameSite=Strict; signing out ends it.
    @Test func beyondLoopbackEveryPageNeedsASignIn() async throws {
        let scratch = try Scratch()
        try await withHostedServer(home: scratch.home, workingDirectory: scratch.folder, host: "0.0.0.0") {
            base, server, _ in
            let browser = Browser(base: base)
            let page = try await browser.get("/console/approvals")
            #expect(page.status == 303 && page.headers["location"] == "/console/sign-in?next=/console/approvals")
            #expect(try await browser.post("/console/approvals/decide", "decision=approve").status == 403)
            #expect(try await browser.get("/console/executions/x/events").status == 303)
            let form = try await browser.get("/console/sign-in")
            #expect(form.status == 200 && form.body.contains(#"name="key""#))
            let formToken = try #require(form.body.firstMatch(of: /name="csrf" value="([0-9a-f]+)"/)?.output.1)
            let wrong = try await browser.post(
                "/console/sign-in", "key=sk_wrong&next=/console/approvals&csrf=\(formToken)")
            #expect(wrong.status == 401 && wrong.body.contains("not valid"))

            let (key, record) = APIKey.generate(name: "alice")
            try server.context.store.createAPIKey(
                StoredAPIKey(
                    id: record.id, name: "alice", hashHex: Hex.encode(record.hash),
                    createdAt: Date().timeIntervalSince1970))
            let keyField = "key=\(key.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)"
            // Login CSRF: a sign-in without the form's token, or with another browser's, is refused.
            let tokenless = try await browser.post("/console/sign-in", keyField)
            #expect(tokenless.status == 403 && tokenless.body.contains("CSRF"), "\(tokenless.body)")
            let stranger = Browser(base: base)
            _ = try await stranger.get("/console/sign-in")
            #expect(try await stranger.post("/console/sign-in", keyField + "&csrf=\(formToken)").status == 403)
            #expect(try await stranger.get("/console/approvals").status == 303)
            let signedIn = try await browser.post(
                "/console/sign-in", keyField + "&next=%2Fconsole%2Fapprovals&csrf=\(formToken)")
            #expect(signedIn.status == 303 && signedIn.headers["location"] == "/console/approvals")
            let cookie = try #require(signedIn.headers["set-cookie"])
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"))
            let inbox = try await browser.get("/console/approvals")
            #expect(inbox.status == 200 && inbox.body.contains("alice"), "\(inbox.body)")
            let csrf = try #require(inbox.body.firstMatch(of: /name="csrf" value="([0-9a-f]+)"/)?.output.1)
            #expect(try await browser.post("/console/sign-out", "csrf=\(csrf)").status == 303)
            #expect(try await browser.get("/console/approvals").status == 303)
        }
    }

    /// A form over its limit is a 413 naming the limit, never a CSRF refusal: one whose length is declared is
    /// answered from its head (`RequestLimitTests`), one sent in chunks once the limit is passed.
    @Test func oversizedFormsAre413NamingTheLimit() async throws {
        let scratch = try Scratch()
        try await withHostedServer(home: scratch.home, workingDirectory: scratch.folder) { base, _, _ in
            let browser = Browser(base: base)
            let form = try await browser.get("/console/sign-in")
            let token = try #require(form.body.firstMatch(of: /name="csrf" value="([0-9a-f]+)"/)?.output.1)
            let signIn = try await browser.post(
                "/console/sign-in", "key=\(String(repeating: "a", count: 20 * 1024))&csrf=\(token)", chunked: true)
            #expect(signIn.status == 413, "\(signIn.status) \(signIn.body)")
            #expect(signIn.body.contains("larger than 16 KiB") && !signIn.body.contains("CSRF"), "\(signIn.body)")
            // Under the limit, the same form is judged on its merits.
            let wrong = try await browser.post("/console/sign-in", "key=sk_wrong&csrf=\(token)", chunked: true)
            #expect(wrong.status == 401 && wrong.body.contains("not valid"), "\(wrong.status) \(wrong.body)")
            let decide = try await browser.post(
                "/console/approvals/decide", "note=\(String(repeating: "a", count: 70 * 1024))&csrf=\(token)",
                chunked: true)
            #expect(decide.status == 413 && decide.body.contains("larger than 64 KiB"), "\(decide.body)")
        }
    }

    /// A sign-in lasts 12 hours.
    @Test func aSignInLastsTwelveHours() {
        let sessions = ConsoleSessions()
        let session = sessions.signIn(keyID: "key_a", name: "a", now: 1000)
        #expect(sessions.signedIn(session, now: 1000 + 12 * 3600 - 1, isActive: { _ in true })?.name == "a")
        #expect(sessions.signedIn(session, now: 1000 + 12 * 3600, isActive: { _ in true }) == nil)
    }

    /// A revoked key ends the console sessions signed in with it: at once when revoked on the endpoints page, within
    /// a store poll when revoked elsewhere (`sluice keys revoke`).
    @Test func revokedKeyEndsItsSessions() async throws {
        let scratch = try Scratch()
        try await withHostedServer(home: scratch.home, workingDirectory: scratch.folder, host: "0.0.0.0") {
            base, server, _ in
            let store = server.context.store
            var keys: [String: (key: String, id: String)] = [:]
            for name in ["alice", "bob"] {
                let (key, record) = APIKey.generate(name: name)
                try store.createAPIKey(
                    StoredAPIKey(
                        id: record.id, name: name, hashHex: Hex.encode(record.hash),
                        createdAt: Date().timeIntervalSince1970))
                keys[name] = (key, record.id)
            }
            let alice = Browser(base: base)
            let bob = Browser(base: base)
            #expect(try await alice.signIn(keys["alice"]!.key).status == 303)
            #expect(try await bob.signIn(keys["bob"]!.key).status == 303)
            let page = try await alice.get("/console/endpoints")
            #expect(page.status == 200 && page.body.contains("bob"))
            #expect(try await bob.get("/console/endpoints").status == 200)

            let csrf = try #require(page.body.firstMatch(of: /name="csrf" value="([0-9a-f]+)"/)?.output.1)
            let revoked = try await alice.post("/console/keys/\(keys["bob"]!.id)/revoke", "csrf=\(csrf)")
            #expect(revoked.status == 303)
            let ended = try await bob.get("/console/endpoints")
            #expect(ended.status == 303 && ended.headers["location"]?.hasPrefix("/console/sign-in") == true)
            #expect(try await bob.signIn(keys["bob"]!.key).status == 401, "a revoked key signs no one in")
            #expect(try await alice.get("/console/endpoints").status == 200)

            _ = try store.revokeAPIKey(id: keys["alice"]!.id, now: Date().timeIntervalSince1970)
            try server.runtime.refresh()
            #expect(try await alice.get("/console/endpoints").status == 303)
        }
    }

    /// A bad query value is a 400 that names the parameter, the value and what the parameter takes; good values
    /// still answer.
    @Test func badQueryValuesAreRefusedNamingTheParameter() async throws {
        let scratch = try Scratch()
        try await withHostedServer(home: scratch.home, workingDirectory: scratch.folder) { base, _, _ in
            let browser = Browser(base: base)
            let cases: [(path: String, parameter: String, value: String, allowed: String)] = [
                ("/console/executions?status=bogus", "status", "bogus", "succeeded"),
                ("/console/executions?before=yesterday", "before", "yesterday", "CREATED~ID"),
                ("/console/executions?pipeline=Nope", "pipeline", "Nope", "none has yet"),
                ("/console/executions/x/events?after=soon", "after", "soon", "sequence number"),
                ("/console/features?group=nobody", "group", "nobody", "feature group"),
            ]
            for check in cases {
                let answer = try await browser.get(check.path)
                let text = answer.body.replacingOccurrences(of: "&#39;", with: "'")
                    .replacingOccurrences(of: "&#x27;", with: "'")
                #expect(answer.status == 400, "\(check.path): \(answer.status)")
                #expect(
                    text.contains("Query parameter '\(check.parameter)' is '\(check.value)'")
                        && text.contains(check.allowed), "\(check.path): \(text)")
            }
            #expect(try await browser.get("/console/executions?status=succeeded").status == 200)
            #expect(try await browser.get("/console/features").status == 200)
        }
    }
}

/// A browser's view of the console: keeps the session cookie, does not follow redirects.
final class Browser: @unchecked Sendable {
    struct Answer {
        var status: Int
        var body: String
        var headers: [String: String]
    }

    let base: URL
    private var cookie: String?
    private let session: URLSession

    init(base: URL) {
        self.base = base
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpShouldSetCookies = false
        configuration.httpCookieAcceptPolicy = .never
        session = URLSession(configuration: configuration, delegate: NoRedirects(), delegateQueue: nil)
    }

    func get(_ path: String) async throws -> Answer { try await exchange(path, method: "GET", body: nil) }

    /// Signs in with `key` through the sign-in form (its CSRF token included).
    func signIn(_ key: String) async throws -> Answer {
        let form = try await get("/console/sign-in")
        let token = try #require(form.body.firstMatch(of: /name="csrf" value="([0-9a-f]+)"/)?.output.1)
        let field = key.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        return try await post("/console/sign-in", "key=\(field)&csrf=\(token)")
    }

    /// Posts `form`; `chunked` sends it without a declared length.
    func post(_ path: String, _ form: String, chunked: Bool = false) async throws -> Answer {
        try await exchange(path, method: "POST", body: form, chunked: chunked)
    }

    private func exchange(_ path: String, method: String, body: String?, chunked: Bool = false) async throws -> Answer {
        var request = URLRequest(url: URL(string: base.absoluteString + path)!)
        request.httpMethod = method
        if let body {
            if chunked {
                request.httpBodyStream = InputStream(data: Data(body.utf8))
            } else {
                request.httpBody = Data(body.utf8)
            }
            request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
        }
        if let cookie { request.setValue(cookie, forHTTPHeaderField: "Cookie") }
        let (data, response) = try await session.data(for: request)
        let http = response as! HTTPURLResponse
        var headers: [String: String] = [:]
        for (name, value) in http.allHeaderFields {
            if let name = name as? String, let value = value as? String { headers[name.lowercased()] = value }
        }
        if let set = headers["set-cookie"], let pair = set.split(separator: ";").first {
            cookie = set.contains("Max-Age=0") ? nil : String(pair)
        }
        return Answer(status: http.statusCode, body: String(decoding: data, as: UTF8.self), headers: headers)
    }
}

private final class NoRedirects: NSObject, URLSessionTaskDelegate {
    func urlSession(
        _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
        newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void
    ) {
        completionHandler(nil)
    }
}
