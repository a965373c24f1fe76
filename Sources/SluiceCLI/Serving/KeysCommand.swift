import ArgumentParser
import Foundation
import SluiceCore
import SluiceServing
import SluiceStore

extension StoredAPIKey {
    /// The key's JSON with the requests counted against its quotas today and this month (`used`, as they stand now).
    func json(used: KeyUsage?) -> JSONValue {
        guard case .object(var object) = json else { return json }
        if dailyQuota != nil || monthlyQuota != nil || rate != nil {
            object["usedToday"] = .int(used?.dayCount ?? 0)
            object["usedThisMonth"] = .int(used?.monthCount ?? 0)
        }
        return .object(object)
    }

    func usageSummary(_ used: KeyUsage?) -> String {
        var parts: [String] = []
        if let dailyQuota { parts.append("today \(used?.dayCount ?? 0)/\(dailyQuota)") }
        if let monthlyQuota { parts.append("this month \(used?.monthCount ?? 0)/\(monthlyQuota)") }
        return parts.isEmpty ? "" : "  used " + parts.joined(separator: ", ")
    }

    var json: JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(id), "name": .string(name), "createdAt": .string(Timestamp.iso8601(createdAt)),
            "revoked": .bool(revokedAt != nil),
        ]
        if let revokedAt { object["revokedAt"] = .string(Timestamp.iso8601(revokedAt)) }
        if let rate { object["rate"] = .double(rate) }
        if let burst { object["burst"] = .int(burst) }
        if let dailyQuota { object["dailyQuota"] = .int(dailyQuota) }
        if let monthlyQuota { object["monthlyQuota"] = .int(monthlyQuota) }
        if let endpoint { object["endpoint"] = .string(endpoint) }
        return .object(object)
    }

    var planSummary: String {
        var parts: [String] = []
        if let rate { parts.append("\(CLIFormat.number(rate))/s burst \(burst ?? 1)") }
        if let dailyQuota { parts.append("\(dailyQuota)/day") }
        if let monthlyQuota { parts.append("\(monthlyQuota)/month") }
        return parts.isEmpty ? "unlimited" : parts.joined(separator: ", ")
    }
}

/// `sluice keys`: API keys for the serving routes (stored as SHA-256 hashes; a key is shown once).
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Create, list and revoke API keys for `sluice serve`.",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: ReportingCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a key with an optional usage plan; the key is printed once and never stored.")
        @Option(help: "A label for the key.") var name: String = "default"
        @Option(help: "Usage plan: sustained requests per second (default: unlimited).") var rate: Double?
        @Option(help: "Usage plan: requests allowed at once (with --rate; default: the rate).") var burst: Int?
        @Option(help: "Usage plan: requests per UTC day.") var dailyQuota: Int?
        @Option(help: "Usage plan: requests per UTC month.") var monthlyQuota: Int?
        @Option(help: "Only this endpoint may be called with the key.") var endpoint: String?
        @OptionGroup var output: OutputFormat

        func execute() throws {
            if burst != nil && rate == nil { throw CLIError("--burst needs --rate (requests per second)") }
            if let rate, !(rate > 0 && rate.isFinite) {
                throw CLIError("--rate is \(rate); give requests per second > 0")
            }
            let store = try EngineContext.open().store
            let (key, record) = APIKey.generate(name: name)
            let stored = StoredAPIKey(
                id: record.id, name: name, hashHex: Hex.encode(record.hash),
                createdAt: Date().timeIntervalSince1970, rate: rate,
                burst: rate.map { burst ?? max(1, Int(min($0, 1e9).rounded(.up))) }, dailyQuota: dailyQuota,
                monthlyQuota: monthlyQuota, endpoint: endpoint)
            try store.createAPIKey(stored)
            if output.json {
                var object = stored.json.object ?? [:]
                object["key"] = .string(key)
                printJSON(.object(object))
                return
            }
            print(key)
            FileHandle.standardError.write(
                Data(
                    ("created \(record.id) (\(name), \(stored.planSummary)); the key above is shown only once: send "
                        + "it in the x-api-key header\n").utf8))
        }
    }

    struct List: ReportingCommand {
        static let configuration = CommandConfiguration(
            abstract: "List keys (ids, plans and quota use so far, never the keys).")
        @OptionGroup var output: OutputFormat

        func execute() throws {
            let store = try EngineContext.open().store
            let keys = try store.apiKeys()
            let usage = Dictionary(uniqueKeysWithValues: try store.keyUsage().map { ($0.keyID, $0) })
            let now = Date().timeIntervalSince1970
            let used = keys.map { usage[$0.id]?.current(at: now) }
            if output.json {
                printJSON(.array(zip(keys, used).map { $0.json(used: $1) }))
                return
            }
            if keys.isEmpty { print("no API keys; create one with `sluice keys create --name NAME`") }
            for (key, used) in zip(keys, used) {
                let state = key.revokedAt.map { "revoked \(Timestamp.iso8601($0))" } ?? "active"
                let scope = key.endpoint.map { "  endpoint \($0)" } ?? ""
                print(
                    "\(key.id)  \(key.name)  \(state)  \(key.planSummary)\(key.usageSummary(used))\(scope)  "
                        + "created \(Timestamp.iso8601(key.createdAt))")
            }
        }
    }

    struct Revoke: ReportingCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a key; a running server refuses it within a second.")
        @Argument(help: "The key id (key_…), as `sluice keys list` shows it.") var id: String

        func execute() throws {
            let revoked = try EngineContext.open().store.revokeAPIKey(id: id, now: Date().timeIntervalSince1970)
            print("\(id) revoked at \(Timestamp.iso8601(revoked))")
        }
    }
}
