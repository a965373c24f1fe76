import Foundation
import SluiceCore

// Map steps: the task runs once per item, at most `maxConcurrency` at a time; items an earlier attempt finished are
// reused.
extension ExecutionEngine {
    func runMap(
        _ step: Step, _ spec: MapSpec, attempt: Int, pipeline: Pipeline, resolver: ReferenceResolver,
        observer: any ExecutionObserver
    ) async -> Completion {
        var items: [JSONValue] = []
        do {
            switch spec.items {
            case .list(let binding):
                let value = try Self.value(of: binding, resolver: resolver)
                guard let list = value.array else {
                    return Completion(
                        outcome: .failed(
                            StepFailure(ErrorName.mapItems, cause: "items are \(value.typeName), not a list")))
                }
                items = list
            case .files(let binding, let glob):
                guard case .string(let folder) = try Self.value(of: binding, resolver: resolver) else {
                    return Completion(outcome: .failed(StepFailure(ErrorName.mapItems, cause: "folder is not a path")))
                }
                var isFolder: ObjCBool = false
                guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
                    let what = FileManager.default.fileExists(atPath: folder) ? "is not a folder" : "does not exist"
                    return Completion(
                        outcome: .failed(
                            StepFailure(
                                ErrorName.mapItems,
                                cause: "step '\(step.name)': the folder of files to map over \(folder) \(what); "
                                    + "create it or pass another folder")))
                }
                let names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
                items = names.filter { glob == nil || fnmatch(glob!, $0, 0) == 0 }.map { .string("\(folder)/\($0)") }
            }
        } catch {
            return Completion(outcome: .failed(StepFailure(ErrorName.mapItems, cause: "\(error)")))
        }
        let width = spec.maxConcurrency > 0 ? spec.maxConcurrency : configuration.maxParallel
        var results = [JSONValue](repeating: .null, count: items.count)
        var failure: StepFailure?
        let allItems = items
        // Iterations finished by an earlier attempt (before a crash, or a redrive) are reused, not run again.
        let executionID = resolver.executionID
        let hashes = items.map { "sha256:" + SHA256.hex($0.canonicalJSON) }
        let stored = (try? store.mapItems(executionID: executionID, step: step.name)) ?? [:]
        var remaining: [Int] = []
        for index in items.indices {
            if let record = stored[index], record.itemHash == hashes[index] {
                results[index] = .object(record.outputs)
            } else {
                remaining.append(index)
            }
        }
        let reused = items.count - remaining.count
        if reused > 0 { observer.notify(.mapProgress(step: step.name, done: reused, total: items.count)) }
        await withTaskGroup(of: (Int, Completion).self) { group in
            var position = 0
            var done = reused
            func add() {
                let index = remaining[position]
                position += 1
                group.addTask {
                    (
                        index,
                        await self.runTask(
                            step, spec.task, attempt: attempt, pipeline: pipeline, resolver: resolver,
                            item: allItems[index], workSuffix: "item-\(index)", observer: observer)
                    )
                }
            }
            while position < min(width, remaining.count) { add() }
            for await (index, completion) in group {
                done += 1
                switch completion.outcome {
                case .succeeded(let outputs, _, _):
                    results[index] = .object(outputs)
                    var changes = ExecutionChanges(executionID: executionID, now: clock.now)
                    changes.mapItems.append(
                        MapItemRecord(
                            step: step.name, index: index, itemHash: hashes[index], attempt: attempt, outputs: outputs))
                    do {
                        try store.apply(changes)
                    } catch {
                        failure = failure ?? StepFailure("Sluice.InfrastructureFault", cause: "\(error)")
                    }
                case .failed(let error): failure = failure ?? error
                case .cancelled: failure = failure ?? StepFailure("Sluice.Cancelled", cause: "cancelled")
                }
                observer.notify(.mapProgress(step: step.name, done: done, total: items.count))
                if failure == nil, position < remaining.count { add() }
            }
        }
        if let failure { return Completion(outcome: .failed(failure)) }
        return Completion(outcome: .succeeded(["results": .array(results)]))
    }

    static func value(of binding: Binding, resolver: ReferenceResolver) throws -> JSONValue {
        switch binding {
        case .literal(let value): value
        case .reference(let reference): try resolver.resolve(reference, item: nil)
        case .template(let template): .string(try template.render { try resolver.resolve($0, item: nil) })
        }
    }
}
