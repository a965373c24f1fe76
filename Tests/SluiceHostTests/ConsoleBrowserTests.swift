import Foundation
import SluiceCore
import SluiceServing
import SluiceStore
import SluiceTesting
import Testing

@testable import SluiceCLI

/// The web console in a real browser: Debian's chromium and chromium-driver driven by selenium
/// (`scripts/browser-test-tools` installs them; `scripts/console-browser.py` drives them). Screenshots of every page
/// go to the test's temporary folder, whose path the test prints.
@Suite(.serialized) struct ConsoleBrowserTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// After W1, W2 (on 500 rows) and W3's training pipeline (approved) ran, every console page shows what it must.
    @Test func everyPageShowsWhatTheWorkflowsDid() async throws {
        let scratch = try Scratch()
        let examples = Self.packageRoot + "/examples"
        let rows = try String(contentsOfFile: examples + "/w2-abalone/data/abalone.csv", encoding: .utf8)
            .split(separator: "\n")
        try scratch.write("abalone.csv", rows.prefix(500).joined(separator: "\n") + "\n")
        let w1 = try await SluiceRun.finished(["run", examples + "/w1-diabetes/pipeline.yaml"], in: scratch)
        #expect(w1.0 == 0, "\(w1.1)")
        let w2 = try await SluiceRun.finished(
            ["run", examples + "/w2-abalone/pipeline.yaml", "-p", "InputData=\(scratch.folder)/abalone.csv"],
            in: scratch)
        #expect(w2.0 == 0, "\(w2.1)")
        let w3 = try SluiceRun(["run", examples + "/w3-credit-risk/training-pipeline.yaml"], in: scratch)
        let token = try await w3.wait(for: /sluice approve (sl-[0-9a-f]+)/)
        #expect(try await SluiceRun.finished(["approve", token], in: scratch).0 == 0)
        await waitForExit(w3.process)
        #expect(w3.process.terminationStatus == 0, "\(w3.output)")

        try await withHostedServer(home: scratch.home, workingDirectory: scratch.folder) { base, server, _ in
            let executions = try server.context.store.executions(limit: 10)
            #expect(executions.count == 3 && executions.allSatisfy { $0.status == .succeeded })
            let (_, record) = APIKey.generate(name: "browser-ci")
            try server.context.store.createAPIKey(
                StoredAPIKey(
                    id: record.id, name: "browser-ci", hashHex: Hex.encode(record.hash),
                    createdAt: Date().timeIntervalSince1970))
            let expectations: [String: [String]] = [
                "pipelines": Array(Set(executions.map(\.pipelineName))).sorted(), "executions": executions.map(\.id),
                "groups": try server.context.store.modelGroups().map(\.name), "keys": ["browser-ci"],
            ]
            #expect(expectations["groups"]?.count == 3)
            let json = String(decoding: try JSONEncoder().encode(expectations), as: UTF8.self)
            let output = try await Self.drive(["pages", base.absoluteString, scratch.folder + "/screenshots", json])
            #expect(output.hasSuffix("passed\n"), "\(output)")
        }
    }

    /// A pipeline with an Approval: its open execution page shows the step waiting; approving it in the inbox (in
    /// another tab) turns the first tab's graph green without a reload, over server-sent events.
    @Test func approvingInTheInboxTurnsTheOpenGraphGreen() async throws {
        let scratch = try Scratch()
        try scratch.writeGate()
        try await withHostedServer(home: scratch.home, workingDirectory: scratch.folder) { base, _, console in
            let (id, _) = try await submitGate(at: base, console: console)
            let output = try await Self.drive(
                ["approval", base.absoluteString, scratch.folder + "/screenshots", id, "Ship It"])
            #expect(output.hasSuffix("passed\n"), "\(output)")
        }
    }

    /// A running step's new log line appears on its open execution page, and the endpoints page's traffic table
    /// counts requests as they arrive, both without a reload.
    @Test func logLinesAndTrafficAppearWithoutAReload() async throws {
        let scratch = try Scratch()
        let go = scratch.folder + "/go"
        try scratch.writeTalker(waitingFor: go)
        defer { FileManager.default.createFile(atPath: go, contents: nil) }
        try await withHostedServer(home: scratch.home, workingDirectory: scratch.folder) { base, server, _ in
            try ConsoleLiveTests.deployLinearModel(server, group: "Churn", endpoint: "scores", folder: scratch.folder)
            let id = try await submit("talk.yaml", at: base)
            let output = try await Self.drive(
                ["live", base.absoluteString, scratch.folder + "/screenshots", id, go, "scores"])
            #expect(output.hasSuffix("passed\n"), "\(output)")
        }
    }

    /// Runs `scripts/console-browser.py ARGUMENTS` with selenium's interpreter; prints and returns its output.
    static func drive(_ arguments: [String]) async throws -> String {
        let tools = Process()
        tools.executableURL = URL(fileURLWithPath: packageRoot + "/scripts/browser-test-tools")
        let installed = try await runOffThePool(tools)
        let python = String(decoding: installed.output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(tools.terminationStatus == 0, "scripts/browser-test-tools failed: \(installed.error)")
        let browser = Process()
        browser.executableURL = URL(fileURLWithPath: python)
        browser.arguments = [packageRoot + "/scripts/console-browser.py"] + arguments
        let result = try await runOffThePool(browser)
        let output = String(decoding: result.output, as: UTF8.self)
        print(output)
        #expect(browser.terminationStatus == 0, "\(output)\n\(result.error)")
        return output
    }
}
