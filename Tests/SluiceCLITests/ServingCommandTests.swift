import Foundation
import SluiceCore
import SluiceStore
import Testing

@Suite(.serialized) struct ServingCommandTests {
    /// Each bad command prints one `error:` line saying what and how to fix it, exits non-zero and writes nothing.
    @Test func badCommandsPrintOneLineAndWriteNothing() throws {
        let sandbox = try ServingSandbox()
        try sandbox.register("G", slope: 1)
        try sandbox.register("G", slope: 2, status: .pendingManualApproval)
        let cases: [([String], String)] = [
            (["endpoints", "deploy", "e", "Nope/1"], "no model package group 'Nope'"),
            (["endpoints", "deploy", "e", "G/9"], "G has no version 9"),
            (["endpoints", "deploy", "e", "G/2"], "--allow-unapproved"),
            (["endpoints", "deploy", "bad name", "G/1"], "endpoint name 'bad name'"),
            (["endpoints", "deploy", "e", "G/1", "--capture-percent", "150"], "outside 0…100"),
            (["endpoints", "promote", "e"], "no endpoint 'e'"),
            (["endpoints", "rollback", "e"], "no endpoint 'e'"),
            (["endpoints", "traffic", "e", "A=x"], "not VARIANT=WEIGHT"),
            (["endpoints", "history", "e", "--at", "yesterday"], "not a time"),
            (["keys", "revoke", "key_nope"], "no API key 'key_nope'"),
            (["keys", "create", "--rate", "0"], "--rate is 0"),
            (["keys", "create", "--endpoint", "e"], "no endpoint 'e'"),
            (["models", "tag", "G/7", "a=b"], "G has no version 7"),
        ]
        for (arguments, expected) in cases {
            let result = try sandbox.run(arguments)
            let command = arguments.joined(separator: " ")
            #expect(result.status == 1, "\(command): exit \(result.status)")
            let lines = result.err.split(separator: "\n")
            #expect(lines.count == 1 && lines.first?.hasPrefix("error: ") == true, "\(command): \(result.err)")
            #expect(result.err.contains(expected), "\(command): \(result.err)")
        }
        #expect(try sandbox.store.endpoints().isEmpty)
        #expect(try sandbox.store.apiKeys().isEmpty)
        #expect(try sandbox.store.modelTags(group: "G", version: 1).isEmpty)
    }

    /// The happy path through the binary: deploy, promote, list as JSON, key shown once and stored as a hash.
    @Test func deployPromoteListAndCreateAKey() throws {
        let sandbox = try ServingSandbox()
        try sandbox.register("G", slope: 1)
        #expect(try sandbox.run(["endpoints", "deploy", "diabetes", "G", "--capture-percent", "20"]).status == 0)
        #expect(try sandbox.run(["endpoints", "promote", "diabetes", "--reason", "tested"]).status == 0)
        let listed = try sandbox.run(["endpoints", "list", "--format", "json"])
        #expect(listed.status == 0, "\(listed.err)")
        let endpoints = try #require(try JSONDecoder().decode(JSONValue.self, from: Data(listed.out.utf8)).array)
        #expect(endpoints.first?["name"] == "diabetes" && endpoints.first?["capturePercentage"] == 20)
        let stages = endpoints.first?["stages"]?.array ?? []
        #expect(stages.compactMap { $0["stage"]?.string } == ["production", "staging"])
        #expect(stages.first?["variants"]?.array?.first?["model"] == "G/1")

        let created = try sandbox.run(["keys", "create", "--name", "client", "--rate", "5", "--daily-quota", "100"])
        #expect(created.status == 0, "\(created.err)")
        let key = created.out.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(key.hasPrefix("sk_"))
        let stored = try #require(try sandbox.store.apiKeys().first)
        #expect(stored.hashHex == SHA256.hex(key) && stored.rate == 5 && stored.burst == 5 && stored.dailyQuota == 100)
        for file in ["sluice.db", "sluice.db-wal"] {
            let bytes = FileManager.default.contents(atPath: sandbox.homePath + "/" + file) ?? Data()
            #expect(bytes.range(of: Data(key.utf8)) == nil, "the key itself must never be stored (\(file))")
        }
        let keys = try sandbox.run(["keys", "list"])
        #expect(keys.out.contains(stored.id) && !keys.out.contains(key))
        #expect(try sandbox.run(["models", "tag", "G/1", "owner=ana"]).out == "owner=ana\n")
    }

    /// `sluice serve` follows `sluice endpoints` and `sluice keys` run from other processes, and Ctrl-C stops it
    /// cleanly.
    @Test func runningServeFollowsTheCommandsAndStopsOnCtrlC() async throws {
        let sandbox = try ServingSandbox()
        try sandbox.register("G", slope: 2)
        try sandbox.register("G", slope: 4)
        let server = try sandbox.start(["serve", "--port", "0"])
        defer { if server.process.isRunning { server.process.terminate() } }
        let port = try #require(
            await server.firstMatch(of: /listening on http:\/\/127\.0\.0\.1:(\d+)/).flatMap { Int($0) })

