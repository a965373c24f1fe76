import Foundation
import Logging
import SluiceCore
import SluiceServer
import SluiceStore
import Testing

@testable import SluiceCLI

/// `/openapi.json` names every route `sluice serve` answers, so a route cannot be added without its documentation
/// (the schemathesis test in SluiceCLITests then checks that the answers match it).
@Suite struct OpenAPICoverageTests {
    /// The console's pages are for people, not part of the JSON API.
    static func isPage(_ path: String) -> Bool { path == "/" || path == "/console" || path.hasPrefix("/console/") }

    @Test func everyRouteOfTheServerIsInTheDocument() throws {
        let scratch = try Scratch()
        defer { try? FileManager.default.removeItem(atPath: scratch.folder) }
        var logger = Logger(label: "sluice.test")
        logger.logLevel = .critical
        let hosted = try HostedServer(
            home: .init(path: scratch.home), configuration: .init(host: "127.0.0.1", port: 0),
            workingDirectory: scratch.folder, logger: logger, sink: { _ in })
        let server = hosted.runtime.server
        let paths = try #require(server.openAPIDocument["paths"]?.object)
        let routes = server.routeList
        #expect(routes.count >= 20)
        for route in routes {
            let parts = route.split(separator: " ", maxSplits: 1).map(String.init)
            let (method, path) = (parts[0].lowercased(), parts[1])
            guard !Self.isPage(path) else { continue }
            #expect(paths[path]?[method] != nil, "\(route) is answered but not in /openapi.json")
        }
        // And nothing is documented that the server does not answer.
        let answered = Set(routes.map { $0.lowercased() })
        for (path, item) in paths {
            for method in (item.object ?? [:]).keys {
                #expect(answered.contains("\(method) \(path)".lowercased()), "\(method) \(path) is not answered")
            }
        }
    }
}
