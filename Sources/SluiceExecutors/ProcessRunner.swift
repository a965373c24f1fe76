import Foundation
public import SluiceCore

/// Spawns a program in its own process group with stdout and stderr going to files, and waits for it.
///
/// Cancelling the waiting task kills the whole group (`kill(-pgid, SIGKILL)`), so a timed-out step leaves no
/// children behind.
public struct ProcessRunner: Sendable {
    public struct Exit: Sendable, Hashable {
        public var status: Int32
        public var signal: Int32?
    }

    public init() {}

    /// Runs `arguments[0]` (looked up on `PATH`) and returns how it exited.
    public func run(
        _ arguments: [String], environment: [String: String], directory: String, stdout: String, stderr: String,
        stdin: String? = nil
    ) async throws -> Exit {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin ?? "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        var arguments = arguments
        if let addChdir = Self.addChdir {
            _ = addChdir(&actions, directory)
        } else {
            arguments = ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", directory] + arguments
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK))
        posix_spawnattr_setpgroup(&attributes, 0)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = posix_spawnp(&pid, arguments[0], &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw ProcessError(program: arguments[0], message: String(cString: strerror(result)))
        }
        let child = pid
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let thread = Thread {
                    var status: Int32 = 0
                    while waitpid(child, &status, 0) < 0, errno == EINTR {}
                    let signalled = status & 0x7f
                    if signalled != 0 {
                        continuation.resume(returning: Exit(status: 128 + signalled, signal: signalled))
                    } else {
                        continuation.resume(returning: Exit(status: (status >> 8) & 0xff, signal: nil))
                    }
                }
                thread.start()
            }
        } onCancel: {
            kill(-child, SIGKILL)
        }
    }

    private typealias AddChdir =
        @convention(c) (
            UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>
        ) -> Int32

    /// glibc's `posix_spawn_file_actions_addchdir_np` (2.29+), looked up at run time: the headers Swift sees may
    /// not declare it.
    private static let addChdir: AddChdir? = {
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addchdir_np") else { return nil }
        return unsafeBitCast(symbol, to: AddChdir.self)
    }()

    /// Whether a program can be found on `PATH`.
    public static func which(_ program: String, environment: [String: String] = ProcessInfo.processInfo.environment)
        -> String?
    {
        if program.contains("/") { return FileManager.default.isExecutableFile(atPath: program) ? program : nil }
        for folder in (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(folder)/\(program)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}

/// A program could not be started at all (not found, not executable): an infrastructure fault.
public struct ProcessError: SluiceError, Hashable, Sendable {
    public var program: String
    public var message: String
    public var code: String { "process-start" }

    public var description: String { "cannot start '\(program)': \(message)" }
}

/// The last lines of a log file, for failure messages.
func logTail(_ path: String, lines: Int = 15) -> String {
    guard let data = FileManager.default.contents(atPath: path) else { return "" }
    let text = String(decoding: data.suffix(8_192), as: UTF8.self)
    return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
        .trimmingCharacters(in: .whitespacesAndNewlines)
}

/// Creates `path` and any missing parents with mkdir(2) — one system call when the parent exists, where
/// FileManager inspects every component.
func makeDirectory(_ path: String) throws {
    if mkdir(path, 0o755) == 0 || errno == EEXIST { return }
    guard errno == ENOENT, let slash = path.lastIndex(of: "/"), slash > path.startIndex else {
        throw DirectoryError(path: path, message: String(cString: strerror(errno)))
    }
    try makeDirectory(String(path[..<slash]))
    if mkdir(path, 0o755) != 0, errno != EEXIST {
        throw DirectoryError(path: path, message: String(cString: strerror(errno)))
    }
}

/// Writes `text` to a new file with plain open/write/close (no sync: an attempt's inputs are re-created if it
/// runs again).
func writeFile(_ path: String, _ text: String) throws {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else { throw DirectoryError(path: path, message: String(cString: strerror(errno))) }
    defer { close(descriptor) }
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        if written < 0, errno == EINTR { continue }
        guard written > 0 else { throw DirectoryError(path: path, message: String(cString: strerror(errno))) }
        bytes = bytes.dropFirst(written)
    }
}

/// A work folder or file could not be created (disk full, permissions): an infrastructure fault.
public struct DirectoryError: SluiceError, Hashable, Sendable {
    public var path: String
    public var message: String
    public var code: String { "directory" }

    public var description: String { "cannot create \(path): \(message)" }
}
