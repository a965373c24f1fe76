import SluiceCore

/// SageMaker takes a training job's `HyperParameters` as a map of strings (`"num_round": "5"`), while a pipeline
/// may bind them to a JSON parameter whose values are numbers.
extension MachineBuilder {
    /// Sets `parameters["HyperParameters"]` from the trainer's binding, every value a string where the export can
    /// tell the keys: a literal object, or a JSON parameter (or part of one) whose default is an object, read key by
    /// key through `States.Format('{}', …)`, which turns a number into its text.
    mutating func putHyperParameters(
        _ binding: Binding, step: Step, scope: Scope, into parameters: inout [String: JSONValue]
    ) {
        if case .reference(let reference) = binding, case .parameter(let name) = reference.root,
            case .object(let defaults)? = pipeline.parameter(named: name)?.defaultValue?[path: reference.path]
        {
            var values: [String: JSONValue] = [:]
            for key in defaults.keys.sorted() {
                let path = referencePath(Reference(reference.root, path: reference.path + [.key(key)]), scope: scope)
                values[key + ".$"] = .string(Intrinsic.format([.argument(path)]))
            }
            parameters["HyperParameters"] = .object(values)
            notes.append(
                "Training step '\(step.name)' passes the keys of parameter '\(name)''s default ("
                    + defaults.keys.sorted().joined(separator: ", ")
                    + ") as strings, as SageMaker requires; an execution input's '\(name)' must hold each of them.")
        } else if case .literal(.object(let values)) = binding {
            parameters["HyperParameters"] = .object(values.mapValues { .string($0.string ?? $0.compactJSON) })
        } else {
            put(&parameters, "HyperParameters", binding, type: .json, scope: scope)
            notes.append(
                "Training step '\(step.name)' passes its HyperParameters as bound: SageMaker accepts only string "
                    + "values, so the value must be an object of strings.")
        }
    }

    /// The per-key parameters a SageMaker pipeline definition declares for a JSON parameter whose default is an
    /// object (SageMaker's parameters are scalars): `HyperParameters_num_round`, String, default `"5"`.
    static func scalarParameters(of parameter: Pipeline.Parameter) -> [(name: String, defaultValue: String)]? {
        guard parameter.type == .json, case .object(let defaults)? = parameter.defaultValue, !defaults.isEmpty,
            defaults.values.allSatisfy({ $0.object == nil && $0.array == nil })
        else { return nil }
        return defaults.keys.sorted().map { key in
            (sageMakerParameterName(parameter.name, key), defaults[key]?.string ?? defaults[key]?.compactJSON ?? "")
        }
    }

    /// `Name_key`, with every character SageMaker refuses in a parameter name made `_`.
    static func sageMakerParameterName(_ name: String, _ key: String) -> String {
        String(
            (name + "_" + key).map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") ? $0 : "_" })
    }
}

extension SageMakerBuilder {
    /// The per-key parameter a path such as `$.parameters.HyperParameters.num_round` reads, when its JSON
    /// parameter was declared key by key.
    func scalarParameter(_ path: String) -> String? {
        for parameter in pipeline.parameters where MachineBuilder.scalarParameters(of: parameter) != nil {
            for key in parameter.defaultValue?.object?.keys.sorted() ?? []
            where path == StatePath.parameter(parameter.name) + StatePath.segment(key) {
                return MachineBuilder.sageMakerParameterName(parameter.name, key)
            }
        }
        return nil
    }
}
