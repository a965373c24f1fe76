import Foundation
import SluiceServing
import Testing

@Suite struct AccessTests {
    @Test func generatedKeysAreStoredOnlyAsHashes() throws {
        let (key, record) = APIKey.generate(name: "ci")
        #expect(key.hasPrefix("sk_") && key.count == 35)
        #expect(record.hash == APIKey.hash(key) && record.hash.count == 32)
        #expect(!String(describing: record).contains(key.dropFirst(3)))  // the secret is not kept anywhere
        let keyring = APIKeyring([record])
        #expect(try keyring.authenticate(key).id == record.id)
        #expect(APIKey.generate(name: "other").key != key)
    }

    @Test func missingUnknownAndRevokedKeysAreRefused() throws {
        let (key, record) = APIKey.generate(name: "ci")
        let keyring = APIKeyring([record])
        #expect(throws: ServingError(.missingKey, "Missing API key; send it in the x-api-key header.")) {
            try keyring.authenticate(nil)
        }
        do {
            _ = try keyring.authenticate(key + "x")
            Issue.record("an unknown key was accepted")
        } catch {
            #expect(error.code == .invalidKey)
        }
        #expect(keyring.revoke(id: record.id))
        do {
            _ = try keyring.authenticate(key)
            Issue.record("a revoked key was accepted")
        } catch {
            #expect(error.code == .invalidKey && error.message.contains("revoked"))
        }
    }

    @Test func constantTimeComparison() {
        #expect(APIKey.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!APIKey.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        #expect(!APIKey.constantTimeEqual([1, 2, 3], [1, 2]))
    }

    @Test func tokenBucketAllowsBurstThenRate() {
        var bucket = TokenBucket(rate: 10, burst: 5, now: 100)
        let first = (0..<7).map { _ in bucket.take(now: 100) }
        #expect(first.prefix(5).allSatisfy { $0 == nil })
        let wait = first[5]!
        #expect(abs(wait - 0.1) < 1e-9)
        // After 1 s: 10 tokens refilled but capped at the burst of 5.
        let later = (0..<6).map { _ in bucket.take(now: 101) }
        #expect(later.filter { $0 == nil }.count == 5)
    }

    @Test func throttledRateMatchesPlanOverASimulatedMinute() throws {
        let meter = UsageMeter()
        let record = APIKeyRecord(id: "k", name: "k", hash: [], plan: UsagePlan(rate: 50, burst: 10))
        var admitted = 0
        // 200 requests per second for 60 s.
        for tick in 0..<12_000 {
            if (try? meter.admit(record, now: 1_000 + Double(tick) * 0.005)) != nil { admitted += 1 }
        }
        // 10 burst + 50/s × 60 s, within ±10 %.
        #expect(abs(Double(admitted) - 3_010) < 301, "admitted \(admitted)")
    }

    @Test func dailyQuotaAnswersWithRetryAfterUntilMidnight() throws {
        let meter = UsageMeter()
        let record = APIKeyRecord(
            id: "k", name: "k", hash: [], plan: UsagePlan(rate: 1_000, burst: 1_000, dailyQuota: 2)
        )
        let noon = 1_763_726_400.0  // 2025-11-21T12:00:00Z
        try meter.admit(record, now: noon)
        try meter.admit(record, now: noon + 1)
        do {
            try meter.admit(record, now: noon + 2)
            Issue.record("the quota was not enforced")
        } catch {
            #expect(error.code == .quotaExceeded)
            #expect(error.retryAfterSeconds == 12 * 3600 - 2)
        }
        try meter.admit(record, now: noon + 12 * 3600)  // next UTC day
    }

    @Test func quotaCountsSurviveARestartOfTheMeter() throws {
        let record = APIKeyRecord(
            id: "k", name: "k", hash: [], plan: UsagePlan(rate: 1_000, burst: 1_000, dailyQuota: 3, monthlyQuota: 5)
        )
        let noon = 1_763_726_400.0  // 2025-11-21T12:00:00Z
        let first = UsageMeter()
        try first.admit(record, now: noon)
        try first.admit(record, now: noon + 1)
        let kept = first.takeChanges()
        #expect(kept.map(\.dayCount) == [2] && kept.map(\.monthCount) == [2])
        #expect(first.takeChanges().isEmpty, "nothing changed since the last call")
        first.keepLater(kept)  // could not be saved (a full disk): taken again, whole
        #expect(first.takeChanges() == kept)
        #expect(first.takeChanges().isEmpty)

        let restarted = UsageMeter()
        restarted.restore(kept)
        try restarted.admit(record, now: noon + 2)
        #expect(throws: ServingError.self) { try restarted.admit(record, now: noon + 3) }
        // The next day the daily count starts again but the month keeps counting: 3 + 2 = the monthly 5.
        try restarted.admit(record, now: noon + 86_400)
        try restarted.admit(record, now: noon + 86_401)
        do {
            try restarted.admit(record, now: noon + 86_402)
            Issue.record("the monthly quota was not enforced after the restore")
        } catch {
            #expect(error.code == .quotaExceeded && error.message.contains("monthly"))
        }
        #expect(restarted.takeChanges().map(\.monthCount) == [5])
    }

    @Test func utcDates() {
        let date = UTCDate(secondsSince1970: 1_709_208_000.25)  // 2024-02-29T12:00:00.250Z
        #expect((date.year, date.month, date.day, date.hour) == (2024, 2, 29, 12))
        #expect(date.iso8601 == "2024-02-29T12:00:00.250Z")
        #expect(UTCDate(secondsSince1970: 0.007).iso8601 == "1970-01-01T00:00:00.007Z")
    }

    /// Inference ids have the random-UUID layout and do not repeat.
    @Test func inferenceIdsAreUniqueVersion4Layout() throws {
        let generator = InferenceIDGenerator()
        let ids = (0..<10_000).map { _ in generator.next() }
        #expect(Set(ids).count == ids.count)
        for id in ids.prefix(100) {
            let uuid = try #require(UUID(uuidString: id), "\(id)")
            #expect(uuid.uuidString.lowercased() == id)
            let parts = id.split(separator: "-")
            #expect(parts.map(\.count) == [8, 4, 4, 4, 12])
            #expect(parts[2].first == "4" && "89ab".contains(parts[3].first!))
        }
        #expect(InferenceIDGenerator().next() != InferenceIDGenerator().next())
    }
}
