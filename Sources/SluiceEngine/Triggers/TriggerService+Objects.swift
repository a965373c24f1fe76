import Foundation
import SluiceCore
import Synchronization

// Files triggers on an `s3://` prefix: each object directly under it whose name matches the glob fires once per
// content (its ETag), with its URI as the parameter. An object is whole once listed (S3 writes are atomic).
extension TriggerService {
    /// Lists the prefixes of `triggers` (updated by the main loop) until the task is cancelled.
    func watchObjects(_ triggers: ActiveTriggers) async {
        var state = State()
        while !Task.isCancelled {
            for active in triggers.list.withLock({ $0 }) where !Task.isCancelled {
                await pollPrefix(active, &state)
            }
            try? await engine.clock.sleep(seconds: configuration.objectPollSeconds)
        }
    }

    func pollPrefix(_ active: Active, _ state: inout State) async {
        guard case .files(_, let glob) = active.trigger.kind, let prefix = active.objectPrefix else { return }
        let name = active.record.name
        guard let objects = engine.objects else {
            reportOnce(&state, "\(name): no object store to list \(prefix); configure S3 (AWS_ENDPOINT_URL_S3, keys)")
            return
        }
        let listed: [ObjectSummary]
        do {
            listed = try await objects.list(ObjectURI(bucket: prefix.bucket, key: prefix.folderPrefix))
        } catch {
            reportOnce(&state, "\(name): cannot list \(prefix) (\(error)); the trigger tries again")
            return
        }
        let id = active.record.id
        var keys: Set<String> = []
        for object in listed {
            let relative = String(object.uri.key.dropFirst(prefix.folderPrefix.count))
            guard !relative.contains("/"), Self.watches(relative, glob: glob ?? "*") else { continue }
            let key = Self.objectKey(object)
            keys.insert(key)
            if state.handledKeys[id]?.contains(key) == true { continue }
            guard let fired = try? store.hasFired(triggerID: id, key: key) else { continue }
            if fired || fire(active, key: key, scheduledTime: nil, value: object.uri.description, &state) {
                state.handledKeys[id, default: []].insert(key)
            }
        }
        state.handledKeys[id] = state.handledKeys[id]?.intersection(keys)
    }

    /// The firing key of one content of an object: its ETag, or its size and time where the store gives no ETag.
    static func objectKey(_ object: ObjectSummary) -> String {
        if let etag = object.etag { return "object:\(object.uri):etag:\(etag)" }
        return "object:\(object.uri):size:\(object.size):modified:\(object.lastModified ?? "")"
    }
}
