import Foundation
import SluiceCore
import SluiceEngine
import SluiceServing
import SluiceStore
import SluiceTesting
import Testing

@testable import SluiceCLI

@Suite struct ApprovalHTTPTests {
    /// A GET shows the page and decides nothing (nor does W3's `/respond` link); a POST decides once; the
    /// execution, submitted over HTTP, continues to success in the server's process.
    @Test func approvalPageThenPostDecidesOnce() async throws {
        let scratch = try Scratch()
        try scratch.writeGate()
        try await withHostedServer(home: scratch.home, workingDirectory: scratch.folder) { base, server, console in
            let (id, token) = try await submitGate(at: base, console: console, parameters: #"{"Version": "7"}"#)

            let page = try await send(base, "/approvals/\(token)")
            #expect(page.status == 200 && page.contentType.hasPrefix("text/html"))
            for text in ["Ship version 7?", "Ship It", id, "Gate", "name=decision value=approve", "name=reason"] {
                #expect(page.body.contains(text), "the page shows \(text)")
            }
            let respond = try await send(base, "/respond?type=success&token=\(token)")
            #expect(respond.status == 200 && respond.body.contains("approve</b> link"))
            // Link scanners follow GETs: nothing is decided and the execution still waits.
            let approval = try server.context.store.approval(executionID: id, step: "Ship It")
            #expect(approval?.decision == .pending)
            #expect(try server.context.store.execution(id: id)?.status == .running)

            let decided = try await send(
                base, "/approvals/\(token)", method: "POST", body: "decision=approve",
                contentType: "application/x-www-form-urlencoded")
            #expect(decided.status == 200 && decided.body.contains("Approved"), "\(decided.body)")
            let again = try await send(
                base, "/approvals/\(token)", method: "POST", body: "decision=reject&reason=late",
                contentType: "application/x-www-form-urlencoded")
            #expect(again.status == 410 && again.body.split(separator: "\n").count == 1, "\(again.body)")
            #expect(try await send(base, "/approvals/\(token)").status == 410)
            #expect(try await send(base, "/approvals/sl-00ff", method: "POST", body: "decision=approve").status == 404)
            #expect(try await send(base, "/respond?type=fail&token=sl-nope").status == 404)

            let final = try await finalStatus(base, id)
            #expect(final["status"] as? String == "succeeded", "\(final)\n\(console.text)")
            let steps = final["steps"] as? [[String: Any]] ?? []
            let echo = steps.first { $0["name"] as? String == "Echo" }
            #expect((echo?["outputs"] as? [String: Any])?["value"] as? String == "7")
        }
    }

    /// A rejection with a reason fails the step with that reason; a form without a decision is refused.
    @Test func rejectionCarriesTheReason() async throws {
        let scratch = try Scratch()
        try scratch.writeGate()
        try await withHostedServer(home: scratch.home, workingDirectory: scratch.folder) { base, _, console in
            let (id, token) = try await submitGate(at: base, console: console)
            let bad = try await send(
                base, "/approvals/\(token)", method: "POST", body: "decision=maybe",
                contentType: "application/x-www-form-urlencoded")
            #expect(bad.status == 400 && bad.body.contains("approve or reject"))
            let rejected = try await send(
                base, "/approvals/\(token)", method: "POST", body: "decision=reject&reason=metrics+look+off",
                contentType: "application/x-www-form-urlencoded")
            #expect(rejected.status == 200 && rejected.body.contains("metrics look off"))
            let final = try await finalStatus(base, id)
            #expect(final["status"] as? String == "failed")
            let error = final["error"] as? [String: Any]
            #expect((error?["cause"] as? String)?.contains("metrics look off") == true, "\(final)")
        }
    }
}

@Suite struct ExecutionAPITests {
    /// A pipeline submitted over HTTP runs to success; refusals are 4xx with a message that says what to fix.
    @Test func submittedPipelineRunsAndBadSubmissionsAreRefused() async throws {
        let scratch = try Scratch()
        try scratch.write("echo.yaml", echoModule)
        try scratch.write(
            "hello.yaml",
            """
            name: Hello
            parameters: [{name: Greeting, type: String, default: hi}]
            steps:
              - name: Say
                module: Echo
                inputs: {value: $.parameters.Greeting}
            """)
        try scratch.write("broken.yaml", "name: Broken\nsteps:\n  - name: Say\n    module: Nope\n")
        try await withHostedServer(home: scratch.home, workingDirectory: scratch.folder) { base, _, _ in
            let json = "application/json"
            let submitted = try await send(
                base, "/api/executions", method: "POST",
                body: #"{"pipeline": "\#(scratch.folder)/hello.yaml", "parameters": {"Greeting": "hello"}}"#,
                contentType: json)
            #expect(submitted.status == 202)
            let id = try #require(
                (try JSONSerialization.jsonObject(with: Data(submitted.body.utf8)) as? [String: Any])?["id"] as? String)
            let final = try await finalStatus(base, id)
            #expect(final["status"] as? String == "succeeded", "\(final)")
            let say = (final["steps"] as? [[String: Any]])?.first
            #expect((say?["outputs"] as? [String: Any])?["value"] as? String == "hello")

            let broken = try await send(
                base, "/api/executions", method: "POST", body: #"{"pipeline": "broken.yaml"}"#, contentType: json)
            #expect(broken.status == 400 && broken.body.contains("broken.yaml:4:"), "\(broken.body)")
            let parameter = try await send(
                base, "/api/executions", method: "POST",
                body: #"{"pipeline": "hello.yaml", "parameters": {"Greting": "x"}}"#, contentType: json)
            #expect(parameter.status == 400 && parameter.body.contains("did you mean 'Greeting'"), "\(parameter.body)")
            let form = try await send(
                base, "/api/executions", method: "POST", body: "pipeline=hello.yaml",
                contentType: "application/x-www-form-urlencoded")
            #expect(form.status == 415)
            let missing = try await send(base, "/api/executions", method: "POST", body: "{}", contentType: json)
            #expect(missing.status == 400 && missing.body.contains("'pipeline' is required"))
            #expect(try await send(base, "/api/executions/20990101-000000-000000").status == 404)
        }
    }

    /// Bound beyond loopback, the execution API needs a key from the store: a submitted pipeline runs commands here.
    @Test func exposedServerNeedsAKeyToRunPipelines() async throws {
        let scratch = try Scratch()
        try scratch.write("echo.yaml", echoModule)
        try scratch.write(
            "hello.yaml", "name: Hello\nsteps:\n  - name: Say\n    module: Echo\n    inputs: {value: hi}\n")
        try await withHostedServer(home: scratch.home, workingDirectory: scratch.folder, host: "0.0.0.0") {
            base, server, _ in
            let body = #"{"pipeline": "hello.yaml"}"#
            let keyless = try await send(
                base, "/api/executions", method: "POST", body: body, contentType: "application/json")
            #expect(keyless.status == 401 && keyless.body.contains("x-api-key"), "\(keyless.body)")
            let wrong = try await send(
                base, "/api/executions", method: "POST", body: body, contentType: "application/json",
                headers: ["x-api-key": "sk_wrong"])
            #expect(wrong.status == 403)
            let (key, record) = APIKey.generate(name: "ci")
            try server.context.store.createAPIKey(
                StoredAPIKey(
                    id: record.id, name: "ci", hashHex: Hex.encode(record.hash),
                    createdAt: Date().timeIntervalSince1970))
            try server.runtime.refresh()
            let accepted = try await send(
                base, "/api/executions", method: "POST", body: body, contentType: "application/json",
                headers: ["x-api-key": key])
            #expect(accepted.status == 202, "\(accepted.body)")
        }
    }

    /// An execution left waiting for approval by a `sluice run` that was killed is resumed by a starting server,
    /// and approving it over HTTP (with the token `sluice run` printed) finishes it.
    @Test func startingServerResumesAWaitingExecution() async throws {
        let scratch = try Scratch()
        try scratch.writeGate()
        let run = try SluiceRun(["run", "gate.yaml"], in: scratch)
        let approvalToken = try await run.wait(for: /sluice approve (sl-[0-9a-f]+)/)
        await run.kill()

        try await withHostedServer(home: scratch.home, workingDirectory: scratch.folder) { base, server, console in
            let id = try await console.wait(for: #"execution (\S+)  Gate  resumed"#)
            #expect(try await send(base, "/approvals/\(approvalToken)").status == 200)
            try await approve(approvalToken, at: base)
            #expect(await server.engine.waitForEnd(of: id) == .succeeded, "\(console.text)")
        }
    }

    /// A `sluice run` killed while its execution waited in the queue (max_concurrent_executions: 1) leaves it to a
    /// starting server, which waits for the slot in its place and runs it once the first execution is done.
    @Test func startingServerAdoptsAQueuedExecution() async throws {
        let scratch = try Scratch()
        try scratch.write("gate.yaml", "max_concurrent_executions: 1\n" + gatePipeline)
        try scratch.write("echo.yaml", echoModule)
        let first = try SluiceRun(["run", "gate.yaml"], in: scratch)
        let firstToken = try await first.wait(for: /sluice approve (sl-[0-9a-f]+)/)
        let second = try SluiceRun(["run", "gate.yaml", "-p", "Version=2"], in: scratch)
        _ = try await second.wait(for: /(queued): 1 execution/)
        await first.kill()
        await second.kill()

        try await withHostedServer(home: scratch.home, workingDirectory: scratch.folder) { base, server, console in
            let firstID = try await console.wait(for: #"execution (\S+)  Gate  resumed"#)
            try await approve(firstToken, at: base)
            #expect(await server.engine.waitForEnd(of: firstID) == .succeeded, "\(console.text)")
            let secondToken = try await console.wait(for: #"Ship version 2\?\n.*/approvals/(sl-[0-9a-f]+)"#)
            let secondID = try await console.wait(for: #"\[(\S+)\] ⏸ Ship It  waiting for approval: Ship version 2"#)
            try await approve(secondToken, at: base)
            #expect(await server.engine.waitForEnd(of: secondID) == .succeeded, "\(console.text)")
        }
    }

    private func approve(_ token: String, at base: URL) async throws {
        let decided = try await send(
            base, "/approvals/\(token)", method: "POST", body: "decision=approve",
            contentType: "application/x-www-form-urlencoded")
        #expect(decided.status == 200)
    }
}
