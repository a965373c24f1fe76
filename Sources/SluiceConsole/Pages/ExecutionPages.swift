import Foundation
import HTTPTypes
import Hummingbird
import SluiceCore
import SluiceEngine
import SluiceStore

/// The executions list (filters, paging) and one execution (graph, steps, attempts, events, logs, actions).
extension ConsoleRoutes {
    typealias Page = (title: String, body: String, status: HTTPResponse.Status)

    func executionsPage(_ request: Request, _ visitor: Visitor) throws -> Page {
        let query = request.uri.queryParameters
        let statusText = query.get("status").map { String($0) } ?? ""
        let pipeline = query.get("pipeline").map { String($0) } ?? ""
        let list = "/console/executions"
        guard statusText.isEmpty || ExecutionStatus(rawValue: statusText) != nil else {
            throw ConsoleRefusal.badQuery(
                "status", statusText,
                allowed: "one of " + ExecutionStatus.allCases.map(\.rawValue).joined(separator: ", ")
                    + " (or nothing, for any)", link: list)
        }
        let pipelineNames = try store.pipelineNames()
        guard pipeline.isEmpty || pipelineNames.contains(pipeline) else {
            throw ConsoleRefusal.badQuery(
                "pipeline", pipeline,
                allowed: "the name of a pipeline that ran here: "
                    + (pipelineNames.isEmpty ? "none has yet" : Self.list(pipelineNames)), link: list)
        }
        var listing = ExecutionListing(
            status: ExecutionStatus(rawValue: statusText), pipeline: pipeline.isEmpty ? nil : pipeline,
            limit: configuration.pageSize + 1)
        // The page boundary is the last row of the previous page: `before=<created_at>~<id>`.
        if let before = query.get("before").map({ String($0) }) {
            guard let cut = before.firstIndex(of: "~"), let time = Double(before[..<cut]), time.isFinite else {
                throw ConsoleRefusal.badQuery(
                    "before", before, allowed: "CREATED~ID, the boundary the Older link carries", link: list)
            }
            listing.before = (time, String(before[before.index(after: cut)...]))
        }
        var records = try store.executions(listing)
        let hasMore = records.count > configuration.pageSize
        records = Array(records.prefix(configuration.pageSize))
        let rows: [[String: Any]] = records.map { record in
            [
                "id": record.id, "pipeline": record.pipelineName,
                "pipelineLink": Self.pathEscaped(record.pipelineName), "status": record.status.rawValue,
                "created": Self.time(record.createdAt),
                "duration": Self.duration(from: record.startedAt, to: record.finishedAt, now: clock.now),
            ]
        }
        var filters: [String] = []
        if !statusText.isEmpty { filters.append("status=" + Self.queryEscaped(statusText)) }
        if !pipeline.isEmpty { filters.append("pipeline=" + Self.queryEscaped(pipeline)) }
        var context: [String: Any] = [
            "rows": rows, "hasRows": !rows.isEmpty, "filtered": !filters.isEmpty,
            "statuses": ExecutionStatus.allCases.map { ["name": $0.rawValue, "selected": $0.rawValue == statusText] },
            "pipelines": pipelineNames.map { ["name": $0, "selected": $0 == pipeline] },
        ]
        if hasMore, let last = records.last {
            let boundary = "before=" + Self.queryEscaped("\(last.createdAt)~\(last.id)")
            context["next"] = "/console/executions?" + (filters + [boundary]).joined(separator: "&")
        }
        if listing.before != nil {
            context["first"] = "/console/executions" + (filters.isEmpty ? "" : "?" + filters.joined(separator: "&"))
        }
        return ("Executions", ConsoleTemplates.render(context, "executions"), .ok)
    }

