import Foundation
public import SluiceCore

/// Lets a step's process outlive the Sluice process that started it, and be adopted by the next one.
///
/// A supervised program runs as the child of a small `sh` that first writes its own pid to `sluice-supervisor.pid`
/// in the work directory, then runs the program and writes its exit status to `sluice-exit-status`. The shell leads
/// the step's process group. When the driving Sluice process dies, the group keeps running; whoever takes the execution over finds the group (committed with the
/// attempt, or from the pid file), waits for the shell to end and reads the exit status, instead of starting a
/// second attempt beside the first.
enum Supervisor {
    static let pidFile = "sluice-supervisor.pid"
    static let exitStatusFile = "sluice-exit-status"

    // Shell built-ins only (no `mv`: one fork per step is the whole cost). Each file is one small write; the exit
    // status is read only once the shell has exited, so it is never seen half-written.
    static let script = """
        d=$1; shift
        echo $$ > "$d/\(pidFile)" || exit 125
        "$@"
        c=$?
        echo "$c" > "$d/\(exitStatusFile)"
        exit "$c"
        """

    static func wrap(_ arguments: [String], directory: String) -> [String] {
        ["/bin/sh", "-c", script, "sluice-supervisor", directory] + arguments
    }

    /// The exit status the supervisor saved in `directory`, if the program has ended.
    static func savedExitStatus(in directory: String) -> Int32? {
        guard let data = FileManager.default.contents(atPath: "\(directory)/\(exitStatusFile)") else { return nil }
        return Int32(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// The process group of an interrupted attempt: the committed one, else the one the supervisor's pid file names
    /// if that process still runs in `workDirectory` (a pid file from a process since gone, or a reused pid, is not).
    static func resolve(_ process: AttemptProcess) -> AttemptProcess? {
        if process.group > 0 { return process }
        guard let data = FileManager.default.contents(atPath: "\(process.workDirectory)/\(pidFile)"),
            let pid = Int32(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)),
            pid > 0
        else { return nil }
        let cwd = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd")) ?? ""
        guard realpath(cwd) == realpath(process.workDirectory) else {
            // Not running there any more: the group is gone unless a member outlived its leader.
            return AttemptProcess(group: pid, startTime: UInt64.max, workDirectory: process.workDirectory)
        }
        return AttemptProcess(
            group: pid, startTime: ProcessRunner.startTime(of: pid) ?? 0, workDirectory: process.workDirectory)
    }

    private static func realpath(_ path: String) -> String {
        URL(fileURLWithPath: path).resolvingSymlinksInPath().path
    }
}

extension ProcessRunner {
    /// The start time of process `pid` in clock ticks since boot (`/proc/<pid>/stat`, field 22).
    public static func startTime(of pid: Int32) -> UInt64? {
        guard let fields = statFields(pid), fields.count > 19 else { return nil }
        return UInt64(fields[19])
    }

    /// The fields of `/proc/<pid>/stat` after the command name: state, ppid, pgrp, …
    static func statFields(_ pid: Int32) -> [Substring]? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/stat") else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        guard let close = text.lastIndex(of: ")") else { return nil }
        return text[text.index(after: close)...].split(separator: " ")
    }

    /// Whether the leader of `process`'s group is the very process that was recorded and has not exited.
    static func leaderIsRunning(_ process: AttemptProcess) -> Bool {
        guard let fields = statFields(process.group), fields.count > 19, fields[0] != "Z" else { return false }
        return process.startTime == 0 || UInt64(fields[19]) == process.startTime
    }

    /// Pids of live (not zombie) processes in process group `group`.
    static func liveMembers(of group: Int32) -> [Int32] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return names.compactMap { name -> Int32? in
            guard let pid = Int32(name), let fields = statFields(pid), fields.count > 2, fields[0] != "Z",
                Int32(fields[2]) == group
            else { return nil }
            return pid
        }
    }

    /// Kills every process of the group and returns once none is alive (or after `seconds`); whether any was.
    @discardableResult
    static func killGroup(_ group: Int32, seconds: Double = 10) -> Bool {
        guard !liveMembers(of: group).isEmpty else { return false }
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            kill(-group, SIGKILL)
            usleep(10_000)
        } while !liveMembers(of: group).isEmpty && Date() < deadline
        return true
    }

    /// Decides the fate of an interrupted attempt's process (see `StepExecutor.takeOver`): adopted when it is a
    /// supervised process still running, or one that ended with its exit status saved; otherwise its group is
    /// killed and gone before this returns.
    public static func takeOver(_ process: AttemptProcess, adoptable: Bool) -> AttemptTakeover {
        guard let process = Supervisor.resolve(process) else { return .gone }
        let supervised = FileManager.default.fileExists(atPath: "\(process.workDirectory)/\(Supervisor.pidFile)")
        if leaderIsRunning(process) {
            if adoptable, supervised { return .adopted }
            return killGroup(process.group) ? .killed : .gone
        }
        // The leader is gone (or its pid now belongs to another process, which must not be touched).
        if adoptable, Supervisor.savedExitStatus(in: process.workDirectory) != nil { return .adopted }
        if let fields = statFields(process.group), fields[0] != "Z" { return .gone }
        return killGroup(process.group) ? .killed : .gone
    }

    /// Waits for an adopted process's supervisor to end, and returns the exit status it saved (nil: it was killed
    /// before it could save one). Cancelling kills the whole group.
    public static func follow(_ process: AttemptProcess) async -> Exit? {
        guard let process = Supervisor.resolve(process) else {
            return nil
        }
        let group = process.group
        let ended = await withTaskCancellationHandler {
            while leaderIsRunning(process) {
                do {
                    try await Task.sleep(nanoseconds: 20_000_000)
                } catch {
                    return false
                }
            }
            return true
        } onCancel: {
            kill(-group, SIGKILL)
        }
        guard ended else {
            killGroup(group)
            return nil
        }
        return Supervisor.savedExitStatus(in: process.workDirectory).map { Exit(status: $0, signal: nil) }
    }
}
