import Foundation
import SluiceCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

// Files in local folders: complete when renamed in, closed by their writer, or (without the kernel's word) when
// their size and modification time stop changing.
extension TriggerService {
    /// What the kernel said about a file since it was last handled.
    enum FileMark: Equatable {
        case renamedIn
        case closed(at: Double)
        case writing
    }

    /// Records the watcher's events as marks of the files triggers watching their folders.
    func note(_ events: [FolderEvent], _ state: inout State) {
        let now = engine.clock.now
        for event in events {
            let mark: FileMark
            switch event.event {
            case .overflow:
                state.marks.removeAll()  // events were lost: every file is judged by polling again
                continue
            case .renamedIn: mark = .renamedIn
            case .closed: mark = .closed(at: now)
            case .written: mark = .writing
            }
            for active in state.active where active.localFolder == event.folder {
                let path = event.folder.hasSuffix("/") ? event.folder + event.name : event.folder + "/" + event.name
                state.marks[active.record.id, default: [:]][path] = mark
            }
        }
    }

    /// Seconds until the next look: the poll interval, or less when a closed file becomes complete sooner.
    func nextLook(_ state: State) -> Double {
        var next = configuration.pollSeconds
        let now = engine.clock.now
        for marks in state.marks.values {
            for case .closed(let at) in marks.values {
                next = min(next, at + configuration.closedSettleSeconds - now)
            }
        }
        return max(0.001, next)
    }

    func pollFolder(_ active: Active, folder: String, glob: String, _ state: inout State) {
        let id = active.record.id
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else {
            reportOnce(&state, "\(active.record.name): cannot read the folder \(folder); create it or fix 'files:'")
            return
        }
        var seen = state.files[id] ?? [:]
        var marks = state.marks[id] ?? [:]
        var present: Set<String> = []
        for name in names.sorted() where Self.watches(name, glob: glob) {
            let path = folder.hasSuffix("/") ? folder + name : folder + "/" + name
            var info = stat()
            guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            present.insert(path)
            let now = FileSeen(
                size: Int64(info.st_size),
                modified: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec),
                since: engine.clock.now)
            let unchanged = seen[path].map { $0.size == now.size && $0.modified == now.modified } ?? false
            if let mark = marks[path] {
                // The kernel's word decides: renamed in or closed (and left alone) is complete, open is not.
                let complete: Bool
                switch mark {
                case .renamedIn: complete = true
                case .closed(let at): complete = now.since - at >= configuration.closedSettleSeconds
                case .writing: complete = false
                }
                guard complete else {
                    if !unchanged { seen[path] = now }
                    continue
                }
                var handled = now
                handled.handled = fireFile(active, path: path, &state)
                if handled.handled { marks[path] = nil }
                seen[path] = handled
                continue
            }
            guard var before = seen[path], unchanged else {
                seen[path] = now  // new or still changing: look again next time
                continue
            }
            guard !before.handled, now.since - before.since >= configuration.settleSeconds else { continue }
            before.handled = fireFile(active, path: path, &state)
            seen[path] = before
        }
        state.files[id] = seen.filter { present.contains($0.key) }
        state.marks[id] = marks.filter { present.contains($0.key) }
    }

    /// Hidden files and `*.tmp` are being written by convention; the rest must match the glob.
    static func watches(_ name: String, glob: String) -> Bool {
        !name.hasPrefix(".") && !name.hasSuffix(".tmp") && fnmatch(glob, name, 0) == 0
    }

    /// Fires for a complete file unless its content already fired; true when the file needs no further look.
    private func fireFile(_ active: Active, path: String, _ state: inout State) -> Bool {
        guard let data = FileManager.default.contents(atPath: path) else { return false }
        let key = "file:\(path):sha256:\(SHA256.hex(data))"
        return fire(active, key: key, scheduledTime: nil, value: path, &state)
    }
}
