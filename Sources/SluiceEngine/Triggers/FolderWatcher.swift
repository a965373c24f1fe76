import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What the kernel said about a file in a watched folder since the service last looked.
enum FileEvent: Equatable, Sendable {
    /// Renamed or moved into the folder: complete at once (the `.tmp`/rename convention).
    case renamedIn
    /// Its writer closed it.
    case closed
    /// Created or written to: a writer has it open.
    case written
    /// The kernel dropped events: what is known about every file is lost.
    case overflow
}

/// One event: `name` in `folder` (as given to `FolderWatcher.watch`).
struct FolderEvent: Sendable {
    var folder: String
    var name: String
    var event: FileEvent
}

/// Tells the trigger service at once when a file in a watched folder is renamed in, written or closed (inotify on
/// Linux), and rings `wake` so it looks without waiting for its next poll. Where inotify is missing, or a folder
/// cannot be watched, it reports nothing and the service falls back to polling those folders.
final class FolderWatcher: Sendable {
    private struct Shared {
        var descriptor: Int32 = -1
        var folders: [String: Int32] = [:]
        var paths: [Int32: String] = [:]
        var events: [FolderEvent] = []
        var stopped = false
    }

    private let shared = Mutex(Shared())
    private let wake: @Sendable () -> Void

    init(wake: @escaping @Sendable () -> Void) {
        self.wake = wake
        #if os(Linux)
            let descriptor = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
            guard descriptor >= 0 else { return }
            shared.withLock { $0.descriptor = descriptor }
            let thread = Thread { [self] in readEvents(descriptor) }
            thread.name = "sluice-folder-watcher"
            thread.start()
        #endif
    }

    /// Watches exactly `folders` from now on; returns the ones watched (the others must be polled).
    @discardableResult
    func watch(_ folders: Set<String>) -> Set<String> {
        #if os(Linux)
            return shared.withLock { shared in
                guard shared.descriptor >= 0, !shared.stopped else { return [] }
                for (folder, watch) in shared.folders where !folders.contains(folder) {
                    inotify_rm_watch(shared.descriptor, watch)
                    shared.folders[folder] = nil
                    shared.paths[watch] = nil
                }
                let mask = UInt32(IN_MOVED_TO | IN_CLOSE_WRITE | IN_MODIFY | IN_CREATE)
                for folder in folders {
                    // Adding a watch again is cheap and gives a new one when the folder was made anew.
                    let watch = inotify_add_watch(shared.descriptor, folder, mask | UInt32(IN_ONLYDIR))
                    if watch < 0 {
                        if let old = shared.folders.removeValue(forKey: folder) { shared.paths[old] = nil }
                        continue
                    }
                    if let old = shared.folders[folder], old != watch { shared.paths[old] = nil }
                    shared.folders[folder] = watch
                    shared.paths[watch] = folder
                }
                return Set(shared.folders.keys)
            }
        #else
            return []
        #endif
    }

    /// The events since the last call, oldest first.
    func drain() -> [FolderEvent] {
        shared.withLock { shared in
            defer { shared.events.removeAll() }
            return shared.events
        }
    }

    /// Ends the reading thread, which closes the inotify descriptor.
    func stop() {
        shared.withLock { $0.stopped = true }
    }

    #if os(Linux)
        private func readEvents(_ descriptor: Int32) {
            let size = 64 * 1024
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
            defer {
                buffer.deallocate()
                close(descriptor)
            }
            var waiting = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            while !shared.withLock({ $0.stopped }) {
                // A short timeout so `stop` is seen soon; the descriptor is non-blocking.
                guard poll(&waiting, 1, 200) > 0 else { continue }
                let count = read(descriptor, buffer, size)
                guard count > 0 else { continue }
                var batch: [(Int32, String, FileEvent)] = []
                var offset = 0
                while offset + MemoryLayout<inotify_event>.size <= count {
                    let event = buffer.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
                    let nameStart = buffer.advanced(by: offset + MemoryLayout<inotify_event>.size)
                    let name =
                        event.len > 0 ? String(cString: nameStart.assumingMemoryBound(to: CChar.self)) : ""
                    offset += MemoryLayout<inotify_event>.size + Int(event.len)
                    if event.mask & UInt32(IN_Q_OVERFLOW) != 0 {
                        batch.append((-1, "", .overflow))
                    } else if !name.isEmpty, event.mask & UInt32(IN_ISDIR) == 0 {
                        let kind: FileEvent =
                            event.mask & UInt32(IN_MOVED_TO) != 0
                            ? .renamedIn : event.mask & UInt32(IN_CLOSE_WRITE) != 0 ? .closed : .written
                        batch.append((event.wd, name, kind))
                    }
                }
                guard !batch.isEmpty else { continue }
                shared.withLock { shared in
                    for (watch, name, kind) in batch {
                        if kind == .overflow {
                            shared.events.append(FolderEvent(folder: "", name: "", event: .overflow))
                        } else if let folder = shared.paths[watch] {
                            shared.events.append(FolderEvent(folder: folder, name: name, event: kind))
                        }
                    }
                }
                wake()
            }
        }
    #endif
}

/// Wakes a waiting loop early; a ring while nobody waits makes the next wait return at once.
final class Doorbell: Sendable {
    private struct Waiting {
        var rung = false
        var waiter: (id: UInt64, continuation: CheckedContinuation<Void, Never>)?
        var nextID: UInt64 = 0
    }

    private let state = Mutex(Waiting())

    func ring() {
        let waiter = state.withLock { state in
            defer { state.waiter = nil }
            if state.waiter == nil { state.rung = true }
            return state.waiter?.continuation
        }
        waiter?.resume()
    }

    /// Returns when the bell rings, at once if it rang since the last wait, or after `seconds`.
    func wait(seconds: Double) async {
        await withCheckedContinuation { continuation in
            let id: UInt64? = state.withLock { state in
                if state.rung {
                    state.rung = false
                    return nil
                }
                state.nextID += 1
                state.waiter = (state.nextID, continuation)
                return state.nextID
            }
            guard let id else { return continuation.resume() }
            Task {
                try? await Task.sleep(nanoseconds: UInt64(max(0, seconds) * 1e9))
                let timedOut = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
                    guard let waiter = state.waiter, waiter.id == id else { return nil }
                    state.waiter = nil
                    return waiter.continuation
                }
                timedOut?.resume()
            }
        }
    }
}
