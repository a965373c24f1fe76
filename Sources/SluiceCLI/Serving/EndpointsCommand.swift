import ArgumentParser
import Foundation
import SluiceCore
import SluiceStore

extension DeploymentRecord {
    var json: JSONValue {
        var object: [String: JSONValue] = [
            "id": .int(Int(id)), "endpoint": .string(endpoint), "stage": .string(stage),
            "action": .string(action.rawValue), "by": .string(by), "reason": .string(reason),
            "at": .string(Timestamp.iso8601(time)),
            "variants": .array(
                variants.map {
                    [
                        "name": .string($0.name), "model": .string($0.reference), "group": .string($0.group),
                        "version": .int($0.version), "weight": .double($0.weight), "shadow": .bool($0.isShadow),
                    ]
                }),
        ]
        if let sourceStage { object["from"] = .string(sourceStage) }
        if let restoredID { object["restores"] = .int(Int(restoredID)) }
        return .object(object)
    }

    /// `AllTraffic=G/2 (weight 1), Shadow=G/3 (shadow)`.
    var variantSummary: String {
        variants.map {
            "\($0.name)=\($0.reference) (\($0.isShadow ? "shadow" : "weight \(CLIFormat.number($0.weight))"))"
        }.joined(separator: ", ")
    }

    var line: String {
        var text = "#\(id)  \(Timestamp.iso8601(time))  \(stage)  \(action.rawValue)"
        if let sourceStage { text += " from \(sourceStage)" }
        if let restoredID { text += " (restores #\(restoredID))" }
        text += "  \(variantSummary)  by \(by)"
        if !reason.isEmpty { text += "  \(reason)" }
        return text
    }
}

enum CLIFormat {
    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}

/// Times shown and accepted by the serving commands.
enum Timestamp {
    static func iso8601(_ seconds: Double) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: seconds))
    }

    /// Seconds since 1970 from `2026-11-21T20:15:00Z` (fractions and offsets allowed) or a plain number of seconds.
    static func parse(_ text: String) -> Double? {
        if let seconds = Double(text), seconds.isFinite { return seconds }
        let formatter = ISO8601DateFormatter()
        for options: ISO8601DateFormatter.Options in [
            [.withInternetDateTime, .withFractionalSeconds], [.withInternetDateTime],
        ] {
            formatter.formatOptions = options
            if let date = formatter.date(from: text) { return date.timeIntervalSince1970 }
        }
        return nil
    }
}

/// `Group/N`, or `Group` alone for its latest Approved version.
struct ModelSelector: ExpressibleByArgument {
    var group: String
    var version: Int?

    init?(argument: String) {
        if let exact = ModelVersionArgument(argument: argument) {
            (group, version) = (exact.group, exact.version)
        } else {
            guard !argument.isEmpty, !argument.contains("/") else { return nil }
            (group, version) = (argument, nil)
        }
    }

    /// The version to deploy; the latest Approved one when no number was given.
    func resolve(in store: SQLiteStore) throws -> Int {
        if let version { return version }
        guard let latest = try store.latestModelVersion(group: group, status: .approved) else {
            let any = try store.latestModelVersion(group: group, status: nil)
            throw CLIError(
                any == nil
                    ? "no model package group '\(group)'; list groups with `sluice models list`"
                    : "\(group) has no Approved version; approve one with `sluice models approve \(group)/N` or "
                        + "name the version (\(group)/N) and pass --allow-unapproved")
        }
        return latest.version
    }
}

