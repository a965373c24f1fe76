import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

/// `kill -9` at random moments of commands that write several rows: afterwards each change is all there or not
/// there at all.
@Suite(.serialized) struct KillNineAtomicityTests {
    /// Starts `arguments`, kills it after a random delay (unless it finished), and waits for it.
    static func killSoon(_ sandbox: ServingSandbox, _ arguments: [String], upTo microseconds: UInt32) throws {
        let command = try sandbox.start(arguments)
        usleep(UInt32.random(in: 0...microseconds))
        if command.process.isRunning { kill(command.process.processIdentifier, SIGKILL) }
        command.process.waitUntilExit()
    }

    /// `sluice endpoints deploy` killed 15 times: the endpoint, its capture setting and its production deployment
    /// appear together or not at all.
    @Test func killedDeployIsAllOrNothing() async throws {
        // Blocks for long on the processes it starts: off the threads the async tests share.
        try await onOwnThread {
            let sandbox = try ServingSandbox()
            try sandbox.register("G", slope: 2)
            var deployed = false
            for _ in 0..<15 where !deployed {
                try Self.killSoon(
                    sandbox, ["endpoints", "deploy", "w1", "G/1", "--stage", "production", "--capture-percent", "40"],
                    upTo: 250_000)
                let endpoint = try sandbox.store.endpoints().first { $0.name == "w1" }
                let current = try sandbox.store.currentDeployments().filter { $0.endpoint == "w1" }
                #expect((endpoint == nil) == current.isEmpty, "endpoint \(String(describing: endpoint)), \(current)")
                if let endpoint {
                    #expect(endpoint.capturePercentage == 40)
                    #expect(current.count == 1 && current.first?.stage == "production")
                    deployed = true
                }
            }
            if !deployed {
                #expect(try sandbox.run(["endpoints", "deploy", "w1", "G/1", "--stage", "production"]).status == 0)
            }
            #expect(try sandbox.store.deploymentHistory(endpoint: "w1", stage: nil).count == 1)
        }
    }

    /// A pipeline ingesting 20,000 feature records, killed 10 times: the group's records are all there or none.
    @Test func killedFeatureIngestIsAllOrNothing() async throws {
        // Blocks for long on the processes it starts: off the threads the async tests share.
        try await onOwnThread {
            let sandbox = try ServingSandbox()
            var csv = "id,event_time,amount\n"
            for row in 0..<20_000 { csv += "r\(row),2026-01-01,\(row % 97)\n" }
            try Data(csv.utf8).write(to: URL(fileURLWithPath: sandbox.folder + "/features.csv"))
            try Data(
                """
                name: Ingest
                implementation: {builtin: features.ingest}
                inputs:
                  - {name: Features, type: Data}
                  - {name: FeatureGroup, type: String}
                outputs:
                  - {name: RecordCount, type: Integer}
                """.utf8
            ).write(to: URL(fileURLWithPath: sandbox.folder + "/ingest.yaml"))
            try Data(
                """
                name: Features
                steps:
                  - name: Load
                    module: Ingest
                    inputs: {Features: \(sandbox.folder)/features.csv, FeatureGroup: cards}
                """.utf8
            ).write(to: URL(fileURLWithPath: sandbox.folder + "/pipeline.yaml"))
            for _ in 0..<10 {
                try Self.killSoon(sandbox, ["run", "pipeline.yaml"], upTo: 1_500_000)
                let count = try sandbox.store.featureRecordCount(group: "cards")
                #expect(count == 0 || count == 20_000, "\(count) records after a kill")
            }
            let finished = try sandbox.run(["run", "pipeline.yaml"])
            #expect(finished.status == 0, "\(finished.err)")
            #expect(try sandbox.store.featureRecordCount(group: "cards") == 20_000)
        }
    }
}