    func executionPage(_ id: String, _ visitor: Visitor) throws -> Page {
        guard let record = try store.execution(id: id) else {
            throw ConsoleRefusal.notFound("No execution '\(id)'; pick one from the executions list.")
        }
        let steps = try shownSteps(executionID: id)
        let attempts = try store.attempts(executionID: id)
        let events = try store.events(executionID: id)
        let pipeline = storedPipeline(hash: record.pipelineHash)
        let now = clock.now
        var context: [String: Any] = [
            "id": record.id, "pipeline": record.pipelineName, "pipelineLink": Self.pathEscaped(record.pipelineName),
            "status": record.status.rawValue, "created": Self.time(record.createdAt),
            "graph": graph(pipeline: pipeline, steps: steps),
            "live": !record.status.isFinished,
            "steps": steps.map { step -> [String: Any] in
                var row: [String: Any] = [
                    "name": step.name, "status": step.status.rawValue, "attempt": step.attempt,
                    "duration": Self.duration(from: step.startedAt, to: step.finishedAt, now: now),
                    "cacheHit": step.cacheHit,
                ]
                if let outputs = step.outputs, !outputs.isEmpty { row["outputs"] = Self.pretty(.object(outputs)) }
                if let error = step.error { row["error"] = error.description }
                return row
            },
            "attempts": attempts.map { attempt -> [String: Any] in
                var row: [String: Any] = Self.attempt(attempt)
                row["duration"] = Self.duration(from: attempt.startedAt, to: attempt.finishedAt, now: now)
                return row
            },
            "events": events.map(Self.event),
            "parameters": record.parameters.keys.sorted().map {
                ["name": $0, "value": record.parameters[$0].map(Self.valueText) ?? ""]
            },
            "hasParameters": !record.parameters.isEmpty,
            "actions": actions(for: record).map {
                ["verb": $0.verb, "label": $0.label, "help": $0.help, "id": record.id] as [String: Any]
            },
            "csrf": sessions.csrfToken(for: visitor.session),
        ]
        if !record.status.isFinished {
            context["liveURL"] =
                "/console/executions/\(Self.pathEscaped(id))/events?after=\(events.last?.sequence ?? 0)"
        }
        if let started = record.startedAt { context["started"] = Self.time(started) }
        if let finished = record.finishedAt { context["finished"] = Self.time(finished) }
        if record.startedAt != nil {
            context["duration"] = Self.duration(from: record.startedAt, to: record.finishedAt, now: now)
        }
        if let error = record.error { context["error"] = error.description }
        var logs = AttemptLogs(executionsPath: configuration.executionsPath, executionID: id)
        let tails = logs.read(attempts)
        context["logs"] = tails.map(Self.log)
        context["hasLogs"] = !tails.isEmpty
        let body = ConsoleTemplates.render(context, "execution")
        return ("Execution \(record.id)", body, .ok)
    }

    /// An execution's steps as the console shows them: a running Approval step whose request waits for a decision
    /// is shown `waiting`.
    func shownSteps(executionID id: String) throws -> [StepRecord] {
        try store.steps(executionID: id).map { step in
            guard step.status == .running, try store.approval(executionID: id, step: step.name)?.decision == .pending
            else { return step }
            var shown = step
            shown.status = .waiting
            return shown
        }
    }

    /// A stored pipeline version, nil when it is missing or no longer decodes.
    func storedPipeline(hash: String) -> Pipeline? {
        guard let definition = try? store.pipelineDefinition(hash: hash) else { return nil }
        return try? JSONDecoder().decode(Pipeline.self, from: Data(definition.utf8))
    }

    /// The graph of an execution: its pipeline's shape, each step coloured by its status.
    func graph(pipeline: Pipeline?, steps: [StepRecord]) -> String {
        var nodes: [String: PipelineGraphSVG.Node] = [:]
        for step in steps {
            nodes[step.name] = .init(name: step.name, status: step.status.rawValue, label: Self.label(step))
        }
        let shape =
            pipeline.map(PipelineGraphSVG.shape)
            ?? steps.enumerated().map { index, step in (step.name, index == 0 ? [] : [steps[index - 1].name]) }
        return PipelineGraphSVG.render(steps: shape, nodes: nodes)
    }

    /// A node's second line: status, attempt, cache.
    static func label(_ step: StepRecord) -> String {
        var label = step.status.rawValue
        if step.attempt > 1 { label += " · attempt \(step.attempt)" }
        if step.cacheHit { label += " · cache hit" }
        return label
    }

    /// Which actions an execution offers now.
    func actions(for record: ExecutionRecord) -> [(verb: String, label: String, help: String)] {
        switch record.status {
        case .queued, .running:
            [
                ("cancel", "Cancel", "Stop the execution: running steps are stopped within a heartbeat"),
                ("resume", "Resume", "Continue it in this server if the process driving it is gone"),
            ]
        case .failed, .cancelled:
            [("retry", "Retry", "Run the steps that did not succeed again, reusing the succeeded ones")]
        case .succeeded: []
        }
    }

