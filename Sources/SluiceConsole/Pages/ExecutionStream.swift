import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle
import SluiceCore
import SluiceEngine
import SluiceStore

/// `GET /console/executions/{id}/events?after=N`: server-sent events that follow an execution.
///
/// Each `state` event carries the execution's status, every step's status and label, and the events recorded after
/// the last one sent. The store is read every `streamInterval` (it is the one truth, whichever process drives the
/// execution); an event is sent only when something changed, a comment every 10 s keeps proxies from closing the
/// connection, and the stream ends once the execution has finished (or after 10 minutes: browsers reconnect).
extension ConsoleRoutes {
    func stream(executionID id: String, after: Int64) -> Response {
        var headers = Self.securityHeaders
        headers[.contentType] = "text/event-stream; charset=utf-8"
        let store = store
        let clock = clock
        let routes = self
        let interval = configuration.streamInterval
        let body = ResponseBody { writer in
            var sequence = after
            var lastSnapshot = ""
            var quiet = 0.0
            let started = clock.now
            try await writer.write(ByteBuffer(string: "retry: 1000\n\n"))
            while !Task.isCancelled, !Task.isShuttingDownGracefully, clock.now - started < 600 {
                guard let record = try store.execution(id: id) else {
                    try await writer.write(ByteBuffer(string: "event: missing\ndata: {}\n\n"))
                    break
                }
                let steps = try routes.shownSteps(executionID: id)
                let events = try store.events(executionID: id, after: sequence)
                let snapshot = Self.snapshot(record, steps)
                if snapshot != lastSnapshot || !events.isEmpty {
                    lastSnapshot = snapshot
                    sequence = events.last?.sequence ?? sequence
                    try await writer.write(ByteBuffer(string: Self.stateEvent(record, steps, events)))
                    quiet = 0
                } else if quiet >= 10 {
                    try await writer.write(ByteBuffer(string: ": still following\n\n"))
                    quiet = 0
                }
                if record.status.isFinished { break }
                try await clock.sleep(seconds: interval)
                quiet += interval
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    /// What the page shows of an execution's state, to tell whether it changed.
    static func snapshot(_ record: ExecutionRecord, _ steps: [StepRecord]) -> String {
        ([record.status.rawValue] + steps.map { "\($0.name)\u{1}\($0.status.rawValue)\u{1}\(label($0))" })
            .joined(separator: "\u{2}")
    }

    /// One `state` event.
    static func stateEvent(_ record: ExecutionRecord, _ steps: [StepRecord], _ events: [ExecutionEvent]) -> String {
        let state: JSONValue = .object([
            "status": .string(record.status.rawValue),
            "finished": .bool(record.status.isFinished),
            "steps": .array(
                steps.map {
                    .object([
                        "name": .string($0.name), "status": .string($0.status.rawValue), "label": .string(label($0)),
                    ])
                }),
            "events": .array(
                events.map { event in
                    .object(
                        Self.event(event).compactMapValues { value in
                            (value as? String).map(JSONValue.string)
                        })
                }),
        ])
        return "event: state\ndata: \(state.canonicalJSON)\n\n"
    }
}