/// `sluice endpoints`: what each endpoint stage serves, and its history.
struct EndpointsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "endpoints",
        abstract: "Deploy model versions to endpoint stages, promote, roll back, split traffic, and see the history.",
        subcommands: [
            List.self, Deploy.self, Promote.self, Rollback.self, Traffic.self, RemoveVariant.self, History.self,
        ])

    struct Actor: ParsableArguments {
        @Option(help: "Why (kept in the history).") var reason: String = ""
        @Option(help: "Who (default: $USER, else your login name).") var by: String = ModelsCommand.currentUser

        /// Makes one change to a stage in the store, as this actor, now, and prints the stage's new variant set.
        func change(
            _ apply: (_ store: SQLiteStore, _ by: String, _ reason: String, _ now: Double) throws -> DeploymentRecord
        ) throws {
            let record = try apply(try EngineContext.open().store, by, reason, Date().timeIntervalSince1970)
            var line = "\(record.endpoint) (\(record.stage)) #\(record.id)"
            if let restoredID = record.restoredID { line += " restores #\(restoredID)" }
            print("\(line): \(record.variantSummary)")
        }
    }

    struct List: ReportingCommand {
        static let configuration = CommandConfiguration(abstract: "List endpoints and what each stage serves.")
        @OptionGroup var output: OutputFormat

        func execute() throws {
            let store = try EngineContext.open().store
            let endpoints = try store.endpoints()
            let current = try store.currentDeployments()
            if output.json {
                printJSON(
                    .array(
                        endpoints.map { endpoint in
                            [
                                "name": .string(endpoint.name),
                                "capturePercentage": .double(endpoint.capturePercentage),
                                "stages": .array(current.filter { $0.endpoint == endpoint.name }.map(\.json)),
                            ]
                        }))
                return
            }
            if endpoints.isEmpty { print("no endpoints; deploy one with `sluice endpoints deploy NAME Group/N`") }
            for endpoint in endpoints {
                print("\(endpoint.name)  capture \(CLIFormat.number(endpoint.capturePercentage))%")
                for deployment in current where deployment.endpoint == endpoint.name {
                    print(
                        "  \(deployment.stage)  \(deployment.variantSummary)  (#\(deployment.id), \(deployment.action.rawValue) \(Timestamp.iso8601(deployment.time)))"
                    )
                }
            }
        }
    }

    struct Deploy: ReportingCommand {
        static let configuration = CommandConfiguration(
            abstract: "Deploy a model version to an endpoint stage (the endpoint is created on first deploy).")
        @Argument(help: "The endpoint name, e.g. diabetes.") var endpoint: String
        @Argument(help: "Group/N, or Group for its latest Approved version.") var model: ModelSelector
        @Option(help: "The stage.") var stage: String = "staging"
        @Option(help: "The variant name.") var variant: String = "AllTraffic"
        @Option(
            help: ArgumentHelp(
                "The variant's traffic weight; with --add, a weight below 1 is its share of the traffic (0.1 = 10 %)."))
        var weight: Double = 1
        @Flag(help: "Add (or replace) this variant beside the stage's current ones instead of replacing them all.")
        var add = false
        @Flag(help: "Deploy as the stage's shadow variant: it sees captured traffic, never answers.") var shadow = false
        @Option(help: "Percentage (0-100) of the endpoint's requests captured under .sluice/capture/.")
        var capturePercent: Double?
        @Flag(help: "Deploy even if the version is not Approved.") var allowUnapproved = false
        @OptionGroup var lookup: FeatureLookupOptions
        @OptionGroup var actor: Actor

        func execute() throws {
            let store = try EngineContext.open().store
            let version = try model.resolve(in: store)
            let featureLookup = try lookup.lookup(in: store)
            let record = try store.deploy(
                endpoint: endpoint, stage: stage,
                variant: DeployedVariant(
                    name: shadow && variant == "AllTraffic" ? "Shadow" : variant, group: model.group,
                    version: version, weight: weight, isShadow: shadow),
                replacing: !add && !shadow, allowUnapproved: allowUnapproved, capturePercentage: capturePercent,
                by: actor.by, reason: actor.reason, now: Date().timeIntervalSince1970)
            print("\(endpoint) (\(stage)) #\(record.id): \(record.variantSummary)")
            if let featureLookup {
                try store.setFeatureLookup(endpoint: endpoint, featureLookup)
                let routes =
                    ["/endpoints/\(endpoint)/\(stage)/predict-by-id"] + [featureLookup.predictRoute].compactMap { $0 }
                print(
                    "  predicts by \(featureLookup.idField) from feature group \(featureLookup.group): POST "
                        + routes.joined(separator: ", "))
            }
        }
    }

    struct Promote: ReportingCommand {
        static let configuration = CommandConfiguration(abstract: "Copy a stage's variant set to another stage.")
        @Argument(help: "The endpoint.") var endpoint: String
        @Option(help: "The stage copied from.") var from: String = "staging"
        @Option(help: "The stage copied to.") var to: String = "production"
        @Flag(help: "Promote even if a version is not Approved.") var allowUnapproved = false
        @OptionGroup var actor: Actor

        func execute() throws {
            try actor.change { store, by, reason, now in
                try store.promote(
                    endpoint: endpoint, from: from, to: to, allowUnapproved: allowUnapproved, by: by,
                    reason: reason,
                    now: now)
            }
        }
    }

    struct Rollback: ReportingCommand {
        static let configuration = CommandConfiguration(
            abstract: "Restore the variant set a stage had before its current deployment.")
        @OptionGroup var target: EndpointStage
        @OptionGroup var actor: Actor

        func execute() throws {
            try actor.change { store, by, reason, now in
                try store.rollback(endpoint: target.endpoint, stage: target.stage, by: by, reason: reason, now: now)
            }
        }
    }

    struct Traffic: ReportingCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change the traffic weights of a stage's variants, e.g. `A=0.9 B=0.1`.")
        @OptionGroup var target: EndpointStage
        @Argument(help: "VARIANT=WEIGHT pairs.") var weights: [String]
        @OptionGroup var actor: Actor

        func execute() throws {
            var parsed: [String: Double] = [:]
            for pair in weights {
                let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, !parts[0].isEmpty, let weight = Double(parts[1]) else {
                    throw CLIError("'\(pair)' is not VARIANT=WEIGHT; write e.g. AllTraffic=0.9")
                }
                parsed[parts[0]] = weight
            }
            guard !parsed.isEmpty else { throw CLIError("give at least one VARIANT=WEIGHT, e.g. AllTraffic=1") }
            try actor.change { store, by, reason, now in
                try store.setTraffic(
                    endpoint: target.endpoint, stage: target.stage, weights: parsed, by: by, reason: reason, now: now)
            }
        }
    }

    struct RemoveVariant: ReportingCommand {
        static let configuration = CommandConfiguration(
            commandName: "remove-variant",
            abstract: "Remove a variant from a stage; the others keep their proportions of the traffic.")
        @OptionGroup var target: EndpointStage
        @Argument(help: "The variant, e.g. B.") var variant: String
        @OptionGroup var actor: Actor

        func execute() throws {
            try actor.change { store, by, reason, now in
                try store.removeVariant(
                    endpoint: target.endpoint, stage: target.stage, variant: variant, by: by, reason: reason, now: now)
            }
        }
    }

    struct History: ReportingCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show an endpoint's deployment history, or what a stage served at a given time.")
        @Argument(help: "The endpoint.") var endpoint: String
        @Option(help: "Only this stage (required with --at; default with --at: production).") var stage: String?
        @Option(help: "A time (2026-11-21T20:15:00Z or seconds since 1970): show what the stage served then.")
        var at: String?
        @OptionGroup var output: OutputFormat

        func execute() throws {
            let store = try EngineContext.open().store
            guard let at else {
                let history = try store.deploymentHistory(endpoint: endpoint, stage: stage)
                if output.json {
                    printJSON(.array(history.map(\.json)))
                } else {
                    for record in history { print(record.line) }
                }
                return
            }
            guard let time = Timestamp.parse(at) else {
                throw CLIError("--at '\(at)' is not a time; write e.g. 2026-11-21T20:15:00Z or seconds since 1970")
            }
            let stage = stage ?? "production"
            guard let record = try store.deployment(endpoint: endpoint, stage: stage, at: time) else {
                throw CLIError(
                    "\(endpoint) (\(stage)) had nothing deployed at \(Timestamp.iso8601(time)); see "
                        + "`sluice endpoints history \(endpoint)`")
            }
            if output.json { printJSON(record.json) } else { print(record.line) }
        }
    }
}

