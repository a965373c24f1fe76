import Crypto
import SluiceCore
import Synchronization

/// A stored API key: its SHA-256 hash only, never the key itself.
@MemberwiseInit
public struct APIKeyRecord: Sendable, Equatable {
    /// Public identifier shown by `sluice keys list` (not secret).
    public var id: String
    /// A label chosen by the user.
    public var name: String
    /// SHA-256 of the key's UTF-8 bytes.
    public var hash: [UInt8]
    /// The usage plan applied to requests made with this key; nil = unlimited.
    public var plan: UsagePlan?
    /// Whether the key was revoked.
    public var revoked: Bool = false
    /// The only endpoint the key may call; nil = every endpoint.
    public var endpoint: String?
}

/// Creates and hashes API keys.
public enum APIKey {
    /// SHA-256 of `key`.
    public static func hash(_ key: some StringProtocol) -> [UInt8] {
        var key = String(key)
        return key.withUTF8 { Array(SHA256.hash(data: UnsafeRawBufferPointer($0))) }
    }

    /// Generates a fresh key (to be shown once) and its record (to be stored).
    /// - Parameters:
    ///   - name: label for the key.
    ///   - plan: usage plan for the key.
    public static func generate(name: String, plan: UsagePlan? = nil) -> (key: String, record: APIKeyRecord) {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        let secret = String((0..<32).map { _ in alphabet[Int(generator.next(upperBound: UInt32(alphabet.count)))] })
        let id = "key_" + String((0..<8).map { _ in alphabet[Int(generator.next(upperBound: UInt32(alphabet.count)))] })
        let key = "sk_" + secret
        return (key, APIKeyRecord(id: id, name: name, hash: hash(key), plan: plan))
    }

    /// Compares two byte sequences in time independent of where they differ.
    public static func constantTimeEqual(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }
}

/// The keys a server accepts.
public final class APIKeyring: Sendable {
    private let records: Mutex<[APIKeyRecord]>
    /// Asked for a key the keyring does not hold, before it is refused (a key created since the last reload).
    private let missLookup = Mutex<(@Sendable (_ hash: [UInt8]) -> APIKeyRecord?)?>(nil)

    /// Creates a keyring holding `records`.
    public init(_ records: [APIKeyRecord] = []) {
        self.records = Mutex(records)
    }

    /// Has the keyring ask `lookup` (the store) for a key it does not hold before refusing it, and keep what it
    /// finds, so a key works the moment it is stored.
    public func lookUpMisses(with lookup: @escaping @Sendable (_ hash: [UInt8]) -> APIKeyRecord?) {
        missLookup.withLock { $0 = lookup }
    }

    /// Adds a record.
    public func add(_ record: APIKeyRecord) {
        records.withLock { $0.append(record) }
    }

    /// Marks the key `id` revoked; returns whether it was found.
    @discardableResult
    public func revoke(id: String) -> Bool {
        records.withLock { records in
            guard let index = records.firstIndex(where: { $0.id == id }) else { return false }
            records[index].revoked = true
            return true
        }
    }

    /// Replaces every record at once (a reload from the store); requests see the old or the new set, never a mix.
    public func replaceAll(with newRecords: [APIKeyRecord]) {
        records.withLock { $0 = newRecords }
    }

    /// All records (hashes only).
    public func list() -> [APIKeyRecord] { records.withLock { $0 } }

    /// Returns the record of the presented key, or the error to answer with.
    /// - Parameters:
    ///   - presented: the `x-api-key` header.
    ///   - endpoint: the endpoint called, checked against the key's scope when given.
    public func authenticate(_ presented: String?, endpoint: String? = nil) throws(ServingError) -> APIKeyRecord {
        guard let presented, !presented.isEmpty else {
            throw ServingError(.missingKey, "Missing API key; send it in the x-api-key header.")
        }
        var key = presented
        let digest = key.withUTF8 { SHA256.hash(data: UnsafeRawBufferPointer($0)) }
        var match: APIKeyRecord?
        digest.withUnsafeBytes { digest in
            records.withLock { records in
                for record in records where APIKey.constantTimeEqual(record.hash, digest) { match = record }
            }
        }
        if match == nil, let lookup = missLookup.withLock({ $0 }), let found = lookup(Array(digest)) {
            records.withLock { records in
                if !records.contains(where: { $0.id == found.id }) { records.append(found) }
            }
            match = found
        }
        guard let match else {
            throw ServingError(
                .invalidKey, "The API key in x-api-key is not valid; create one with `sluice keys create`.")
        }
        guard !match.revoked else {
            throw ServingError(
                .invalidKey, "API key \(match.id) was revoked; create a new one with `sluice keys create`.")
        }
        if let scope = match.endpoint, let endpoint, scope != endpoint {
            throw ServingError(
                .invalidKey,
                "API key \(match.id) may only call endpoint '\(scope)'; create a key for '\(endpoint)' with "
                    + "`sluice keys create --endpoint \(endpoint)`.")
        }
        return match
    }
}
