import Foundation
import SluiceCore
import SluiceExecutors
import SluiceStore
import Testing

/// A real SMTP server: Python's standard `smtpd`, appending each message it receives as a JSON line to a file.
final class SMTPSink {
    static let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }
    static let script = """
        import json, sys, warnings
        warnings.simplefilter("ignore")
        import asyncore, smtpd
        class Sink(smtpd.SMTPServer):
            def process_message(self, peer, mailfrom, rcpttos, data, **kwargs):
                with open(sys.argv[1], "a") as f:
                    f.write(json.dumps({"from": mailfrom, "to": rcpttos, "data": data}) + "\\n")
        server = Sink(("127.0.0.1", 0), None, decode_data=True)
        print(server.socket.getsockname()[1], flush=True)
        asyncore.loop(timeout=0.05)
        """

    let process = Process()
    let mailFile: String
    let port: Int

    init(folder: String) throws {
        mailFile = folder + "/mail.jsonl"
        let python = try #require(Self.python)
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", Self.script, mailFile]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        port = try #require(Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    /// The messages received so far: sender, recipients, the message text.
    func messages() -> [(from: String, to: [String], data: String)] {
        let text = String(decoding: FileManager.default.contents(atPath: mailFile) ?? Data(), as: UTF8.self)
        return text.split(separator: "\n").compactMap { line in
            guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(line.utf8)) else { return nil }
            return (
                value["from"]?.string ?? "", value["to"]?.array?.compactMap(\.string) ?? [],
                value["data"]?.string ?? ""
            )
        }
    }

    deinit {
        // SIGKILL: the child inherits the test runner's blocked signals, SIGTERM included.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

@Suite struct FeatureNotifyStepTests {
    let folder = NSTemporaryDirectory() + "sluice-features-\(UUID().uuidString)"

    init() throws { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }

    func context(_ inputs: [String: JSONValue], options: [String: JSONValue] = [:]) -> BuiltinStepContext {
        BuiltinStepContext(
            inputs: inputs, options: options, workDirectory: folder + "/work", executionID: "e1", stepName: "Step")
    }

    static let loans = """
        id,loan_date,nb_previous_loans,avg_amount_loans_previous,age,years_on_the_job,flag_own_car,status
        1,2019-01-05,0,,35,10,1,0
        1,2019-07-29,1,2225.94,35,11,1,0
        2,2018-03-01,0,,40,5,0,1

        """

    @Test func ingestCreatesTheGroupOnceAndSkipsIdenticalRecords() async throws {
        let store = try SQLiteStore(path: folder + "/sluice.db")
        try Data(Self.loans.utf8).write(to: URL(fileURLWithPath: folder + "/features.csv"))
        let step = FeatureIngestStep(store: store)
        let inputs: [String: JSONValue] = ["Features": .string(folder + "/features.csv"), "FeatureGroup": "loans"]
        let options: [String: JSONValue] = ["record_identifier": "id", "event_time": "loan_date"]
        let first = try await step.run(context(inputs, options: options))
        #expect(first["FeatureGroup"] == "loans" && first["RecordCount"] == .int(3) && first["Written"] == .int(3))
        let again = try await step.run(context(inputs, options: options))
        #expect(again["RecordCount"] == .int(3) && again["Written"] == .int(0))
        #expect(try store.featureRecordCount(group: "loans") == 3)

        let group = try #require(try store.featureGroup(name: "loans"))
        #expect(group.recordIdentifier == "id" && group.eventTime == "loan_date" && group.onlineStore)
        let types = Dictionary(uniqueKeysWithValues: group.features.map { ($0.name, $0.type) })
        #expect(
            types["id"] == .string && types["age"] == .integral && types["avg_amount_loans_previous"] == .fractional)

        let latest = try #require(try store.latestFeatureRecord(group: "loans", recordID: "1"))
        #expect(latest.eventTime == "2019-07-29")
        #expect(latest.features["avg_amount_loans_previous"] == .double(2225.94))
        #expect(latest.features["nb_previous_loans"] == .int(1))
        // An empty cell is an absent feature, not a zero.
        let first1 = try #require(try store.featureRecords(group: "loans", asOf: "2019-02-01").first)
        #expect(first1.eventTime == "2019-01-05" && first1.features["avg_amount_loans_previous"] == nil)

        // Same group name, a column of another type: refused with both definitions named.
        try Data(Self.loans.replacingOccurrences(of: ",35,10,", with: ",35.5,10,").utf8)
            .write(to: URL(fileURLWithPath: folder + "/changed.csv"))
        var changed = inputs
        changed["Features"] = .string(folder + "/changed.csv")
        let refusal = await #expect(throws: StepFailure.self) { try await step.run(context(changed, options: options)) }
        #expect(
            refusal?.cause.contains("already exists with another definition") == true, "\(String(describing: refusal))")

        // A missing event-time column names the file, the column and the option.
        let missing = await #expect(throws: StepFailure.self) {
            try await step.run(context(inputs, options: ["event_time": "event_date"]))
        }
        let cause = missing?.cause ?? ""
        #expect(
            cause.contains("'event_date' is not in the file") && cause.contains("'event_time' (now 'event_date')"),
            "\(cause)")
    }

    @Test func notifyWritesAnEmlToTheOutboxWithoutSMTP() async throws {
        let step = NotifyStep(delivery: .from(environment: [:], outbox: folder + "/outbox"))
        let outputs = try await step.run(
            context(["Recipients": ["risk@example.com"], "Subject": "Endpoint ready: http://x/y", "Message": ""]))
        let path = try #require(outputs["Delivery"]?.string)
        #expect(path.hasPrefix(folder + "/outbox/") && path.hasSuffix(".eml"))
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("To: risk@example.com\r\n") && text.contains("Subject: Endpoint ready: http://x/y\r\n"))

        let bad = await #expect(throws: StepFailure.self) {
            try await step.run(context(["Recipients": ["not an address"], "Subject": "s"]))
        }
        #expect(bad?.cause.contains("'not an address' is not an email address") == true)
    }

    @Test(.enabled(if: SMTPSink.python != nil, "python3 is not installed: the SMTP test needs its standard smtpd"))
    func notifySendsOverSMTPToARealServer() async throws {
        let sink = try SMTPSink(folder: folder)
        let delivery = NotifyDelivery.from(
            environment: ["SLUICE_SMTP": "127.0.0.1:\(sink.port)", "SLUICE_SMTP_FROM": "sluice@test.example"],
            outbox: folder + "/outbox")
        let step = NotifyStep(delivery: delivery)
        let body = "The endpoint serves.\n.a line starting with a dot\nBye"
        let outputs = try await step.run(
            context([
                "Recipients": ["a@example.com", "b@example.com"], "Subject": "Credit risk endpoint ready",
                "Message": .string(body),
            ]))
        #expect(outputs["Delivery"] == .string("smtp://127.0.0.1:\(sink.port)"))
        let message = try #require(sink.messages().first)
        #expect(message.from == "sluice@test.example")
        #expect(message.to == ["a@example.com", "b@example.com"])
        #expect(message.data.contains("Subject: Credit risk endpoint ready"))
        // Dot-stuffing round-trips: the server gives back the body as written.
        #expect(message.data.hasSuffix("The endpoint serves.\n.a line starting with a dot\nBye"), "\(message.data)")
        #expect(!FileManager.default.fileExists(atPath: folder + "/outbox"))

        // Nobody listening: a clear failure naming the address.
        let closed = NotifyStep(delivery: .smtp(host: "127.0.0.1", port: 1, from: "s@x"))
        let failure = await #expect(throws: StepFailure.self) {
            try await closed.run(context(["Recipients": ["a@example.com"], "Subject": "s"]))
        }
        #expect(failure?.cause.contains("cannot connect to the SMTP server at 127.0.0.1:1") == true)
    }
}