    /// Performs a POSTed action and answers with a redirect back to the execution.
    func act(_ verb: String, executionID id: String) async throws -> Response {
        guard let record = try store.execution(id: id) else {
            throw ConsoleRefusal(
                status: .notFound, heading: "No such execution", message: "No execution '\(id)'.",
                link: "/console/executions")
        }
        let page = "/console/executions/\(Self.pathEscaped(id))"
        let offered = actions(for: record).map(\.verb)
        guard offered.contains(verb) else {
            throw ConsoleRefusal(
                status: .conflict, heading: "Nothing was changed",
                message: "Execution \(id) is \(record.status.rawValue): "
                    + (offered.isEmpty ? "it offers no action." : "it offers \(offered.joined(separator: ", ")).")
                    + " '\(verb)' is not one of them.", link: page)
        }
        let done: String
        switch verb {
        case "cancel":
            let status = try store.requestCancel(executionID: id, now: clock.now)
            done = status == .queued ? "Cancelled." : "Cancel requested: running steps stop within a heartbeat."
        case "retry":
            guard let pipeline = storedPipeline(hash: record.pipelineHash) else {
                throw ConsoleRefusal(
                    status: .conflict, heading: "Nothing was changed",
                    message: "Execution \(id)'s pipeline version is missing from the store; it cannot run again.",
                    link: page)
            }
            let reset = try store.steps(executionID: id).filter { $0.status != .succeeded }.map(\.name)
            try store.prepareRetry(executionID: id, steps: reset, now: clock.now)
            engine.host(id, pipeline: pipeline)
            done = "Retrying \(reset.count) step(s)."
        default:
            engine.resumeOrphans()
            done = "Resumed if its process was gone; otherwise its process keeps driving it."
        }
        return Self.redirect(page + "?done=" + Self.queryEscaped(done))
    }

    // MARK: Formatting

    /// An attempt's row; the duration only once it finished (the page shows a running one's as of loading).
    static func attempt(_ attempt: AttemptRecord) -> [String: String] {
        var row = [
            "key": "\(attempt.step)/\(attempt.number)", "step": attempt.step, "number": String(attempt.number),
            "status": attempt.status.rawValue, "started": time(attempt.startedAt),
            "error": attempt.error?.description ?? "",
        ]
        if let finished = attempt.finishedAt {
            row["duration"] = duration(from: attempt.startedAt, to: finished, now: finished)
        }
        return row
    }

    static func log(_ chunk: AttemptLogs.Chunk) -> [String: Any] {
        [
            "key": chunk.key, "step": chunk.step, "attempt": chunk.attempt, "file": chunk.file, "text": chunk.text,
            "replace": chunk.replaces,
        ]
    }

    static func event(_ event: ExecutionEvent) -> [String: Any] {
        [
            "time": time(event.time), "subject": event.step.map { "\($0)#\(event.attempt ?? 0)" } ?? "execution",
            "kind": event.kind, "message": event.message, "sequence": event.sequence,
        ]
    }

    static func time(_ seconds: Double) -> String {
        Date(timeIntervalSince1970: seconds).formatted(
            Date.ISO8601FormatStyle(timeZone: .gmt).year().month().day().dateSeparator(.dash).time(
                includingFractionalSeconds: false
            ).timeSeparator(.colon))
    }

    static func duration(from start: Double?, to end: Double?, now: Double) -> String {
        guard let start else { return "" }
        let seconds = max(0, (end ?? now) - start)
        if seconds < 1 { return "\(Int((seconds * 1000).rounded())) ms" }
        if seconds < 60 { return String(format: "%.1f s", seconds) }
        return "\(Int(seconds) / 60) min \(Int(seconds) % 60) s"
    }

    /// `a, b, c`, or the first 20 and how many more.
    static func list(_ names: [String]) -> String {
        let shown = names.prefix(20).joined(separator: ", ")
        return names.count > 20 ? shown + " and \(names.count - 20) more" : shown
    }

    static func valueText(_ value: JSONValue) -> String {
        value.string ?? value.canonicalJSON
    }

    static func pretty(_ value: JSONValue) -> String { pretty(json: value.canonicalJSON) }

    /// JSON text indented, keys sorted; the text itself when it is not JSON.
    static func pretty(json text: String) -> String {
        let data = Data(text.utf8)
        guard let object = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]),
            let pretty = try? JSONSerialization.data(
                withJSONObject: object,
                options: [.prettyPrinted, .sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes])
        else { return text }
        return String(decoding: pretty, as: UTF8.self)
    }
}
