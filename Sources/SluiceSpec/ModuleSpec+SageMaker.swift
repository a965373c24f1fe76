import SluiceCore

extension ModuleSpec {
    /// A `SageMakerTraining` module without an implementation whose `ImageName` names a SageMaker built-in
    /// algorithm runs that algorithm natively; its `HyperParameters` must be ones the algorithm accepts.
    static func sageMakerBuiltin(
        kind: Module.Kind, inputs: [Module.Port], inputsNode: SpecNode?, reporter: Reporter
    ) -> Implementation? {
        guard kind == .sageMakerTraining, let image = inputs.first(where: { $0.name == "ImageName" })?.value?.string,
            let algorithm = SageMakerAlgorithm.forImage(image)
        else { return nil }
        for entry in hyperparameterEntries(inputsNode) where !algorithm.hyperparameters.contains(entry.key) {
            let suggestion = closestMatch(to: entry.key, in: algorithm.hyperparameters)
            reporter.error(
                "unknown-hyperparameter",
                "hyperparameter '\(entry.key)' is not one SageMaker's built-in \(algorithm.name) accepts"
                    + (suggestion.map { "; did you mean '\($0)'?" } ?? ""),
                at: entry.keyLocation,
                fix: "use one of \(algorithm.hyperparameters.joined(separator: ", "))")
        }
        return .builtin(name: algorithm.builtinStep, options: [:])
    }

    /// Whether the module's `ImageName` names a SageMaker built-in algorithm (a module without `type` is then a
    /// `SageMakerTraining` one, as in the seed's XGBoostTrainer).
    static func trainsBuiltinAlgorithm(_ inputs: [Module.Port]) -> Bool {
        inputs.first { $0.name == "ImageName" }?.value?.string.flatMap(SageMakerAlgorithm.forImage) != nil
    }

    /// The entries of the `HyperParameters` input, written `- HyperParameters: {…}` or `- {name: HyperParameters,
    /// value: {…}}`.
    private static func hyperparameterEntries(_ inputsNode: SpecNode?) -> [SpecNode.Entry] {
        for item in inputsNode?.items ?? [] {
            guard let entries = item.entries else { continue }
            if entries.count == 1, entries[0].key == "HyperParameters" { return entries[0].value.entries ?? [] }
            if entries.contains(where: { $0.key == "name" && $0.value.scalarText == "HyperParameters" }) {
                return entries.first { $0.key == "value" || $0.key == "default" }?.value.entries ?? []
            }
        }
        return []
    }
}
