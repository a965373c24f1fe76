import HTTPTypes
import Hummingbird
import SluiceServing

/// Answers the requests no route claims with the server's JSON error (`SluiceServer.errorReply`) instead of an empty
/// 404: 405 with `Allow` when the path has routes for other methods, else 404; both point at `/openapi.json`, which
/// lists every operation.
///
/// Added to the router after every route, so it sees only the requests no route claimed.
struct UnknownRouteMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext

    /// Each route's method and path segments (`{…}` matches any one segment).
    let routes: [(method: HTTPRequest.Method, segments: [Substring])]

    init(routes: [Router<BasicRequestContext>.RouteDescription]) {
        self.routes = routes.map { ($0.method, $0.path.description.split(separator: "/")) }
    }

    func handle(
        _ request: Request, context: BasicRequestContext,
        next: (Request, BasicRequestContext) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let path = request.uri.path
            let allowed = methods(answering: path)
            guard allowed.isEmpty else {
                let list = allowed.map(\.rawValue).joined(separator: ", ")
                var response = SluiceServer.errorReply(
                    ServingError(
                        .methodNotAllowed, "\(path) answers \(list), not \(request.method.rawValue); see /openapi.json."
                    )
                ).response
                response.headers[.allow] = list
                return response
            }
            return SluiceServer.errorReply(
                ServingError(
                    .unknownOperation,
                    "No operation answers \(request.method.rawValue) \(path); the operations are listed at /openapi.json."
                )
            ).response
        }
    }

    /// The methods of the routes whose pattern matches `path`, in a stable order.
    func methods(answering path: String) -> [HTTPRequest.Method] {
        let segments = path.split(separator: "/")
        var methods: [HTTPRequest.Method] = []
        for route in routes where route.segments.count == segments.count && !methods.contains(route.method) {
            let matches = zip(route.segments, segments).allSatisfy { pattern, segment in
                pattern.first == "{" || pattern == segment
            }
            if matches { methods.append(route.method) }
        }
        return methods.sorted { $0.rawValue < $1.rawValue }
    }
}
