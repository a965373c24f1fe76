import Foundation
import Testing

/// The set-up the monitor's tests share, through the binary: W1 trained on its data set (its Baseline step attaches
/// the training rows' baseline to DiabetesModelGroup/1), deployed to `diabetes` (production) capturing every request,
/// and `sluice serve` answering on a free port.
struct MonitoredDiabetes {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples").path
    /// W1's data set: a header, then 442 rows.
    static let data = examples + "/data/diabetes_scaled.csv"

    let sandbox: ServingSandbox

    /// A sandbox with W1 trained in it.
    static func trained() async throws -> MonitoredDiabetes {
        let sandbox = try ServingSandbox()
        do {
            let trained = try await sandbox.running([
                "run", examples + "/w1-diabetes/pipeline.yaml", "-p", "InputData=\(data)",
            ])
            #expect(trained.status == 0, "\(trained.out)\(trained.err)")
        } catch {
            try? FileManager.default.removeItem(atPath: sandbox.folder)
            throw error
        }
        return MonitoredDiabetes(sandbox: sandbox)
    }

    /// Deploys DiabetesModelGroup/1 to `diabetes` (production) with full capture; returns a new API key.
    func deploy() async throws -> String {
        let deployed = try await sandbox.running([
            "endpoints", "deploy", "diabetes", "DiabetesModelGroup/1", "--stage", "production", "--capture-percent",
            "100",
        ])
        #expect(deployed.status == 0, "\(deployed.err)")
        return try await sandbox.running(["keys", "create"]).out.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Starts `sluice serve --port 0`; returns it and the port it listens on. Stop it with `stop(_:)`.
    func serve() async throws -> (server: RunningCommand, port: Int) {
        let server = try sandbox.start(["serve", "--port", "0"])
        let port = await server.firstMatch(of: /listening on http:\/\/127\.0\.0\.1:(\d+)/).flatMap { Int($0) }
        guard let port else {
            kill(server.process.processIdentifier, SIGKILL)
            throw MonitorFixtureError("sluice serve did not start: \(server.output())")
        }
        return (server, port)
    }

    /// Stops the server as Ctrl-C does and waits for it to exit.
    func stop(_ server: RunningCommand) async {
        kill(server.process.processIdentifier, SIGINT)
        #expect(await eventually(within: 30) { !server.process.isRunning })
    }

    /// Lines captured for `diabetes` (production) so far.
    func capturedLines() -> Int {
        let root = sandbox.homePath + "/capture/diabetes/production/AllTraffic"
        let files = FileManager.default.enumerator(atPath: root)?.compactMap { $0 as? String } ?? []
        return files.filter { $0.hasSuffix(".jsonl") }.reduce(0) { total, file in
            let text = String(
                decoding: FileManager.default.contents(atPath: root + "/" + file) ?? Data(), as: UTF8.self)
            return total + text.split(separator: "\n").count
        }
    }

    /// The alert mails in the outbox.
    func mails() -> [String] {
        let folder = sandbox.homePath + "/outbox"
        return ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".eml") }
            .map { String(decoding: FileManager.default.contents(atPath: folder + "/" + $0) ?? Data(), as: UTF8.self) }
    }

    /// Removes the sandbox's folder.
    func remove() { try? FileManager.default.removeItem(atPath: sandbox.folder) }
}

struct MonitorFixtureError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
