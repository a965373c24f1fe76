import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SluiceCore

/// The HTTP side of Approval steps: a confirmation page behind each link and a POST that decides.
///
/// - `GET /approvals/{token}`: an HTML page naming the execution, the step and the prompt, with an Approve form and
///   a Reject form (with a reason). A GET never decides: mail scanners and link previews follow links.
/// - `POST /approvals/{token}` with `decision=approve|reject&reason=…` (form or query): decides once; a used or
///   expired token answers 410, an unknown one 404.
/// - `GET /respond?type=success|fail&token=…`: the links of Step Functions' callback emails answer the same page.
@MemberwiseInit
public struct ApprovalRoutes: ServerRoutes {
    let desk: any ApprovalDesk

    public func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/approvals/{token}") { _, context in
            await page(token: context.parameters.get("token") ?? "", suggested: nil)
        }
        router.get("/respond") { request, _ in
            guard let token = request.uri.queryParameters.get("token"), !token.isEmpty else {
                return Self.text(.badRequest, "The link has no token; open the full link from the approval message.")
            }
            let type = request.uri.queryParameters.get("type")
            let suggested: Bool? = type == "success" ? true : type == "fail" ? false : nil
            return await page(token: token, suggested: suggested)
        }
        router.post("/approvals/{token}") { request, context in
            await decide(request, token: context.parameters.get("token") ?? "")
        }
    }

    private func page(token: String, suggested: Bool?) async -> Response {
        do {
            guard let view = try await desk.approval(token: token) else { return Self.unknown }
            guard view.state == .pending else { return Self.gone(view) }
            return Self.html(.ok, ApprovalPage.confirmation(view, token: token, suggested: suggested))
        } catch {
            return Self.text(.internalServerError, "The approval could not be read: \(error).")
        }
    }

    private func decide(_ request: Request, token: String) async -> Response {
        var fields = request.uri.queryParameters.reduce(into: [String: String]()) {
            $0[String($1.key)] = String($1.value)
        }
        do {
            let body = try await request.body.collect(upTo: RequestLimits.approvalBody)
            for (name, value) in Self.formFields(String(buffer: body)) { fields[name] = value }
        } catch {
            return Self.text(.contentTooLarge, "The form is larger than 64 KB; send only decision and reason.")
        }
        let approve: Bool
        switch fields["decision"]?.lowercased() {
        case "approve", "approved", "success": approve = true
        case "reject", "rejected", "fail": approve = false
        default:
            return Self.text(
                .badRequest,
                "Field 'decision' must be approve or reject (got '\(fields["decision"] ?? "")'); "
                    + "use the buttons of the approval page.")
        }
        let reason = fields["reason"].map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
        do {
            switch try await desk.decide(token: token, approve: approve, reason: reason) {
            case .decided(let view): return Self.html(.ok, ApprovalPage.decided(view))
            case .unknownToken: return Self.unknown
            case .gone(let view): return Self.gone(view)
            }
        } catch {
            return Self.text(.internalServerError, "The decision could not be recorded: \(error).")
        }
    }

    // MARK: Responses

    static let unknown = text(
        .notFound, "No approval has this token; check that the link was copied whole.")

    static func gone(_ view: ApprovalView) -> Response {
        let what: String
        switch view.state {
        case .approved: what = "was already approved"
        case .rejected: what = "was already rejected"
        case .expired: what = "timed out before a decision"
        case .pending: what = "is no longer open"
        }
        return text(
            .gone,
            "Step '\(view.step)' of execution \(view.executionID) \(what); approval links work once.")
    }

    private static let noStore: HTTPFields = [
        .cacheControl: "no-store", HTTPField.Name("Referrer-Policy")!: "no-referrer",
        HTTPField.Name("X-Robots-Tag")!: "noindex",
    ]

    static func text(_ status: HTTPResponse.Status, _ line: String) -> Response {
        var headers = noStore
        headers[.contentType] = "text/plain; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: line + "\n")))
    }

    static func html(_ status: HTTPResponse.Status, _ page: String) -> Response {
        var headers = noStore
        headers[.contentType] = "text/html; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: page)))
    }

    /// Fields of an `application/x-www-form-urlencoded` body.
    public static func formFields(_ body: String) -> [(String, String)] {
        body.split(separator: "&").compactMap { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                let spaced = text.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            guard let name = parts.first, !name.isEmpty else { return nil }
            return (decode(name), parts.count > 1 ? decode(parts[1]) : "")
        }
    }
}
