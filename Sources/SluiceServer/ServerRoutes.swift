import Hummingbird
import SluiceCore

/// A group of routes added to the server beside serving's (approvals, the execution API).
///
/// A conformer registers its handlers on the router; it must not register paths that serving already answers.
public protocol ServerRoutes: Sendable {
    /// Adds this group's handlers to `router`.
    func addRoutes(to router: Router<BasicRequestContext>)

    /// The OpenAPI path items of this group's API operations (path → item), for `/openapi.json`; empty for pages
    /// meant for people only.
    var openAPIPaths: [String: JSONValue] { get }
}

extension ServerRoutes {
    public var openAPIPaths: [String: JSONValue] { [:] }
}
