public import Foundation
import HTTPTypes
public import Hummingbird
import NIOCore
public import SluiceCore
public import SluiceEngine
public import SluiceServer
public import SluiceServing
public import SluiceStore

/// The web console at `/console/` (and `/`, which leads there): executions, approvals and pipelines as server-rendered
/// pages, one execution as a graph that follows the run over server-sent events.
///
/// Who may act: on a loopback-only server whoever can connect; beyond loopback only a browser that signed in with an
/// API key (a revoked key ends its sessions). Every page carries a strict `Content-Security-Policy`; every state
/// change, the sign-in included, is a POST carrying the session's CSRF token; a GET never changes anything; a bad
/// query value is a 400 naming the parameter and what it accepts.
@MemberwiseInit
public struct ConsoleRoutes: ServerRoutes {
    /// Console settings.
    @MemberwiseInit
    public struct Configuration: Sendable {
        /// Whether the server listens on loopback only (no sign-in needed).
        public var loopbackOnly: Bool
        /// The folder of attempt work directories (`.sluice/executions`), for log tails.
        public var executionsPath: String
        /// Executions per page.
        public var pageSize: Int = 50
        /// How often an open execution page's stream reads the store and the step logs.
        public var streamInterval: Double = 0.1
        /// How often an open endpoints page's stream reads the request counts.
        public var trafficInterval: Double = 1
    }

    let store: SQLiteStore
    /// Runs resumed and retried executions in the server's process.
    let engine: HostedEngine
    /// Decides approvals (and wakes the waiting execution).
    let desk: StoreApprovalDesk
    let clock: any EngineClock
    /// The request counts `/metrics` exposes, shown live on the endpoints page.
    let metrics: ServingMetrics
    let configuration: Configuration
    /// The keys a person signs in with; a session ends once its key is revoked here.
    let keyring: APIKeyring
    let sessions = ConsoleSessions()

