import Foundation
import SluiceCore
import SluiceStore
import Testing

@Suite struct FeatureStoreTests {
    let folder = NSTemporaryDirectory() + "sluice-features-\(UUID().uuidString)"

    func open(_ writer: StoreWriter) throws -> SQLiteStore { try writer.open(in: folder) }

    func group(_ name: String, online: Bool = true) -> FeatureGroup {
        FeatureGroup(
            name: name, recordIdentifier: "id", eventTime: "t",
            features: [
                .init(name: "id", type: .string), .init(name: "t", type: .string), .init(name: "x", type: .integral),
            ],
            onlineStore: online, createdAt: 1)
    }

    func record(_ id: String, _ time: String, _ x: Int) -> FeatureRecord {
        FeatureRecord(recordID: id, eventTime: time, features: ["id": .string(id), "t": .string(time), "x": .int(x)])
    }

    @Test(arguments: StoreWriter.allCases) func onlineReadIsTheLatestEventAndOfflineReadsArePointInTime(
        _ writer: StoreWriter
    ) throws {
        let store = try open(writer)
        #expect(try store.createFeatureGroup(group("g")) == group("g"))
        // Creating it again with the same definition is a no-op that keeps the first creation time.
        var later = group("g")
        later.createdAt = 5
        #expect(try store.createFeatureGroup(later).createdAt == 1)
        // Written out of event-time order on purpose.
        let written = try store.putFeatureRecords(
            group: "g",
            records: [record("a", "2020-03-01", 3), record("a", "2020-01-01", 1), record("b", "2020-02-01", 2)],
            now: 2)
        #expect(written == 3)
        #expect(try store.putFeatureRecords(group: "g", records: [record("a", "2020-01-01", 1)], now: 3) == 0)
        #expect(try store.latestFeatureRecord(group: "g", recordID: "a")?.features["x"] == .int(3))
        // Two records of one id at one event time: the last written wins the online read.
        _ = try store.putFeatureRecords(group: "g", records: [record("a", "2020-03-01", 4)], now: 4)
        #expect(try store.latestFeatureRecord(group: "g", recordID: "a")?.features["x"] == .int(4))
        #expect(try store.latestFeatureRecord(group: "g", recordID: "zzz") == nil)

        #expect(
            try store.featureRecords(group: "g", asOf: nil).map(\.features["x"]) == [
                .int(1), .int(3), .int(4), .int(2),
            ])
        let asOf = try store.featureRecords(group: "g", asOf: "2020-02-15")
        #expect(asOf.map(\.recordID) == ["a", "b"] && asOf.map(\.features["x"]) == [.int(1), .int(2)])
        #expect(try store.featureRecords(group: "g", asOf: "2019-12-31").isEmpty)
        #expect(try store.featureGroups().map(\.name) == ["g"])
    }

    @Test(arguments: StoreWriter.allCases) func refusalsNameTheGroupAndTheFix(_ writer: StoreWriter) throws {
        let store = try open(writer)
        _ = try store.createFeatureGroup(group("offline", online: false))
        let offline = #expect(throws: FeatureStoreError.self) {
            try store.latestFeatureRecord(group: "offline", recordID: "a")
        }
        #expect(offline?.description.contains("has no online store") == true)
        let unknown = #expect(throws: FeatureStoreError.self) {
            try store.putFeatureRecords(group: "nope", records: [record("a", "t", 1)], now: 1)
        }
        #expect(unknown?.description.contains("no feature group 'nope'") == true)
        var changed = group("offline", online: true)
        changed.features[2].type = .fractional
        let conflict = #expect(throws: FeatureStoreError.self) { try store.createFeatureGroup(changed) }
        #expect(conflict?.description.contains("already exists with another definition") == true)
        var wrongKey = group("k")
        wrongKey.recordIdentifier = "missing"
        #expect(throws: FeatureStoreError.self) { try store.createFeatureGroup(wrongKey) }
    }
}