/// `endpoints deploy`'s predict-by-id options: the feature group a request's record id is looked up in.
struct FeatureLookupOptions: ParsableArguments {
    @Option(help: "Predict by record id: the feature group a request's id is looked up in.") var features: String?
    @Option(help: "With --features: the request body's field holding the record id, e.g. user_id.") var idField: String?
    @Option(help: "With --features: a further path answering predictions by id, e.g. /predict.")
    var predictRoute: String?
    @Option(help: "With --features: a further path answering an id's latest feature map, e.g. /features.")
    var featuresRoute: String?

    func validate() throws {
        if (features == nil) != (idField == nil) {
            throw ValidationError("--features and --id-field go together: --features GROUP --id-field user_id")
        }
        if features == nil, predictRoute != nil || featuresRoute != nil {
            throw ValidationError("--predict-route and --features-route need --features GROUP --id-field FIELD")
        }
    }

    /// The lookup these options ask for, its group checked in `store`; nil without `--features`.
    func lookup(in store: SQLiteStore) throws -> FeatureLookup? {
        guard let features, let idField else { return nil }
        guard try store.featureGroup(name: features) != nil else {
            throw CLIError("--features \(features): no such feature group; list them with `sluice features list`")
        }
        return FeatureLookup(
            group: features, idField: idField, featuresRoute: featuresRoute, predictRoute: predictRoute)
    }
}
