import Dispatch
import Foundation
import Synchronization

/// Attempt folder trees for command steps made in advance, each moved into place with rename(2).
///
/// An attempt's script-mode folders and files cost one new inode each, and on a busy ext4 volume a new inode costs
/// 150–540 µs; a tree made while other steps run costs the step one or two directory-entry updates instead.
/// Trees live under `root/<pid>-<n>/`: each is a shell folder holding `a/` (the attempt tree). For a new step `a` is
/// renamed after the attempt and the shell becomes the step folder; when the step folder exists, `a` alone moves. The pool keeps
/// `capacity` trees, refilled on a background queue after each take. A new pool removes the trees of processes that
/// are gone (a crash leaves at most `capacity` + 1 per pool); a pool's own trees are removed when the process exits.
public final class AttemptFolderPool: Sendable {
    /// The folders and empty files every command attempt gets, relative to its attempt folder.
    static let folders = ["model", "output", "output/data", "input", "input/config"]
    static let files = ["input/config/hyperparameters.json", "stdout.log", "stderr.log"]

    /// Where this pool's trees are.
    public let directory: String
    let root: String
    let capacity: Int
    private let queue = DispatchQueue(label: "sluice.attempt-folder-pool", qos: .utility)
    private let state = Mutex(State())

    struct State {
        var started = false
        var closed = false
        var refilling = false
        var ready: [Int] = []
        var emptyShells: [Int] = []
        var next = 0
        var taken = 0
        var missed = 0
    }

    /// How many attempts got a ready tree, and how many made their folders themselves.
    public var counts: (taken: Int, missed: Int) { state.withLock { ($0.taken, $0.missed) } }

    /// A pool under `root` (on the same volume as the attempt folders), holding up to `capacity` trees.
    public init(root: String, capacity: Int = 4) {
        self.root = root
        let number = Self.created.withLock { count in
            count += 1
            return count
        }
        // One folder per pool: two pools of one process never remove each other's trees.
        self.directory = "\(root)/\(getpid())-\(number)"
        self.capacity = capacity
    }

    /// Moves a ready tree to `work` (its step folder too when missing); false when none is ready or it could not be
    /// moved, and the caller makes the folders itself. Starts the pool on first use and refills it after each take.
    public func take(into work: String) -> Bool {
        let (taken, start) = state.withLock { state -> (Int?, Bool) in
            guard !state.closed else { return (nil, false) }
            let start = !state.started
            state.started = true
            return (state.ready.popLast(), start)
        }
        if start { Self.register(self) }
        defer { refill(cleanFirst: start) }
        let placed = place(taken, into: work)
        state.withLock { placed ? ($0.taken += 1) : ($0.missed += 1) }
        return placed
    }

    /// Each rename leaves a complete state: a kill between them leaves the tree in the pool's folder, never a
    /// half-moved tree in a step folder.
    private func place(_ taken: Int?, into work: String) -> Bool {
        guard let taken, let slash = work.lastIndex(of: "/") else { return false }
        let shell = "\(directory)/\(taken)"
        var tree = "\(shell)/a"
        let parent = String(work[..<slash])
        if access(parent, F_OK) != 0 {
            // A new step: name the tree after the attempt, then the shell becomes the step folder.
            let named = "\(shell)/\(work[work.index(after: slash)...])"
            guard rename(tree, named) == 0 else { return discard(shell) }
            tree = named
            var moved = rename(shell, parent) == 0
            if !moved, errno == ENOENT, let up = parent.lastIndex(of: "/") {
                // A new execution: its folder is made once, then the shell moves.
                if (try? makeDirectory(String(parent[..<up]))) != nil { moved = rename(shell, parent) == 0 }
            }
            if moved { return true }
        }
        // The step folder exists (a retry, a map item, or another attempt made it first): move the tree alone.
        if rename(tree, work) == 0 {
            state.withLock { $0.emptyShells.append(taken) }
            return true
        }
        return discard(shell)
    }

    private func discard(_ shell: String) -> Bool {
        queue.async { try? FileManager.default.removeItem(atPath: shell) }
        return false
    }

    /// Waits until the background refill is idle (the pool full, or closed).
    public func waitForRefill() { queue.sync {} }

    /// Stops refilling and removes this process's trees.
    public func removeAll() {
        state.withLock { $0.closed = true }
        queue.sync {}
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func refill(cleanFirst: Bool) {
        let go = state.withLock { state -> Bool in
            guard !state.refilling, !state.closed, state.ready.count < capacity else { return false }
            state.refilling = true
            return true
        }
        guard go else { return }
        queue.async { [self] in
            if cleanFirst { removeStale() }
            while true {
                let next = state.withLock { state -> (number: Int, reuse: Bool)? in
                    guard !state.closed, state.ready.count < capacity else {
                        state.refilling = false
                        return nil
                    }
                    if let shell = state.emptyShells.popLast() { return (shell, true) }
                    state.next += 1
                    return (state.next, false)
                }
                guard let next else { return }
                let made = makeTree("\(directory)/\(next.number)", shellExists: next.reuse)
                state.withLock { state in
                    if made { state.ready.append(next.number) } else { state.refilling = false }
                }
                if !made { return }
            }
        }
    }

    /// One shell with its attempt tree; plain mkdir/open, never creating `directory` (so nothing is made after
    /// `removeAll`).
    private func makeTree(_ shell: String, shellExists: Bool) -> Bool {
        if !shellExists, mkdir(shell, 0o755) != 0 { return false }
        let tree = "\(shell)/a"
        guard mkdir(tree, 0o755) == 0 || errno == EEXIST else { return false }
        for folder in Self.folders where mkdir("\(tree)/\(folder)", 0o755) != 0 && errno != EEXIST { return false }
        for file in Self.files {
            let descriptor = open("\(tree)/\(file)", O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else { return false }
            close(descriptor)
        }
        return true
    }

    /// Removes the trees of processes that are gone, then makes this pool's folder.
    private func removeStale() {
        let manager = FileManager.default
        for name in (try? manager.contentsOfDirectory(atPath: root)) ?? [] {
            guard let pid = name.split(separator: "-").first.flatMap({ pid_t($0) }), pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH {
                try? manager.removeItem(atPath: "\(root)/\(name)")
            }
        }
        try? makeDirectory(directory)
    }

    private static let live = Mutex<[AttemptFolderPool]>([])
    private static let created = Mutex(0)

    /// Remembers a started pool so that its trees are removed when the process exits normally.
    private static func register(_ pool: AttemptFolderPool) {
        let first = live.withLock { pools in
            pools.append(pool)
            return pools.count == 1
        }
        if first {
            atexit {
                for pool in AttemptFolderPool.live.withLock({ $0 }) { pool.removeAll() }
            }
        }
    }
}