    public func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/") { _, _ in Self.redirect("/console/executions") }
        router.get("/console") { _, _ in Self.redirect("/console/executions") }
        router.get("/console/static/console.css") { _, _ in
            Self.asset(ConsoleAssets.stylesheet, type: "text/css; charset=utf-8")
        }
        router.get("/console/static/console.js") { _, _ in
            Self.asset(ConsoleAssets.script, type: "text/javascript; charset=utf-8")
        }
        router.get("/console/sign-in") { request, _ in signInPage(request, failure: nil) }
        router.post("/console/sign-in") { request, _ in await signIn(request) }
        router.post("/console/sign-out") { request, _ in
            await acting(request) { visitor, _ in
                sessions.signOut(visitor.session)
                var response = Self.redirect("/console/sign-in")
                response.headers[.setCookie] = ConsoleSessions.expiredCookie
                return response
            }
        }
        router.get("/console/executions") { request, _ in
            viewing(request, nav: "executions") { visitor in try executionsPage(request, visitor) }
        }
        router.get("/console/executions/{id}") { request, context in
            viewing(request, nav: "executions") { visitor in
                try executionPage(context.parameters.get("id") ?? "", visitor)
            }
        }
        router.get("/console/executions/{id}/events") { request, context in
            if let refusal = visitor(request).refusal { return refusal }
            // A reconnecting browser's `Last-Event-ID` (the last event it got) counts instead of the page's `after`.
            let resumed = request.headers[HTTPField.Name("Last-Event-ID")!]
            let after = resumed ?? request.uri.queryParameters.get("after").map { String($0) } ?? "0"
            guard let sequence = Int64(after), sequence >= 0 else {
                let allowed = "an event sequence number (0 or more)"
                return Self.page(
                    resumed == nil
                        ? ConsoleRefusal.badQuery("after", after, allowed: allowed, link: "/console/executions")
                        : ConsoleRefusal.badHeader(
                            "Last-Event-ID", after, allowed: allowed, link: "/console/executions"))
            }
            return stream(executionID: context.parameters.get("id") ?? "", after: sequence)
        }
        router.post("/console/executions/{id}/{verb}") { request, context in
            await acting(request) { _, _ in
                try await act(
                    context.parameters.get("verb") ?? "", executionID: context.parameters.get("id") ?? "")
            }
        }
        router.get("/console/approvals") { request, _ in
            viewing(request, nav: "approvals") { visitor in try approvalsPage(visitor) }
        }
        router.post("/console/approvals/decide") { request, _ in
            await acting(request) { _, fields in try decide(fields) }
        }
        router.get("/console/registry") { request, _ in
            viewing(request, nav: "registry") { visitor in try registryPage(visitor) }
        }
        router.get("/console/registry/{group}") { request, context in
            viewing(request, nav: "registry") { visitor in try groupPage(context.parameters.get("group") ?? "", visitor)
            }
        }
        router.post("/console/registry/{group}/{version}/{verb}") { request, context in
            await acting(request) { visitor, fields in
                try decideModel(
                    group: context.parameters.get("group") ?? "", version: context.parameters.get("version") ?? "",
                    verb: context.parameters.get("verb") ?? "", fields: fields,
                    by: visitor.signedInAs.map { "console: \($0)" } ?? "console (loopback)")
            }
        }
        router.get("/console/endpoints") { request, _ in
            viewing(request, nav: "endpoints") { visitor in try endpointsPage(visitor) }
        }
        router.get("/console/endpoints/traffic") { request, _ in
            if let refusal = visitor(request).refusal { return refusal }
            return trafficStream()
        }
        router.post("/console/keys/{id}/revoke") { request, context in
            await acting(request) { _, _ in try revokeKey(context.parameters.get("id") ?? "") }
        }
        router.get("/console/monitoring") { request, _ in
            viewing(request, nav: "monitoring") { visitor in try monitoringPage(visitor) }
        }
        router.get("/console/features") { request, _ in
            viewing(request, nav: "features") { visitor in try featuresPage(request, visitor) }
        }
        router.get("/console/pipelines") { request, _ in
            viewing(request, nav: "pipelines") { visitor in try pipelinesPage(visitor) }
        }
        router.get("/console/pipelines/{name}") { request, context in
            viewing(request, nav: "pipelines") { visitor in
                try pipelinePage(context.parameters.get("name") ?? "", visitor)
            }
        }
    }

    // MARK: Access

    /// A browser allowed to look: its session id, whether the id is new (the cookie is then set), who signed in.
    struct Visitor {
        var session: String
        var isNew: Bool
        var signedInAs: String?
        var refusal: Response?
    }

    func visitor(_ request: Request) -> Visitor {
        let existing = ConsoleSessions.session(inCookieHeader: request.headers[.cookie])
        let name = existing.flatMap { session in
            sessions.signedIn(session, now: clock.now) { keyID in
                keyring.list().contains { $0.id == keyID && !$0.revoked }
            }?.name
        }
        if !configuration.loopbackOnly && name == nil {
            let next = request.method == .get ? request.uri.path : "/console/executions"
            let refusal =
                request.method == .get
                ? Self.redirect("/console/sign-in?next=" + Self.queryEscaped(next))
                : Self.page(
                    .forbidden, title: "Sign in first",
                    body: Self.message(
                        "Sign in first", "This server is reachable beyond this machine: sign in with an API key.",
                        link: "/console/sign-in"))
            return Visitor(session: existing ?? "", isNew: false, signedInAs: nil, refusal: refusal)
        }
        if let existing { return Visitor(session: existing, isNew: false, signedInAs: name, refusal: nil) }
        return Visitor(session: sessions.newSessionID(), isNew: true, signedInAs: nil, refusal: nil)
    }

    /// Answers a GET with a page built by `build`, inside the layout.
    func viewing(
        _ request: Request, nav: String,
        _ build: (Visitor) throws -> (title: String, body: String, status: HTTPResponse.Status)
    ) -> Response {
        let visitor = visitor(request)
        if let refusal = visitor.refusal { return refusal }
        do {
            let page = try build(visitor)
            var context = layoutContext(visitor, nav: nav)
            context["title"] = page.title
            context["body"] = page.body
            if let notice = Self.notice(request) { context["notice"] = notice }
            var response = Self.html(page.status, ConsoleTemplates.render(context, "layout"))
            if visitor.isNew { response.headers[.setCookie] = ConsoleSessions.cookie(visitor.session) }
            return response
        } catch {
            return Self.page(thrown: error, heading: "Could not read the store", text: "\(error)")
        }
    }

    /// Answers a POST: checks the session and its CSRF token, then runs `act` (which answers with a redirect).
    func acting(
        _ request: Request, _ act: (Visitor, [String: String]) async throws -> Response
    ) async -> Response {
        let visitor = visitor(request)
        if let refusal = visitor.refusal { return refusal }
        let fields: [String: String]
        do {
            fields = try await Self.formFields(request, limit: RequestLimits.consoleForm, link: "/console/executions")
        } catch {
            return Self.page(error)
        }
        guard !visitor.isNew, hasValidToken(fields, session: visitor.session) else {
            return Self.formRefused(link: "/console/executions")
        }
        do {
            return try await act(visitor, fields)
        } catch {
            return Self.page(
                thrown: error, heading: "Nothing was changed", text: "The store could not be updated: \(error).")
        }
    }

    func layoutContext(_ visitor: Visitor, nav: String) -> [String: Any] {
        var context: [String: Any] = ["nav": [nav: true], "csrf": sessions.csrfToken(for: visitor.session)]
        if let name = visitor.signedInAs { context["signedInAs"] = name }
        if let waiting = try? store.waitingApprovals(now: clock.now).count, waiting > 0 {
            context["waiting"] = String(waiting)
        }
        return context
    }

    /// The fields of a form's body (the first of repeated ones), refused with a 413 naming `limit` when the body is
    /// larger.
    static func formFields(
        _ request: Request, limit: Int, link: String
    ) async throws(ConsoleRefusal) -> [String: String] {
        guard let body = try? await request.body.collect(upTo: limit) else {
            throw ConsoleRefusal(
                status: .contentTooLarge, heading: "Form too large",
                message: "The form sent to \(request.uri.path) is larger than \(RequestLimits.describe(limit)), the "
                    + "most it accepts: nothing was changed. Send a shorter form.", link: link)
        }
        return Dictionary(ApprovalRoutes.formFields(String(buffer: body)), uniquingKeysWith: { first, _ in first })
    }

    /// Whether a form's `csrf` field is the token of `session`.
    func hasValidToken(_ fields: [String: String], session: String) -> Bool {
        guard let token = fields["csrf"] else { return false }
        return sessions.isValid(csrf: token, for: session)
    }

    // MARK: Sign-in

    /// The sign-in form, with a CSRF token of the browser's (not yet signed-in) session: a new session's cookie is
    /// set here.
    func signInPage(_ request: Request, failure: String?, status: HTTPResponse.Status = .ok) -> Response {
        let existing = ConsoleSessions.session(inCookieHeader: request.headers[.cookie])
        let session = existing ?? sessions.newSessionID()
        let next = Self.localPath(request.uri.queryParameters.get("next").map { String($0) })
        var context: [String: Any] = ["next": next, "csrf": sessions.csrfToken(for: session)]
        if let failure { context["failure"] = failure }
        let body = ConsoleTemplates.render(context, "signIn")
        var response = Self.page(status, title: "Sign in", body: body)
        if existing == nil { response.headers[.setCookie] = ConsoleSessions.cookie(session) }
        return response
    }

    func signIn(_ request: Request) async -> Response {
        let fields: [String: String]
        do {
            fields = try await Self.formFields(request, limit: RequestLimits.signInForm, link: "/console/sign-in")
        } catch {
            return Self.page(error)
        }
        // Login CSRF: only the browser that loaded the form can sign in with it.
        guard let session = ConsoleSessions.session(inCookieHeader: request.headers[.cookie]),
            hasValidToken(fields, session: session)
        else { return Self.formRefused(link: "/console/sign-in") }
        let key = fields["key"]?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        guard let record = try? keyring.authenticate(key) else {
            let context: [String: Any] = [
                "next": Self.localPath(fields["next"]), "csrf": sessions.csrfToken(for: session),
                "failure": key.isEmpty
                    ? "Field 'key' is empty: paste an API key (create one with `sluice keys create NAME`)."
                    : "That API key is not valid or was revoked; create one with `sluice keys create NAME`.",
            ]
            return Self.page(.unauthorized, title: "Sign in", body: ConsoleTemplates.render(context, "signIn"))
        }
        let signedIn = sessions.signIn(keyID: record.id, name: record.name, now: clock.now)
        var response = Self.redirect(Self.localPath(fields["next"]))
        response.headers[.setCookie] = ConsoleSessions.cookie(signedIn)
        return response
    }

    // MARK: Responses

    /// What every console answer carries: scripts, styles and connections only from this server, no framing, no
    /// caching, no referrer.
    static let securityHeaders: HTTPFields = [
        HTTPField.Name("Content-Security-Policy")!:
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        HTTPField.Name("X-Content-Type-Options")!: "nosniff",
        HTTPField.Name("Referrer-Policy")!: "no-referrer",
        HTTPField.Name("X-Frame-Options")!: "DENY",
        .cacheControl: "no-store",
    ]

    static func html(_ status: HTTPResponse.Status, _ text: String) -> Response {
        var headers = securityHeaders
        headers[.contentType] = "text/html; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// A whole page (layout without navigation state) around `body`.
    static func page(_ status: HTTPResponse.Status, title: String, body: String) -> Response {
        let context: [String: Any] = ["title": title, "body": body]
        return html(status, ConsoleTemplates.render(context, "layout"))
    }

    static func message(_ heading: String, _ text: String, link: String? = nil) -> String {
        var context: [String: Any] = ["heading": heading, "text": text]
        if let link {
            context["link"] = link
            context["linkText"] = "Continue"
        }
        return ConsoleTemplates.render(context, "message")
    }

    /// A form without its session's CSRF token: nothing changes.
    static func formRefused(link: String) -> Response {
        page(
            .forbidden, title: "Form refused",
            body: message(
                "Form refused",
                "The form's CSRF token is missing or does not match this browser's session: nothing was changed. "
                    + "Reload the page and submit the form again.", link: link))
    }

    /// The page of a refusal.
    static func page(_ refusal: ConsoleRefusal) -> Response {
        page(
            refusal.status, title: refusal.heading,
            body: message(refusal.heading, refusal.message, link: refusal.link))
    }

    /// The page of what a page or an action threw: a refusal's own page; any other error is a 500 headed `heading`
    /// that says `text`.
    static func page(thrown error: any Error, heading: String, text: String) -> Response {
        if let refusal = error as? ConsoleRefusal { return page(refusal) }
        return page(.internalServerError, title: heading, body: message(heading, text))
    }

    static func asset(_ text: String, type: String) -> Response {
        var headers = securityHeaders
        headers[.contentType] = type
        headers[.cacheControl] = "max-age=300"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func redirect(_ location: String) -> Response {
        var headers = securityHeaders
        headers[.location] = location
        return Response(status: .seeOther, headers: headers)
    }

    /// A path on this console, or the executions page: a sign-in never sends the browser elsewhere.
    static func localPath(_ path: String?) -> String {
        guard let path, path.hasPrefix("/console/"), !path.hasPrefix("//"), !path.contains("\\") else {
            return "/console/executions"
        }
        return path
    }

    /// The one-line notice an action left in the redirect's query (`?done=…`).
    static func notice(_ request: Request) -> String? {
        request.uri.queryParameters.get("done").map { String($0.prefix(300)) }
    }

    static func queryEscaped(_ text: String) -> String {
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "&=+?#")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    static func pathEscaped(_ text: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "/?#")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }
}

/// An action or a page refused (a 4xx with a page saying why and how to fix it).
struct ConsoleRefusal: Error {
    var status: HTTPResponse.Status
    var heading: String
    var message: String
    var link: String?

    /// A page asked for something the store does not have: a 404 saying where to pick one.
    static func notFound(_ message: String) -> ConsoleRefusal {
        ConsoleRefusal(status: .notFound, heading: "Not found", message: message)
    }

    /// A bad value of query parameter `name`: a 400 saying what the parameter accepts.
    static func badQuery(_ name: String, _ value: String, allowed: String, link: String) -> ConsoleRefusal {
        ConsoleRefusal(
            status: .badRequest, heading: "Bad query",
            message: "Query parameter '\(name)' is '\(value.prefix(200))'; it takes \(allowed).", link: link)
    }

    /// A bad value of request header `name`: a 400 saying what the header accepts.
    static func badHeader(_ name: String, _ value: String, allowed: String, link: String) -> ConsoleRefusal {
        ConsoleRefusal(
            status: .badRequest, heading: "Bad header",
            message: "Header '\(name)' is '\(value.prefix(200))'; it takes \(allowed).", link: link)
    }
}
