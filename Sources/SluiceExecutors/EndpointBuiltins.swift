import Foundation
public import SluiceCore

/// `endpoint.deploy`: deploys a registered model version to an endpoint stage.
///
/// Inputs (as the `DeployEndpoint` module declares them): `ModelVersion` (`Group/N`, or `Group` for its latest
/// Approved version) or `ModelPackageGroup` (its latest Approved version), `Endpoint`, `Stage` (`staging` by
/// default), `Variant` (`AllTraffic`), `CapturePercentage` (0…100) or `DataCapture` (true = 100 %, false = off),
/// `AllowUnapproved` (false: a version that is not Approved is refused); predict-by-id: `FeatureGroup` and `IdField`
/// (the body field holding the record id), with optional further paths `PredictRoute` and `FeaturesRoute`.
/// Outputs: `Endpoint`, `Stage`, `ModelVersion` (`Group/N`), `EndpointUrl` (the stage's base URL on `sluice serve`).
@MemberwiseInit
public struct DeployEndpointStep: BuiltinStep {
    let endpoints: any EndpointRegistry
    /// Resolves the versions to deploy.
    let registry: any ModelRegistry
    /// Where `sluice serve` listens.
    let serveURL: String

    public var name: String { "endpoint.deploy" }
    public var needsWorkDirectory: Bool { false }

    public func run(_ context: BuiltinStepContext) async throws -> [String: JSONValue] {
        func failure(_ message: String) -> StepFailure {
            StepFailure(ErrorName.taskFailed, cause: "step '\(context.stepName)': \(message)")
        }
        guard let endpoint = context.value("Endpoint")?.string, !endpoint.isEmpty else {
            throw failure("input 'Endpoint' is required: the endpoint name, e.g. diabetes")
        }
        let stage = context.value("Stage")?.string ?? "staging"
        let variantName = context.value("Variant")?.string ?? "AllTraffic"
        let allowUnapproved = context.value("AllowUnapproved")?.bool ?? false
        var capture: Double?
        if let percentage = context.value("CapturePercentage")?.number {
            capture = percentage
        } else if let enabled = context.value("DataCapture")?.bool {
            capture = enabled ? 100 : 0
        }

        let (group, number) = try selection(context, failure: failure)
        let version: Int
        if let number {
            version = number
        } else {
            guard let latest = try registry.latestModelVersion(group: group, status: .approved) else {
                throw failure(
                    "\(group) has no Approved version to deploy; approve one with `sluice models approve \(group)/N`")
            }
            version = latest.version
        }
        let record: DeploymentRecord
        do {
            record = try endpoints.deploy(
                endpoint: endpoint, stage: stage,
                variant: DeployedVariant(name: variantName, group: group, version: version),
                replacing: true, allowUnapproved: allowUnapproved, capturePercentage: capture,
                by: "execution \(context.executionID)", reason: "step \(context.stepName)",
                now: Date().timeIntervalSince1970)
        } catch let error as EndpointError where error.code == .unapprovedVersion {
            throw failure(
                "\(group)/\(version) is not Approved; approve it with `sluice models approve \(group)/\(version)` or "
                    + "set input 'AllowUnapproved: true'")
        } catch let error as EndpointError {
            throw failure(error.description)
        }
        context.log("deployed \(group)/\(version) to \(endpoint) (\(stage)) as deployment #\(record.id)")
        if let featureGroup = context.value("FeatureGroup")?.string, !featureGroup.isEmpty {
            guard let idField = context.value("IdField")?.string, !idField.isEmpty else {
                throw failure("input 'IdField' is required with 'FeatureGroup': the body field of the id, e.g. user_id")
            }
            func route(_ name: String) -> String? { context.value(name)?.string.flatMap { $0.isEmpty ? nil : $0 } }
            do {
                try endpoints.setFeatureLookup(
                    endpoint: endpoint,
                    FeatureLookup(
                        group: featureGroup, idField: idField, featuresRoute: route("FeaturesRoute"),
                        predictRoute: route("PredictRoute")))
            } catch let error as EndpointError {
                throw failure(error.description)
            }
            context.log("\(endpoint) predicts by \(idField) from feature group \(featureGroup)")
        }
        return [
            "Endpoint": .string(endpoint), "Stage": .string(stage), "ModelVersion": .string("\(group)/\(version)"),
            "EndpointUrl": .string("\(serveURL)/endpoints/\(endpoint)/\(stage)"),
        ]
    }

    private func selection(_ context: BuiltinStepContext, failure: (String) -> StepFailure) throws -> (String, Int?) {
        if let text = context.value("ModelVersion")?.string, !text.isEmpty {
            guard let slash = text.lastIndex(of: "/") else { return (text, nil) }
            guard let number = Int(text[text.index(after: slash)...]), slash != text.startIndex else {
                throw failure("input 'ModelVersion' is '\(text)'; write Group/N (e.g. DiabetesModelGroup/3) or Group")
            }
            return (String(text[..<slash]), number)
        }
        if let group = context.value("ModelPackageGroup")?.string, !group.isEmpty { return (group, nil) }
        throw failure("input 'ModelVersion' (Group/N) or 'ModelPackageGroup' (its latest Approved version) is required")
    }
}

/// The built-ins that deploy to endpoints.
public func endpointBuiltinSteps(
    endpoints: any EndpointRegistry, registry: any ModelRegistry, serveURL: String
) -> [any BuiltinStep] {
    [DeployEndpointStep(endpoints: endpoints, registry: registry, serveURL: serveURL)]
}
