import Foundation
import SluiceStore
import Testing

@testable import SluiceCLI

/// The execution API runs only pipelines under the server's pipeline root. The files outside are named pipes: a
/// server that opened one to read it would block there and never answer, so an answer proves nothing was read.
@Suite struct SubmissionConfinementTests {
    /// A scratch root with a pipe outside it (in a sibling folder, also scratch).
    struct Layout {
        let scratch: Scratch
        let outsideFolder: String
        var outsidePipe: String { outsideFolder + "/secret.yaml" }

        init() throws {
            scratch = try Scratch()
            outsideFolder = scratch.folder + "-outside"
            try FileManager.default.createDirectory(atPath: outsideFolder, withIntermediateDirectories: true)
            guard mkfifo(outsideFolder + "/secret.yaml", 0o600) == 0 else { throw HostTestError("mkfifo failed") }
        }

        func remove() {
            try? FileManager.default.removeItem(atPath: outsideFolder)
            try? FileManager.default.removeItem(atPath: scratch.folder)
        }
    }

    func expectRefused(_ layout: Layout, submitting pipeline: String) async throws {
        try await withHostedServer(home: layout.scratch.home, workingDirectory: layout.scratch.folder) {
            base, server, _ in
            let reply = try await send(
                base, "/api/executions", method: "POST", body: #"{"pipeline": "\#(pipeline)"}"#,
                contentType: "application/json")
            #expect(reply.status == 403, "\(reply.body)")
            #expect(reply.errorType == "AccessDenied")
            #expect(reply.body.contains("pipeline root"), "\(reply.body)")
            #expect(!reply.body.contains("secret.yaml:"), "a diagnostic quotes the outside file: \(reply.body)")
            #expect(try server.context.store.executions().isEmpty)
        }
    }

    @Test func absolutePathOutsideTheRootIs403() async throws {
        let layout = try Layout()
        defer { layout.remove() }
        try await expectRefused(layout, submitting: layout.outsidePipe)
    }

    @Test func dotDotEscapeIs403() async throws {
        let layout = try Layout()
        defer { layout.remove() }
        let sibling = URL(fileURLWithPath: layout.outsideFolder).lastPathComponent
        try await expectRefused(layout, submitting: "../\(sibling)/secret.yaml")
        try await expectRefused(layout, submitting: "pipelines/../../\(sibling)/secret.yaml")
    }

    @Test func symbolicLinkOutOfTheRootIs403() async throws {
        let layout = try Layout()
        defer { layout.remove() }
        try FileManager.default.createSymbolicLink(
            atPath: layout.scratch.folder + "/inside.yaml", withDestinationPath: layout.outsidePipe)
        try FileManager.default.createSymbolicLink(
            atPath: layout.scratch.folder + "/linked", withDestinationPath: layout.outsideFolder)
        try await expectRefused(layout, submitting: "inside.yaml")
        try await expectRefused(layout, submitting: "linked/secret.yaml")
    }

    @Test func anInvalidPipelineIs400WithItsDiagnostics() async throws {
        let layout = try Layout()
        defer { layout.remove() }
        try "name: broken\nsteps:\n  - name: A\n    module: no-such-module\n".write(
            toFile: layout.scratch.folder + "/broken.yaml", atomically: true, encoding: .utf8)
        try await withHostedServer(home: layout.scratch.home, workingDirectory: layout.scratch.folder) {
            base, server, _ in
            let reply = try await send(
                base, "/api/executions", method: "POST", body: #"{"pipeline": "broken.yaml"}"#,
                contentType: "application/json")
            #expect(reply.status == 400, "\(reply.body)")
            #expect(reply.errorType == "ValidationError")
            let body = try JSONSerialization.jsonObject(with: Data(reply.body.utf8)) as? [String: Any] ?? [:]
            #expect(body["ErrorCode"] as? String == "ValidationError")
            let diagnostics = body["Diagnostics"] as? [String] ?? []
            #expect(diagnostics.contains { $0.contains("broken.yaml:4:") }, "\(reply.body)")
            #expect(try server.context.store.executions().isEmpty)
        }
    }
}