        #expect(try sandbox.run(["endpoints", "deploy", "w1", "G/1", "--stage", "production"]).status == 0)
        let key = try sandbox.run(["keys", "create"]).out.trimmingCharacters(in: .whitespacesAndNewlines)
        let body = #"{"x": [[1]]}"#
        #expect(try await eventually { try await post(port, "/production/stream", body, key: key).body == "2.0" })
        #expect(try sandbox.run(["endpoints", "deploy", "w1", "G/2", "--stage", "production"]).status == 0)
        #expect(try await eventually { try await post(port, "/production/stream", body, key: key).body == "4.0" })
        #expect(try sandbox.run(["endpoints", "rollback", "w1"]).status == 0)
        #expect(try await eventually { try await post(port, "/production/stream", body, key: key).body == "2.0" })

        let id = try #require(try sandbox.store.apiKeys().first?.id)
        #expect(try sandbox.run(["keys", "revoke", id]).status == 0)
        #expect(try await eventually { try await post(port, "/production/stream", body, key: key).status == 403 })

        kill(server.process.processIdentifier, SIGINT)
        server.process.waitUntilExit()
        #expect(server.process.terminationStatus == 0, "\(server.output())")
    }

    /// With two endpoints the unqualified routes refuse to guess (404 naming both and how to choose);
    /// `--default-endpoint` picks one; an unknown name is one error line.
    @Test func defaultEndpointChoosesWhoAnswersTheUnqualifiedRoutes() async throws {
        let sandbox = try ServingSandbox()
        try sandbox.register("G", slope: 2)
        try sandbox.register("G", slope: 4)
        #expect(try sandbox.run(["endpoints", "deploy", "alpha", "G/1", "--stage", "production"]).status == 0)
        #expect(try sandbox.run(["endpoints", "deploy", "beta", "G/2", "--stage", "production"]).status == 0)
        let key = try sandbox.run(["keys", "create"]).out.trimmingCharacters(in: .whitespacesAndNewlines)
        let refused = try sandbox.run(["serve", "--port", "0", "--default-endpoint", "betta"])
        #expect(refused.status == 1 && refused.err.contains("did you mean 'beta'?"), "\(refused.err)")

        for option in [[], ["--default-endpoint", "beta"]] as [[String]] {
            let server = try sandbox.start(["serve", "--port", "0"] + option)
            defer { if server.process.isRunning { server.process.terminate() } }
            let port = try #require(
                await server.firstMatch(of: /listening on http:\/\/127\.0\.0\.1:(\d+)/).flatMap { Int($0) })
            let body = #"{"x": [[1]]}"#
            let unqualified = try await post(port, "/production/stream", body, key: key)
            let named = try await post(port, "/endpoints/alpha/production/stream", body, key: key)
            #expect(named.status == 200 && named.body == "2.0", "\(named.body)")
            if option.isEmpty {
                #expect(unqualified.status == 404, "\(unqualified.body)")
                #expect(
                    unqualified.body.contains("/production/stream names no endpoint and 2 are deployed (alpha, beta)")
                        && unqualified.body.contains("/endpoints/alpha/production/stream")
                        && unqualified.body.contains("--default-endpoint"), "\(unqualified.body)")
                let bare = try await post(port, "/invocations", "1\n", key: key)
                #expect(bare.status == 404 && bare.body.contains("/endpoints/alpha/production/invocations"))
            } else {
                #expect(unqualified.status == 200 && unqualified.body == "4.0", "\(unqualified.body)")
            }
            kill(server.process.processIdentifier, SIGINT)
            server.process.waitUntilExit()
        }
    }

    /// A daily quota is counted in the store: a restarted server does not hand out a fresh one, and `keys list`
    /// shows what was used.
    @Test func quotaOutlivesARestartOfServe() async throws {
        let sandbox = try ServingSandbox()
        try sandbox.register("G", slope: 2)
        #expect(try sandbox.run(["endpoints", "deploy", "w1", "G/1", "--stage", "production"]).status == 0)
        let created = try sandbox.run(["keys", "create", "--rate", "100", "--daily-quota", "3"])
        let key = created.out.trimmingCharacters(in: .whitespacesAndNewlines)
        let body = #"{"x": [[1]]}"#

        func serve(_ requests: Int) async throws -> [Int] {
            let server = try sandbox.start(["serve", "--port", "0"])
            defer { if server.process.isRunning { server.process.terminate() } }
            let port = try #require(
                await server.firstMatch(of: /listening on http:\/\/127\.0\.0\.1:(\d+)/).flatMap { Int($0) })
            var statuses: [Int] = []
            for _ in 0..<requests { statuses.append(try await post(port, "/production/stream", body, key: key).status) }
            kill(server.process.processIdentifier, SIGINT)
            server.process.waitUntilExit()
            #expect(server.process.terminationStatus == 0, "\(server.output())")
            return statuses
        }
        #expect(try await serve(2) == [200, 200])
        #expect(try await serve(2) == [200, 429])

        let listed = try sandbox.run(["keys", "list", "--format", "json"])
        let keys = try #require(try JSONDecoder().decode(JSONValue.self, from: Data(listed.out.utf8)).array)
        #expect(keys.first?["usedToday"] == 3 && keys.first?["dailyQuota"] == 3, "\(listed.out)")
        #expect(try sandbox.run(["keys", "list"]).out.contains("used today 3/3"))
    }
}
