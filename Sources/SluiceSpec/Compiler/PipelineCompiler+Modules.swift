import SluiceCore

extension PipelineCompiler {
    /// A step's module is neither in the pipeline's folders nor in the catalog: suggest the module with the nearest
    /// id (for a `ModuleId`) or name, else list the modules the pipeline sees.
    func reportUnknownModule(_ reference: String, step: RawStep, at location: SourceLocation) {
        let suggestion =
            isUUID(reference)
            ? closestMatch(to: reference.lowercased(), in: modulesByID.keys.sorted()).flatMap { modulesByID[$0]?.name }
            : closestMatch(to: reference, in: modulesByName.keys.sorted())
        let known = modulesByName.keys.filter { !$0.contains("@") }.sorted()
        let seen =
            suggestion != nil || known.isEmpty ? "" : " (modules it sees: \(known.prefix(8).joined(separator: ", ")))"
        reporter.error(
            "unknown-module",
            "step '\(step.name)' uses unknown module '\(reference)'"
                + (suggestion.map { "; did you mean '\($0)'?" } ?? "") + seen,
            at: location,
            fix: suggestion.map { "write '\($0)'" }
                ?? "publish it (`sluice modules publish FILE`), put the module file beside the pipeline or in its "
                + "modules/ folder, or list it under 'modules:'")
    }
}
