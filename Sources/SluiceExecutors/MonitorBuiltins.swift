import Foundation
public import SluiceCore

/// `monitor.baseline`: the monitoring baseline of a registered model version, from its training data.
///
/// Inputs (as the `MonitorBaseline` module declares them): `ModelVersion` (`Group/N`, e.g. a `registry.register`
/// step's output), `Data` (the training CSV, with a header) and optional `Features` (a list, or names separated by
/// commas; default: the model's input columns). Writes Model Monitor's `statistics.json` and `constraints.json` into
/// the step's folder and attaches them to the version, so `sluice monitor run` and schedules compare traffic with
/// them. Outputs: `Statistics`, `Constraints` (the files) and `ModelVersion`.
public struct MonitorBaselineStep: BuiltinStep {
    let maker: any BaselineMaking

    /// A step making baselines with `maker`.
    public init(maker: any BaselineMaking) { self.maker = maker }

    public var name: String { "monitor.baseline" }

    public func run(_ context: BuiltinStepContext) async throws -> [String: JSONValue] {
        func failure(_ message: String) -> StepFailure {
            StepFailure(ErrorName.taskFailed, cause: "step '\(context.stepName)': \(message)")
        }
        guard let text = context.value("ModelVersion")?.string, let (group, version) = modelVersionReference(text)
        else {
            throw failure(
                "input 'ModelVersion' is '\(context.value("ModelVersion")?.string ?? "")'; write Group/N, e.g. "
                    + "$.steps.Register.outputs.ModelVersion")
        }
        guard let data = context.value("Data")?.string, FileManager.default.fileExists(atPath: data) else {
            throw failure("input 'Data' must be the path of the training CSV file (with a header)")
        }
        let features: [String]?
        switch context.value("Features") {
        case .array(let items)?: features = items.compactMap(\.string)
        case .string(let names)? where !names.isEmpty:
            features = names.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        default: features = nil
        }
        let folder = context.workDirectory + "/baseline"
        let described: [String]
        do {
            described = try maker.makeBaseline(
                group: group, version: version, data: data, features: features, folder: folder)
        } catch {
            throw failure("\(error)")
        }
        context.log("baseline of \(text): \(described.joined(separator: ", "))")
        return [
            "Statistics": .string(folder + "/statistics.json"), "Constraints": .string(folder + "/constraints.json"),
            "ModelVersion": .string(text),
        ]
    }
}
