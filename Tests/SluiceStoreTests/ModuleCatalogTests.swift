import Foundation
import SluiceCore
import SluiceStore
import Testing

/// The module catalog on a real SQLite file.
@Suite struct ModuleCatalogTests {
    let folder = NSTemporaryDirectory() + "sluice-catalog-\(UUID().uuidString)"

    func open() throws -> SQLiteStore {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return try SQLiteStore(path: "\(folder)/sluice.db")
    }

    func publish(_ store: SQLiteStore, _ spec: String, id: String? = nil) throws -> (CatalogModuleVersion, Bool) {
        let result = try store.publishModule(
            name: "Trainer", id: id, newID: "00000000-0000-4000-8000-000000000001", spec: spec,
            source: folder + "/trainer.yaml", by: "ana", at: 10)
        return (result.version, result.created)
    }

    @Test func twentyConcurrentPublishersGetTwentyDistinctVersions() throws {
        _ = try open()
        // Twenty connections (one store each) on the same file, publishing different content at once.
        let stores = try (0..<20).map { _ in try SQLiteStore(path: "\(folder)/sluice.db") }
        let versions = Versions()
        DispatchQueue.concurrentPerform(iterations: 20) { i in
            let result = try? publish(stores[i], "name: Trainer\ndescription: variant \(i)\n")
            versions.append(result?.0.version ?? -1)
        }
        #expect(versions.values.sorted() == Array(1...20))
        let listed = try stores[0].catalogModules(name: "Trainer")
        #expect(listed.map(\.version) == Array(1...20))
        #expect(Set(listed.map(\.contentHash)).count == 20)
        #expect(Set(listed.map(\.id)) == ["00000000-0000-4000-8000-000000000001"])
    }

    @Test func identicalSpecIsANoOpAndOtherContentANewVersion() throws {
        let store = try open()
        let (first, created) = try publish(store, "name: Trainer\n", id: "123e4567-e89b-12d3-a456-426614174000")
        #expect(created && first.version == 1 && first.id == "123e4567-e89b-12d3-a456-426614174000")
        let (again, createdAgain) = try publish(store, "name: Trainer\n")
        #expect(!createdAgain && again == first)
        let (second, createdSecond) = try publish(store, "name: Trainer\ndescription: v2\n")
        #expect(createdSecond && second.version == 2 && second.id == first.id)
        let deprecated = try store.deprecateModule(name: "Trainer", version: 2, reason: "broken")
        #expect(deprecated.deprecated && deprecated.deprecationReason == "broken")
        #expect(try store.catalogModules(name: nil).map(\.deprecated) == [false, true])
        #expect {
            try store.deprecateModule(name: "Trainer", version: 9, reason: nil)
        } throws: { "\($0)".contains("no version 9") }
    }
}

private final class Versions: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [Int] = []
    var values: [Int] { lock.withLock { stored } }
    func append(_ value: Int) { lock.withLock { stored.append(value) } }
}
