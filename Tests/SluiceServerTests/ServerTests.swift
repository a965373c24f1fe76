import Foundation
import SluiceServer
import SluiceServing
import Testing

@Suite struct ServerTests {
    @Test func pingStreamBatchAndInvocations() async throws {
        let (service, key, _) = makeService()
        try await withLiveServer(service) { base in
            #expect(try await send(base, "/ping", method: "GET").status == 200)
            let json = ["Content-Type": "application/json", "x-api-key": key]
            for path in [
                "/production/stream", "/stream", "/endpoints/w1/production/stream", "/endpoints/w1/staging/stream",
            ] {
                let result = try await send(base, path, body: Data(#"{"x": [[1.5, 0.25]]}"#.utf8), headers: json)
                #expect(result.status == 200 && result.body == "3.25", "\(path): \(result.body)")
            }
            let batch = try await send(
                base, "/production/batch", body: Data(#"{"x": [[1, 2], [3, 1]]}"#.utf8), headers: json)
            #expect(batch.status == 200 && batch.body == "[[0.5],[5.5]]")
            let csv = try await send(
                base, "/endpoints/w1/invocations", body: Data("1,2\n3,1\n".utf8),
                headers: ["Content-Type": "text/csv", "X-Amzn-SageMaker-Target-Variant": "B"]
            )
            #expect(csv.status == 200 && csv.body == "0.5\n5.5\n")
            #expect(csv.header("x-Amzn-Invoked-Production-Variant") == "B")
        }
    }

    /// Each bad request gets its status and a one-line message, and the server keeps answering good ones.
    @Test func badInputIsRefusedAndTheServerKeepsServing() async throws {
        let (service, key, record) = makeService()
        try await withLiveServer(service) { base in
            let json = ["Content-Type": "application/json", "x-api-key": key]
            let big = Data(repeating: UInt8(ascii: "1"), count: 7 * 1024 * 1024)
            let cases: [(String, String, Data, [String: String], Int)] = [
                ("malformed JSON", "/production/stream", Data(#"{"x": [[0.3,]]"#.utf8), json, 400),
                ("malformed CSV", "/endpoints/w1/invocations", Data("1,abc\n".utf8), ["Content-Type": "text/csv"], 400),
                ("wrong feature count", "/production/batch", Data(#"{"x": [[1.0]]}"#.utf8), json, 400),
                ("NaN", "/production/stream", Data(#"{"x": [[NaN, 1]]}"#.utf8), json, 400),
                ("Infinity in CSV", "/endpoints/w1/invocations", Data("inf,1".utf8), ["Content-Type": "text/csv"], 400),
                ("empty body", "/production/stream", Data(), json, 400),
                ("7 MB body", "/production/batch", big, json, 413),
                (
                    "unknown endpoint", "/endpoints/nope/invocations", Data("1,2".utf8), ["Content-Type": "text/csv"],
                    404
                ),
                ("unknown stage", "/endpoints/w1/qa/stream", Data("[[1,2]]".utf8), json, 404),
                ("missing key", "/production/stream", Data("[[1,2]]".utf8), ["Content-Type": "application/json"], 401),
                ("wrong key", "/production/stream", Data("[[1,2]]".utf8), ["x-api-key": "sk_wrong"], 403),
                ("text/plain", "/endpoints/w1/invocations", Data("1,2".utf8), ["Content-Type": "text/plain"], 415),
                ("JSON to a CSV-only endpoint", "/endpoints/abalone/invocations", Data("[[1,2]]".utf8), json, 415),
                (
                    "unknown variant", "/endpoints/w1/invocations", Data("1,2".utf8),
                    ["Content-Type": "text/csv", "X-Amzn-SageMaker-Target-Variant": "Z"], 400
                ),
            ]
            for (name, path, body, headers, status) in cases {
                let result = try await send(base, path, body: body, headers: headers)
                #expect(result.status == status, "\(name): \(result.status) \(result.body)")
                let error = try JSONSerialization.jsonObject(with: Data(result.body.utf8)) as? [String: String]
                let message = try #require(error?["Message"], "\(name): \(result.body)")
                #expect(!message.isEmpty && !message.contains("\n"), "\(name)")
                let good = try await send(base, "/production/stream", body: Data("[[1,2]]".utf8), headers: json)
                #expect(good.status == 200 && good.body == "0.5", "after \(name)")
            }
            let w2 = try await send(base, "/endpoints/abalone/invocations", body: Data("[[1,2]]".utf8), headers: json)
            #expect(w2.body.contains("Invalid request data type, only 'text/csv' is supported."))
            service.keyring.revoke(id: record.id)
            let revoked = try await send(base, "/production/stream", body: Data("[[1,2]]".utf8), headers: json)
            #expect(revoked.status == 403 && revoked.body.contains("revoked"))
        }
    }

    /// With several endpoints and no default, a request naming none (or naming one that does not exist) is answered
    /// by the 404 that names the endpoints, before its key is checked or its quota charged.
    @Test func requestNamingNoEndpointIsRefusedBeforeTheKeyAndTheQuota() async throws {
        let (service, key, _) = makeService(plan: UsagePlan(rate: 1000, burst: 1000, dailyQuota: 1))
        service.endpoints.defaultEndpoint = nil
        try await withLiveServer(service) { base in
            let json = ["Content-Type": "application/json", "x-api-key": key]
            // The event loop's path (/invocations, /stream) and the router's (/production/batch, a named stage).
            let cases: [(path: String, headers: [String: String], names: [String])] = [
                (
                    "/invocations", ["Content-Type": "text/csv", "x-api-key": key],
                    ["/endpoints/abalone/production/invocations"]
                ),
                ("/stream", json, ["/endpoints/abalone/production/stream"]),
                ("/stream", ["Content-Type": "application/json"], ["/endpoints/abalone/production/stream"]),
                ("/production/batch", json, ["/endpoints/abalone/production/batch"]),
                ("/endpoints/nope/production/stream", ["x-api-key": "sk_wrong"], ["abalone/production", "w1/staging"]),
            ]
            for check in cases {
                let refused = try await send(base, check.path, body: Data("[[1,2]]".utf8), headers: check.headers)
                #expect(refused.status == 404, "\(check.path): \(refused.status) \(refused.body)")
                #expect(refused.header("x-amzn-ErrorType") == "ResourceNotFound", "\(check.path)")
                for name in check.names where check.path.hasPrefix("/endpoints/") {
                    #expect(refused.body.contains(name), "\(check.path): \(refused.body)")
                }
                if !check.path.hasPrefix("/endpoints/") {
                    #expect(
                        refused.body.contains("names no endpoint and 2 are deployed (abalone, w1)")
                            && refused.body.contains(check.names[0]) && refused.body.contains("--default-endpoint"),
                        "\(check.path): \(refused.body)")
                }
            }
            // The quota of one request is still whole: a named request passes, and the one after it is refused.
            let named = try await send(
                base, "/endpoints/w1/production/stream", body: Data("[[1,2]]".utf8), headers: json)
            #expect(named.status == 200 && named.body == "0.5", "\(named.body)")
            let spent = try await send(
                base, "/endpoints/w1/production/stream", body: Data("[[1,2]]".utf8), headers: json)
            #expect(spent.status == 429 && spent.header("x-amzn-ErrorType") == "QuotaExceeded", "\(spent.body)")
        }
    }

    /// A path no route answers gets the server's one error shape, as every serving error: `x-amzn-ErrorType` and a
    /// JSON body of `ErrorCode` and `Message`; 405 with `Allow` when the path answers other methods.
    @Test func unknownRoutesAnswerTheServersErrorShape() async throws {
        let (service, _, _) = makeService()
        try await withLiveServer(service) { base in
            let cases: [(method: String, path: String, status: Int, code: String, allow: String?)] = [
                ("GET", "/no/such/route", 404, "UnknownOperation", nil),
                ("GET", "/endpoints/w1", 404, "UnknownOperation", nil),
                ("DELETE", "/endpoints/w1/production/stream", 405, "MethodNotAllowed", "POST"),
                ("GET", "/invocations", 405, "MethodNotAllowed", "POST"),
                ("POST", "/metrics", 405, "MethodNotAllowed", "GET"),
            ]
            for check in cases {
                let answer = try await send(base, check.path, method: check.method)
                #expect(answer.status == check.status, "\(check.method) \(check.path): \(answer.status)")
                #expect(answer.header("x-amzn-ErrorType") == check.code, "\(check.method) \(check.path)")
                #expect(answer.header("Content-Type") == "application/json", "\(check.method) \(check.path)")
                #expect(answer.header("Allow") == check.allow, "\(check.method) \(check.path)")
                let body = try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: String]
                #expect(Set(body?.keys.map { $0 } ?? []) == ["ErrorCode", "Message"], "\(answer.body)")
                #expect(body?["ErrorCode"] == check.code, "\(answer.body)")
                #expect(body?["Message"]?.contains("/openapi.json") == true, "\(answer.body)")
            }
        }
    }

    @Test func throttlingAnswers429WithRetryAfter() async throws {
        // One token per 100 s: however slow the machine, the fourth request finds the bucket empty.
        let (service, key, _) = makeService(plan: UsagePlan(rate: 0.01, burst: 3))
        try await withLiveServer(service) { base in
            let headers = ["Content-Type": "application/json", "x-api-key": key]
            var statuses: [Int] = []
            var retryAfter: String?
            for _ in 0..<5 {
                let result = try await send(base, "/production/stream", body: Data("[[1,2]]".utf8), headers: headers)
                statuses.append(result.status)
                if result.status == 429 { retryAfter = result.header("Retry-After") }
            }
            #expect(statuses == [200, 200, 200, 429, 429])
            let seconds = try #require(retryAfter.flatMap(Int.init))
            #expect(seconds >= 1 && seconds <= 100)
        }
    }

    @Test func metricsCountRequestsByEndpointVariantAndStatus() async throws {
        let (service, key, _) = makeService()
        try await withLiveServer(service) { base in
            let headers = ["Content-Type": "application/json", "x-api-key": key]
            for _ in 0..<3 {
                _ = try await send(base, "/endpoints/w1/staging/stream", body: Data("[[1,2]]".utf8), headers: headers)
            }
            _ = try await send(base, "/endpoints/w1/staging/stream", body: Data("[[1]]".utf8), headers: headers)
            _ = try await send(
                base, "/endpoints/random-name/staging/stream", body: Data("[[1]]".utf8), headers: headers)
            let metrics = try await send(base, "/metrics", method: "GET")
            #expect(metrics.body.contains(#"sluice_requests_total{endpoint="w1",variant="A",status="200"} 3"#))
            #expect(metrics.body.contains(#"sluice_requests_total{endpoint="w1",variant="-",status="400"} 1"#))
            #expect(metrics.body.contains(#"sluice_requests_total{endpoint="-",variant="-",status="404"} 1"#))
            #expect(!metrics.body.contains("random-name"))
            #expect(metrics.body.contains("sluice_request_duration_seconds_bucket"))
        }
    }

    /// Deploys alternate between two models while clients keep sending: no request fails, each answer comes from
    /// one of the two models, and the last deploy wins.
    @Test func modelSwapUnderLoadDropsNothing() async throws {
        let (service, key, _) = makeService()
        let first = LinearPredictor(coefficients: [1, 1], intercept: 0)  // [[1,2]] → 3.0
        let second = LinearPredictor(coefficients: [1, 1], intercept: 100)  // → 103.0
        // The first of the two models is live before the load starts, so every answer comes from one of them.
        service.endpoints.deploy(
            endpoint: "w1", stage: .production, StageDeployment(variants: [Variant(name: "v", predictor: first)]))
        try await withLiveServer(service) { base in
            let headers = ["Content-Type": "application/json", "x-api-key": key]
            let results = try await withThrowingTaskGroup(of: [HTTPResult].self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        var results: [HTTPResult] = []
                        for _ in 0..<60 {
                            results.append(
                                try await send(base, "/production/stream", body: Data("[[1,2]]".utf8), headers: headers)
                            )
                        }
                        return results
                    }
                }
                group.addTask {
                    for round in 0..<40 {
                        let model = round.isMultiple(of: 2) ? first : second
                        service.endpoints.deploy(
                            endpoint: "w1", stage: .production,
                            StageDeployment(variants: [Variant(name: "v\(round)", predictor: model)])
                        )
                        try await Task.sleep(for: .milliseconds(5))
                    }
                    return []
                }
                return try await group.reduce(into: [HTTPResult]()) { $0 += $1 }
            }
            #expect(results.count == 360)
            let unexpected = results.filter { !($0.status == 200 && ($0.body == "3.0" || $0.body == "103.0")) }
            #expect(unexpected.isEmpty, "\(unexpected.prefix(3))")
            let last = try await send(base, "/production/stream", body: Data("[[1,2]]".utf8), headers: headers)
            #expect(last.body == "103.0" && last.header("x-Amzn-Invoked-Production-Variant") == "v39")
        }
    }

    @Test func invocationsCanRequireAKey() async throws {
        let (service, key, _) = makeService()
        let configuration = SluiceServer.Configuration(host: "127.0.0.1", port: 0, invocationsRequireKey: true)
        try await withLiveServer(service, configuration: configuration) { base in
            let body = Data("1,2".utf8)
            let refused = try await send(
                base, "/endpoints/w1/invocations", body: body, headers: ["Content-Type": "text/csv"])
            #expect(refused.status == 401)
            let accepted = try await send(
                base, "/endpoints/w1/invocations", body: body, headers: ["Content-Type": "text/csv", "x-api-key": key]
            )
            #expect(accepted.status == 200 && accepted.body == "0.5\n")
        }
    }
}
