import Foundation
import GRDB
import SluiceStore
import Testing

/// The GRDB writers the store runs on; every store suite runs its tests on each (one conformance suite).
enum StoreWriter: String, CaseIterable, CustomTestStringConvertible {
    /// The real migrations on an in-memory database.
    case memoryQueue
    /// One connection on a file.
    case fileQueue
    /// WAL with concurrent readers, as `sluice` opens its home.
    case filePool

    var testDescription: String { rawValue }

    /// A fresh, migrated store in `folder`.
    func open(in folder: String) throws -> SQLiteStore {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let configuration = SQLiteStore.configured()
        switch self {
        case .memoryQueue:
            return try SQLiteStore(writer: DatabaseQueue(configuration: configuration))
        case .fileQueue:
            return try SQLiteStore(writer: DatabaseQueue(path: folder + "/queue.db", configuration: configuration))
        case .filePool:
            return try SQLiteStore(path: folder + "/sluice.db")
        }
    }
}
