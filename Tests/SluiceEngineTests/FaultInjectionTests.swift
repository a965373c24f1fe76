import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

/// Faults injected into real processes and real files: nothing is lost, nothing half-written becomes visible, and
/// work goes on once the fault is gone.
@Suite(.serialized) struct FaultInjectionTests {
    /// Runs `script` with `/bin/sh` in the sandbox, with `SLUICE` naming the binary; returns its exit status.
    @discardableResult
    static func shell(_ sandbox: Sandbox, _ script: String, namespace: Bool = false) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: namespace ? "/usr/bin/unshare" : "/bin/sh")
        process.arguments = (namespace ? ["-m", "/bin/sh"] : []) + ["-c", script]
        process.currentDirectoryURL = URL(fileURLWithPath: sandbox.folder)
        var environment = ProcessInfo.processInfo.environment
        environment["SLUICE"] = SluiceBinary.path
        environment["SLUICE_HOME"] = sandbox.home
        environment["MARKER"] = "\(sandbox.folder)/marker.txt"
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// A shell command printing the first value `query` answers in the SQLite file given as its argument.
    static func sqlite(_ query: String) -> String {
        #"/usr/bin/python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute(""#
            + query + #"").fetchone()[0])'"#
    }

    static let integrityCheck = sqlite("pragma integrity_check")

    static let blobPipeline = (
        module: """
        name: Blob
        type: Command
        implementation:
          command: [sh, -c, "head -c 1200000 /dev/urandom > output/Blob"]
        inputs: []
        outputs: [{name: Blob, type: Data}]
        """,
        pipeline: "name: Blobs\nsteps:\n  - name: Make\n    module: Blob\n"
    )

    /// The disk fills while a step's output artifact is stored (a 2 MiB tmpfs holds `.sluice/`; the step's 1.2 MB
    /// output fits once, its copy into the artifact store does not): the step fails with an error naming the
    /// artifact's path and the cause, `PRAGMA integrity_check` is ok, no partial artifact is visible, and once
    /// space is back the next run works. The filesystem lives in a private mount namespace (`unshare -m`), so it
    /// is gone with the test's shell.
    @Test func diskFullWhileStoringAnArtifact() async throws {
        // Blocks for long on the processes it starts: off the threads the async tests share.
        try await onOwnThread {
            guard getuid() == 0 else {
                Issue.record("mounting a small filesystem needs root (CI runs as root)")
                return
            }
            let sandbox = try Sandbox()
            try sandbox.write("blob.yaml", Self.blobPipeline.module)
            try sandbox.write("pipeline.yaml", Self.blobPipeline.pipeline)
            try FileManager.default.createDirectory(atPath: sandbox.home, withIntermediateDirectories: true)
            let status = try Self.shell(
                sandbox,
                """
                mount -t tmpfs -o size=2m sluice-test "$SLUICE_HOME" || exit 90
                "$SLUICE" run pipeline.yaml > full.log 2>&1; echo $? > full.status
                \(Self.integrityCheck) "$SLUICE_HOME/sluice.db" > integrity.txt
                find "$SLUICE_HOME/artifacts" -type f > artifacts.txt
                for file in $(find "$SLUICE_HOME/artifacts/sha256" -type f); do
                    echo "$(basename "$file") $(sha256sum "$file" | cut -d' ' -f1)" >> hashes.txt
                done
                mount -o remount,size=16m "$SLUICE_HOME" || exit 91
                "$SLUICE" run pipeline.yaml > again.log 2>&1; echo $? > again.status
                \(Self.integrityCheck) "$SLUICE_HOME/sluice.db" >> integrity.txt
                """,
                namespace: true)
            #expect(status == 0)
            let read = sandbox.read
            #expect(read("full.status").trimmingCharacters(in: .whitespacesAndNewlines) != "0")
            let full = read("full.log")
            #expect(full.contains("No space left on device"), "\(full)")
            #expect(full.contains("/artifacts/sha256/"), "the error names the artifact's path: \(full)")
            #expect(read("integrity.txt") == "ok\nok\n")
            // No temporary or partial artifact: every stored file is whole (its content hashes to its name).
            #expect(!read("artifacts.txt").contains(".tmp-"), "\(read("artifacts.txt"))")
            for line in read("hashes.txt").split(separator: "\n") {
                let parts = line.split(separator: " ")
                #expect(parts.count == 2 && parts[0] == parts[1], "artifact \(line) is not whole")
            }
            #expect(read("again.status").trimmingCharacters(in: .whitespacesAndNewlines) == "0", "\(read("again.log"))")
        }
    }

    /// The disk fills while the database is written (a feature ingest's transaction on a tmpfs left with 400 KiB):
    /// the step fails with an error naming the database file, the cause and the fix; `PRAGMA integrity_check` is
    /// ok, none of the ingest's records is visible, and once space is back the same pipeline ingests them all.
    @Test func diskFullWhileWritingTheDatabase() async throws {
        // Blocks for long on the processes it starts: off the threads the async tests share.
        try await onOwnThread {
            guard getuid() == 0 else {
                Issue.record("mounting a small filesystem needs root (CI runs as root)")
                return
            }
            let sandbox = try Sandbox()
            var csv = "id,event_time,amount,note\n"
            for row in 0..<10_000 { csv += "r\(row),2026-01-01,\(row % 97),a note long enough to need pages \(row)\n" }
            try sandbox.write("features.csv", csv)
            try sandbox.write("ingest.yaml", Self.ingestModule)
            try sandbox.write(
                "pipeline.yaml",
                """
                name: Features
                steps:
                  - name: Load
                    module: Ingest
                    inputs: {Features: \(sandbox.folder)/features.csv, FeatureGroup: cards}
                """)
            try FileManager.default.createDirectory(atPath: sandbox.home, withIntermediateDirectories: true)
            let count = Self.sqlite("select count(*) from feature_record")
            let status = try Self.shell(
                sandbox,
                """
                mount -t tmpfs -o size=32m sluice-test "$SLUICE_HOME" || exit 90
                "$SLUICE" executions > first.log 2>&1 || exit 91
                dd if=/dev/zero of="$SLUICE_HOME/filler" bs=64k 2> filler.log
                truncate -s -400k "$SLUICE_HOME/filler" || exit 92
                "$SLUICE" run pipeline.yaml > full.log 2>&1; echo $? > full.status
                \(Self.integrityCheck) "$SLUICE_HOME/sluice.db" > integrity.txt
                \(count) "$SLUICE_HOME/sluice.db" > counts.txt
                rm "$SLUICE_HOME/filler"
                "$SLUICE" run pipeline.yaml > again.log 2>&1; echo $? > again.status
                \(Self.integrityCheck) "$SLUICE_HOME/sluice.db" >> integrity.txt
                \(count) "$SLUICE_HOME/sluice.db" >> counts.txt
                """,
                namespace: true)
            #expect(status == 0)
            let read = sandbox.read
            #expect(read("full.status").trimmingCharacters(in: .whitespacesAndNewlines) != "0")
            let full = read("full.log")
            #expect(full.contains("\(sandbox.home)/sluice.db: no space left on the disk"), "\(full)")
            #expect(full.contains("database or disk is full"), "the cause as SQLite gave it: \(full)")
            #expect(full.contains("Fix: free space on the filesystem holding \(sandbox.home)"), "\(full)")
            #expect(read("integrity.txt") == "ok\nok\n")
            #expect(read("counts.txt") == "0\n10000\n", "all the ingest's records or none")
            #expect(read("again.status").trimmingCharacters(in: .whitespacesAndNewlines) == "0", "\(read("again.log"))")
        }
    }

    static let ingestModule = """
        name: Ingest
        implementation: {builtin: features.ingest}
        inputs:
          - {name: Features, type: Data}
          - {name: FeatureGroup, type: String}
        outputs:
          - {name: RecordCount, type: Integer}
        """

    /// `kill -9` of `sluice run`/`resume` while a chain of model-registration steps runs, 20 times, each kill a
    /// random 0–30 ms after a step was shown running (so some land between the registration's commit and the
    /// step's): the store passes `PRAGMA integrity_check`, and each step's version is registered exactly once.
    @Test func killedRegistrationStepRegistersOnce() async throws {
        // Blocks for long on the processes it starts: off the threads the async tests share.
        try await onOwnThread {
            let sandbox = try Sandbox()
            try sandbox.write("model.json", #"{"weights": [1, 2, 3]}"#)
            try sandbox.write(
                "register.yaml",
                """
                name: Register
                implementation: {builtin: registry.register}
                inputs:
                  - {name: Model, type: ModelUri}
                  - {name: ModelPackageGroup, type: String}
                  - {name: ApprovalStatus, type: String}
                outputs:
                  - {name: ModelVersion, type: String}
                """)
            let steps = 60
            var pipeline = "name: Registrations\nsteps:\n"
            for index in 0..<steps {
                pipeline += "  - name: R\(index)\n    module: Register\n"
                pipeline +=
                    "    inputs: {Model: \(sandbox.folder)/model.json, ModelPackageGroup: G, ApprovalStatus: Approved}\n"
                if index > 0 { pipeline += "    after: [R\(index - 1)]\n" }
            }
            try sandbox.write("pipeline.yaml", pipeline)
            // Each kill lands within a registration step's few milliseconds after it was shown running. A busy
            // machine may run a resumed driver through many steps before its kill, finishing in fewer kills.
            let (_, kills, finished) = try sandbox.runKillingTheDriver(
                kills: 20, delays: 0...15_000, afterShowing: "running")
            #expect(finished)
            #expect(kills >= 10)
            let check = try Self.shell(sandbox, "\(Self.integrityCheck) \"$SLUICE_HOME/sluice.db\" > integrity.txt")
            #expect(check == 0)
            #expect(sandbox.read("integrity.txt") == "ok\n")
            let store = try SQLiteStore(path: "\(sandbox.home)/sluice.db")
            let execution = try #require(try store.executions().first)
            #expect(try store.executions().count == 1)
            #expect(execution.status == .succeeded)
            let versions = try store.modelVersions(group: "G")
            #expect(versions.map(\.version) == Array(1...steps), "one version per step, numbered without gaps")
            #expect(Set(versions.compactMap(\.stepName)) == Set((0..<steps).map { "R\($0)" }))
            #expect(versions.allSatisfy { $0.executionID == execution.id })
            // A version kept in an earlier attempt's folder than the step's last attempt: that attempt was killed
            // between its registration's commit and the step's, and the re-run got its version back.
            let lastAttempts = Dictionary(
                uniqueKeysWithValues: try store.steps(executionID: execution.id).map { ($0.name, $0.attempt) })
            let reused = versions.filter { version in
                guard let step = version.stepName, let last = lastAttempts[step] else { return false }
                return !version.artifactPath.contains("/\(step)/\(last)/")
            }
            let rerun = try store.attempts(executionID: execution.id).filter { $0.number > 1 }.count
            print(
                "registration kill -9: \(kills) kills, \(rerun) step attempts re-run, \(reused.count) of them after "
                    + "their registration's commit, \(versions.count) versions")
        }
    }

    /// Another process holds SQLite's write lock for 10 s: `sluice run` waits for it (busy timeout), then
    /// succeeds; the database is intact.
    @Test func writersWaitForAnotherProcessHoldingTheWriteLock() async throws {
        // Blocks for long on the processes it starts: off the threads the async tests share.
        try await onOwnThread {
            let sandbox = try Sandbox()
            try sandbox.write(
                "echo.yaml",
                "name: Echo\nimplementation: {builtin: echo}\ninputs: [{name: value, type: String}]\n"
                    + "outputs: [{name: value, type: String}]\n")
            try sandbox.write(
                "pipeline.yaml", "name: Hello\nsteps:\n  - name: Say\n    module: Echo\n    inputs: {value: hi}\n")
            let (first, output) = try sandbox.run(["run", "pipeline.yaml"])
            #expect(first == 0, "\(output)")
            let holder = Process()
            holder.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            holder.arguments = [
                "-c",
                """
                import sqlite3, sys, time
                db = sqlite3.connect(sys.argv[1], isolation_level=None)
                db.execute("BEGIN IMMEDIATE")
                open(sys.argv[2], "w").write("locked")
                time.sleep(10)
                open(sys.argv[3], "w").write("released")
                db.execute("COMMIT")
                """,
                "\(sandbox.home)/sluice.db", "\(sandbox.folder)/locked", "\(sandbox.folder)/released",
            ]
            holder.standardOutput = FileHandle.nullDevice
            holder.standardError = FileHandle.nullDevice
            try holder.run()
            defer {
                if holder.isRunning { kill(holder.processIdentifier, SIGKILL) }
                holder.waitUntilExit()
            }
            for _ in 0..<500 where !FileManager.default.fileExists(atPath: "\(sandbox.folder)/locked") {
                usleep(20_000)
            }
            #expect(FileManager.default.fileExists(atPath: "\(sandbox.folder)/locked"))
            let (second, log) = try sandbox.run(["run", "pipeline.yaml"])
            #expect(second == 0, "\(log)")
            // The run could only finish after the lock was released.
            #expect(FileManager.default.fileExists(atPath: "\(sandbox.folder)/released"))
            holder.waitUntilExit()
            #expect(holder.terminationStatus == 0)
            let store = try SQLiteStore(path: "\(sandbox.home)/sluice.db")
            #expect(try store.executions().count == 2)
            #expect(try store.executions().allSatisfy { $0.status == .succeeded })
            let check = try Self.shell(sandbox, "\(Self.integrityCheck) \"$SLUICE_HOME/sluice.db\" > integrity.txt")
            #expect(check == 0)
            #expect(
                String(
                    decoding: FileManager.default.contents(atPath: "\(sandbox.folder)/integrity.txt")!, as: UTF8.self)
                    == "ok\n")
        }
    }
}
