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
/// Each `state` event carries the execution's status, every step's status and label, every attempt (without its
/// running duration), the events recorded after the last one sent, and what the attempts' logs gained (the first
/// event carries each log's tail, replacing what the page showed). Its `id` is the sequence of the last execution
/// event sent so far: a browser reconnecting sends it back as `Last-Event-ID`, which then counts instead of `after`,
/// so no event reaches the page twice. The store and the logs are read every `streamInterval` (the store is the one
/// truth, whichever process drives the execution); an event is sent only when something changed, and the stream ends
/// once the execution has finished.
extension ConsoleRoutes {
    func stream(executionID id: String, after: Int64) -> Response {
        let follower = ExecutionFollower(
            routes: self, id: id, sequence: after,
            logs: AttemptLogs(executionsPath: configuration.executionsPath, executionID: id))
        return Self.eventStream(follower, clock: clock, interval: configuration.streamInterval)
    }

    /// A server-sent event stream: every `interval`, `follower` gives the next event (nil when nothing changed) and
    /// whether the stream is over. A comment every 10 s of quiet keeps proxies from closing the connection; the stream
    /// ends after 10 minutes (browsers reconnect) or when the server stops.
    static func eventStream(_ follower: some StreamFollower, clock: any EngineClock, interval: Double) -> Response {
        var headers = securityHeaders
        headers[.contentType] = "text/event-stream; charset=utf-8"
        let body = ResponseBody { writer in
            var follower = follower
            var quiet = 0.0
            let started = clock.now
            try await writer.write(ByteBuffer(string: "retry: 1000\n\n"))
            while !Task.isCancelled, !Task.isShuttingDownGracefully, clock.now - started < 600 {
                let (event, finished) = try follower.poll(now: clock.now)
                if let event {
                    try await writer.write(ByteBuffer(string: event))
                    quiet = 0
                } else if quiet >= 10 {
                    try await writer.write(ByteBuffer(string: ": still following\n\n"))
                    quiet = 0
                }
                if finished { break }
                try await clock.sleep(seconds: interval)
                quiet += interval
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    /// What the page shows of an execution's state, to tell whether it changed.
    static func snapshot(_ record: ExecutionRecord, _ steps: [StepRecord], _ attempts: [AttemptRecord]) -> String {
        ([record.status.rawValue] + steps.map { "\($0.name)\u{1}\($0.status.rawValue)\u{1}\(label($0))" }
            + attempts.map { "\($0.step)\u{1}\($0.number)\u{1}\($0.status.rawValue)" })
            .joined(separator: "\u{2}")
    }

    /// One `state` event, with `id` the sequence of the last execution event sent so far.
    static func stateEvent(
        id: Int64, _ record: ExecutionRecord, _ steps: [StepRecord], _ attempts: [AttemptRecord],
        _ events: [ExecutionEvent], _ logs: [AttemptLogs.Chunk]
    ) -> String {
        let state: JSONValue = .object([
            "status": .string(record.status.rawValue),
            "finished": .bool(record.status.isFinished),
            "steps": .array(
                steps.map {
                    .object([
                        "name": .string($0.name), "status": .string($0.status.rawValue), "label": .string(label($0)),
                    ])
                }),
            "attempts": .array(attempts.map { .object(Self.attempt($0).mapValues(JSONValue.string)) }),
            "events": .array(
                events.map { event in
                    .object(
                        Self.event(event).compactMapValues { value in
                            (value as? String).map(JSONValue.string)
                        })
                }),
            "logs": .array(
                logs.map {
                    .object([
                        "key": .string($0.key), "step": .string($0.step), "attempt": .int($0.attempt),
                        "file": .string($0.file), "text": .string($0.text), "replace": .bool($0.replaces),
                    ])
                }),
        ])
        return "id: \(id)\nevent: state\ndata: \(state.canonicalJSON)\n\n"
    }
}

/// What a server-sent event stream follows.
protocol StreamFollower: Sendable {
    /// The next event's text (nil when nothing changed), and whether the stream is over.
    mutating func poll(now: Double) throws -> (event: String?, finished: Bool)
}

/// One execution: its state, new events and log text.
struct ExecutionFollower: StreamFollower {
    let routes: ConsoleRoutes
    let id: String
    /// The last event sent.
    var sequence: Int64
    var logs: AttemptLogs
    var lastSnapshot = ""

    mutating func poll(now: Double) throws -> (event: String?, finished: Bool) {
        guard let record = try routes.store.execution(id: id) else { return ("event: missing\ndata: {}\n\n", true) }
        let steps = try routes.shownSteps(executionID: id)
        let events = try routes.store.events(executionID: id, after: sequence)
        let attempts = try routes.store.attempts(executionID: id)
        let chunks = logs.read(attempts)
        let snapshot = ConsoleRoutes.snapshot(record, steps, attempts)
        guard snapshot != lastSnapshot || !events.isEmpty || !chunks.isEmpty else {
            return (nil, record.status.isFinished)
        }
        lastSnapshot = snapshot
        sequence = events.last?.sequence ?? sequence
        return (
            ConsoleRoutes.stateEvent(id: sequence, record, steps, attempts, events, chunks), record.status.isFinished
        )
    }
}
