import Foundation
public import SluiceCore

/// `registry.register`: registers a model version with an approval status, its metrics and its lineage.
///
/// Inputs (as the `RegisterModel` module declares them): `Model` (a model file or folder), `ModelPackageGroup`,
/// `ApprovalStatus` (`PendingManualApproval` by default, `Approved` or `Rejected`), `Metrics` (optional evaluation
/// report, a JSON file or value). The model is copied into the step's folder and kept under its content hash.
/// Outputs: `ModelVersion` (`Group/N`) and `ModelVersionNumber` (N).
@MemberwiseInit
public struct RegisterModelStep: BuiltinStep {
    let registry: any ModelRegistry
    /// Keeps the model copies.
    let artifacts: any ArtifactStoring

    public var name: String { "registry.register" }

    public func run(_ context: BuiltinStepContext) async throws -> [String: JSONValue] {
        func failure(_ message: String) -> StepFailure {
            StepFailure(ErrorName.taskFailed, cause: "step '\(context.stepName)': \(message)")
        }
        guard let group = context.value("ModelPackageGroup")?.string, !group.isEmpty else {
            throw failure("input 'ModelPackageGroup' is required: the name of the model package group")
        }
        let statusText = context.value("ApprovalStatus")?.string ?? ModelApprovalStatus.pendingManualApproval.rawValue
        guard let status = ModelApprovalStatus(rawValue: statusText) else {
            throw failure(
                "input 'ApprovalStatus' is '\(statusText)'; allowed values: \(ModelApprovalStatus.allowedValues)")
        }
        guard let model = context.value("Model")?.string, FileManager.default.fileExists(atPath: model) else {
            throw failure("input 'Model' must be the path of a model file or folder produced by a training step")
        }
        let copy = context.workDirectory + "/model/" + (model as NSString).lastPathComponent
        try FileManager.default.createDirectory(
            atPath: context.workDirectory + "/model", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: model, toPath: copy)
        let kept = try artifacts.ingest(path: copy)

        var inputHashes: [String: String] = ["Model": kept.hash]
        var metrics: JSONValue?
        switch context.value("Metrics") {
        case .string(let path)?:
            guard let data = FileManager.default.contents(atPath: path),
                let value = try? JSONDecoder().decode(JSONValue.self, from: data)
            else { throw failure("input 'Metrics' (\(path)) is not a readable JSON report") }
            metrics = value
            inputHashes["Metrics"] = try artifacts.contentHash(path: path).hash
        case .null?, nil: metrics = nil
        case let value?: metrics = value
        }

        let record = try registry.registerModelVersion(
            NewModelVersion(
                group: group, artifactPath: copy, artifactHash: kept.hash, metrics: metrics, status: status,
                executionID: context.executionID, stepName: context.stepName, inputHashes: inputHashes,
                createdAt: Date().timeIntervalSince1970),
            by: "execution \(context.executionID)")
        context.log("registered \(record.reference) (\(status.rawValue), \(kept.hash))")
        return ["ModelVersion": .string(record.reference), "ModelVersionNumber": .int(record.version)]
    }
}

/// `registry.model`: the model file of a registered version, for steps that predict with it.
///
/// Inputs (as the `RegisteredModel` module declares them): `ModelVersion` (`Group/N`) or `ModelPackageGroup` (its
/// latest version with `ApprovalStatus`, `Approved` by default). Outputs: `Model` (the registered copy of the model
/// file) and `ModelVersion` (`Group/N`).
public struct RegisteredModelStep: BuiltinStep {
    let registry: any ModelRegistry

    /// A step reading versions from `registry`.
    public init(registry: any ModelRegistry) { self.registry = registry }

    public var name: String { "registry.model" }
    public var needsWorkDirectory: Bool { false }

    public func run(_ context: BuiltinStepContext) async throws -> [String: JSONValue] {
        func failure(_ message: String) -> StepFailure {
            StepFailure(ErrorName.taskFailed, cause: "step '\(context.stepName)': \(message)")
        }
        let record: ModelVersionRecord
        if let text = context.value("ModelVersion")?.string, !text.isEmpty {
            guard let (group, number) = modelVersionReference(text) else {
                throw failure("input 'ModelVersion' is '\(text)'; write Group/N (e.g. DiabetesModelGroup/3)")
            }
            guard let found = try registry.modelVersion(group: group, version: number) else {
                throw failure("\(text) is not registered; see `sluice models list \(group)`")
            }
            record = found
        } else if let group = context.value("ModelPackageGroup")?.string, !group.isEmpty {
            let statusText = context.value("ApprovalStatus")?.string ?? ModelApprovalStatus.approved.rawValue
            guard let status = ModelApprovalStatus(rawValue: statusText) else {
                throw failure(
                    "input 'ApprovalStatus' is '\(statusText)'; allowed values: \(ModelApprovalStatus.allowedValues)")
            }
            guard let found = try registry.latestModelVersion(group: group, status: status) else {
                throw failure(
                    "\(group) has no \(status.rawValue) version; register one, or approve one with "
                        + "`sluice models approve \(group)/N`")
            }
            record = found
        } else {
            throw failure("input 'ModelVersion' (Group/N) or 'ModelPackageGroup' (its latest version) is required")
        }
        context.log("using \(record.reference) (\(record.status.rawValue)): \(record.artifactPath)")
        return ["Model": .string(record.artifactPath), "ModelVersion": .string(record.reference)]
    }
}

/// The group and number of a `Group/N` reference (or a versioned model package ARN), nil when `text` is neither.
func modelVersionReference(_ text: String) -> (group: String, version: Int)? {
    // A versioned SageMaker model package's ARN names the same version (what an exported Step Functions machine's
    // registration answers with): arn:aws:sagemaker:<region>:<account>:model-package/<Group>/<N>.
    var text = Substring(text)
    if text.hasPrefix("arn:"), let package = text.range(of: ":model-package/") { text = text[package.upperBound...] }
    guard let slash = text.lastIndex(of: "/"), slash != text.startIndex,
        let number = Int(text[text.index(after: slash)...])
    else { return nil }
    return (String(text[..<slash]), number)
}

/// The built-ins that need the model registry.
public func registryBuiltinSteps(registry: any ModelRegistry, artifacts: any ArtifactStoring) -> [any BuiltinStep] {
    [RegisterModelStep(registry: registry, artifacts: artifacts), RegisteredModelStep(registry: registry)]
}
