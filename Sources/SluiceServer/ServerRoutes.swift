import Hummingbird

/// A group of routes added to the server beside serving's (approvals, the execution API).
///
/// A conformer registers its handlers on the router; it must not register paths that serving already answers.
public protocol ServerRoutes: Sendable {
    /// Adds this group's handlers to `router`.
    func addRoutes(to router: Router<BasicRequestContext>)
}
