import SluiceCore
import Synchronization

/// A stage of an endpoint, e.g. `staging` or `production`.
public struct StageName: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    /// The pre-production stage.
    public static let staging = StageName(rawValue: "staging")
    /// The live stage.
    public static let production = StageName(rawValue: "production")
    public var description: String { rawValue }
}

/// One model behind a stage, with its share of the traffic.
public struct Variant: Sendable {
    /// The name returned in `x-Amzn-Invoked-Production-Variant`.
    public var name: String
    /// Relative traffic weight (≥ 0); weights of a stage need not sum to 1.
    public var weight: Double
    /// The model.
    public var predictor: any Predictor
    /// The registry version served (for the audit log and metrics), when known.
    public var modelVersion: String?

    /// Creates a variant.
    public init(name: String, weight: Double = 1, predictor: any Predictor, modelVersion: String? = nil) {
        self.name = name
        self.weight = weight
        self.predictor = predictor
        self.modelVersion = modelVersion
    }
}

/// What is deployed on one stage of one endpoint: weighted variants, an optional shadow, accepted formats.
@MemberwiseInit
public struct StageDeployment: Sendable {
    /// The variants sharing live traffic (A/B).
    public var variants: [Variant]
    /// A variant that sees a copy of the traffic; its answers are captured, never returned.
    public var shadow: Variant?
    /// The body formats accepted on `/invocations` (W2's container is CSV-only).
    public var formats: Set<InputFormat> = [.csv, .json]
    /// Percentage of requests (0…100) captured.
    public var capturePercentage: Double = 0
    /// Predict-by-id: the feature group a request's record id is looked up in; nil = off.
    public var featureLookup: FeatureLookup?
}

/// An immutable snapshot of a stage as requests see it; replaced whole on every deploy.
public final class LiveStage: Sendable {
    /// Endpoint name.
    public let endpoint: String
    /// Stage name.
    public let stage: StageName
    /// The deployment.
    public let deployment: StageDeployment
    private let cumulativeWeights: [Double]

    init(endpoint: String, stage: StageName, deployment: StageDeployment) {
        self.endpoint = endpoint
        self.stage = stage
        self.deployment = deployment
        var running = 0.0
        cumulativeWeights = deployment.variants.map {
            running += max($0.weight, 0)
            return running
        }
    }

    /// Picks the variant: the named one when `target` is set, else by weight using `random` in `0..<1`.
    public func variant(target: String?, random: Double) throws(ServingError) -> Variant {
        let variants = deployment.variants
        if let target {
            guard let chosen = variants.first(where: { $0.name == target }) else {
                let names = variants.map(\.name).joined(separator: ", ")
                throw ServingError(
                    .unknownVariant,
                    "Endpoint '\(endpoint)' (\(stage)) has no variant '\(target)'; its variants are: \(names)."
                )
            }
            return chosen
        }
        if variants.count == 1 { return variants[0] }
        let total = cumulativeWeights.last ?? 0
        guard total > 0 else { return variants[0] }
        let point = random * total
        for (index, bound) in cumulativeWeights.enumerated() where point < bound { return variants[index] }
        return variants[variants.count - 1]
    }
}

/// The endpoints being served; deploys swap a stage's snapshot atomically so in-flight requests finish on the
/// model they started with and no request is dropped.
public final class EndpointTable: Sendable {
    private struct Key: Hashable {
        var endpoint: String
        var stage: StageName
    }
    private struct State {
        var stages: [Key: LiveStage] = [:]
        /// Set by `sluice serve --default-endpoint` (or `sluice demo`).
        var chosenDefault: String?
        /// The one endpoint deployed, when there is exactly one.
        var soleEndpoint: String?

        mutating func noteEndpoints() {
            let names = Set(stages.keys.map(\.endpoint))
            soleEndpoint = names.count == 1 ? names.first : nil
        }
    }
    private let state = Mutex(State())

    /// The endpoint answering the unqualified `/stream`, `/production/stream`, …: the one chosen, else the only one
    /// deployed. With several endpoints and none chosen it is nil, and those routes refuse to guess.
    public var defaultEndpoint: String? {
        get { state.withLock { $0.chosenDefault ?? $0.soleEndpoint } }
        set { state.withLock { $0.chosenDefault = newValue } }
    }

    /// The endpoints with a live stage, sorted by name.
    public var endpointNames: [String] {
        state.withLock { Set($0.stages.keys.map(\.endpoint)) }.sorted()
    }

    /// Why the unqualified route `path` has no endpoint: the candidates, and how to name one.
    public func ambiguity(path: String, stage: StageName) -> ServingError {
        let names = endpointNames
        guard let first = names.first else {
            return ServingError(
                .unknownEndpoint, "No endpoint is deployed yet; deploy one with `sluice endpoints deploy`.")
        }
        let route = path.split(separator: "?").first.map(String.init) ?? path
        let action = route.split(separator: "/").last.map(String.init) ?? "invocations"
        return ServingError(
            .unknownEndpoint,
            "\(route) names no endpoint and \(names.count) are deployed (\(names.joined(separator: ", "))): name one, "
                + "e.g. /endpoints/\(first)/\(stage)/\(action), or start the server with "
                + "`sluice serve --default-endpoint \(first)`.")
    }

    /// Creates an empty table.
    public init() {}

    /// Deploys (or replaces) `deployment` on `stage` of `endpoint`.
    @discardableResult
    public func deploy(endpoint: String, stage: StageName, _ deployment: StageDeployment) -> LiveStage {
        let live = LiveStage(endpoint: endpoint, stage: stage, deployment: deployment)
        state.withLock {
            $0.stages[Key(endpoint: endpoint, stage: stage)] = live
            $0.noteEndpoints()
        }
        return live
    }

    /// Removes a stage; returns whether it existed.
    @discardableResult
    public func remove(endpoint: String, stage: StageName) -> Bool {
        state.withLock {
            let removed = $0.stages.removeValue(forKey: Key(endpoint: endpoint, stage: stage)) != nil
            $0.noteEndpoints()
            return removed
        }
    }

    /// The live snapshot of a stage, or a `ResourceNotFound` error naming the endpoints that exist.
    public func stage(endpoint: String, stage: StageName) throws(ServingError) -> LiveStage {
        if let live = state.withLock({ $0.stages[Key(endpoint: endpoint, stage: stage)] }) { return live }
        let known = state.withLock { $0.stages.keys.map { "\($0.endpoint)/\($0.stage)" } }.sorted()
        let list = known.isEmpty ? "none is deployed yet" : "deployed: " + known.joined(separator: ", ")
        throw ServingError(.unknownEndpoint, "No endpoint '\(endpoint)' with stage '\(stage)' (\(list)).")
    }

    /// Whether `stage` of `endpoint` is deployed.
    public func contains(endpoint: String, stage: StageName) -> Bool {
        state.withLock { $0.stages[Key(endpoint: endpoint, stage: stage)] != nil }
    }

    /// Every live stage, sorted by endpoint then stage.
    public func all() -> [LiveStage] {
        state.withLock { Array($0.stages.values) }.sorted {
            ($0.endpoint, $0.stage.rawValue) < ($1.endpoint, $1.stage.rawValue)
        }
    }

    /// The live stages whose feature lookup answers `path` (a configured `featuresRoute` when `features` is true,
    /// else a `predictRoute`).
    public func stages(lookupRoute path: String, features: Bool) -> [LiveStage] {
        all().filter { live in
            guard let lookup = live.deployment.featureLookup else { return false }
            return (features ? lookup.featuresRoute : lookup.predictRoute) == path
        }
    }
}
