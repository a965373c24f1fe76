public import SluiceML

/// What one monitoring run found: Model Monitor's violations, and Evidently-style drift per feature.
public struct MonitoringReport: Sendable, Codable, Equatable {
    /// Rows analysed.
    public var rowCount: Int
    public var violations: ConstraintViolations
    public var drift: DatasetDrift
}

/// Checks current data against a baseline's constraints and its reference data.
public enum ConstraintChecker {
    /// Runs every check.
    /// - Parameters:
    ///   - current: the data to check (e.g. captured requests), columns named after the baseline's features.
    ///   - constraints: the baseline's `constraints.json`.
    ///   - reference: the data the baseline was made from, for the drift tests.
    public static func check(current: Frame, constraints: MonitoringConstraints, reference: Frame) -> MonitoringReport {
        var violations: [ConstraintViolations.Violation] = []
        var drifts: [ColumnDrift] = []
        let config = constraints.monitoringConfig
        func violation(_ feature: String, _ type: ConstraintViolations.CheckType, _ text: String) {
            violations.append(.init(featureName: feature, constraintCheckType: type, description: text))
        }
        let known = Set(constraints.features.map(\.name))
        for name in current.names where !known.contains(name) {
            violation(
                name, .extraColumnCheck, "There are columns in the data that the baseline does not have: \(name).")
        }
        for feature in constraints.features {
            guard let index = current.names.firstIndex(of: feature.name) else {
                violation(
                    feature.name, .missingColumnCheck,
                    "The baseline's column \(feature.name) is missing from the data.")
                continue
            }
            let column = current.columns[index]
            let total = column.count
            guard total > 0 else { continue }
            // Present cells, and those of the baseline's type.
            var numbers: [Double] = []
            var labels: [String] = []
            var present = 0
            switch column {
            case .numeric(let values):
                for value in values where !value.isNaN {
                    present += 1
                    numbers.append(value)
                    labels.append(label(value))
                }
            case .text(let values):
                for case let value? in values {
                    present += 1
                    labels.append(value)
                    if let number = Double(value) { numbers.append(number) }
                }
            }
            let completeness = Double(present) / Double(total)
            if completeness < feature.completeness {
                violation(
                    feature.name, .completenessCheck,
                    "Data completeness is \(percent(completeness)), below the baseline's \(percent(feature.completeness))."
                )
            }
            if feature.inferredType.isNumeric && present > 0 {
                let matching =
                    feature.inferredType == .integral ? numbers.filter { $0.rounded() == $0 }.count : numbers.count
                let share = Double(matching) / Double(present)
                if share < config.datatypeCheckThreshold {
                    violation(
                        feature.name, .dataTypeCheck,
                        "Expected data type \(feature.inferredType.rawValue) for \(percent(config.datatypeCheckThreshold))"
                            + " of the values; observed \(percent(share)).")
                }
            }
            if let domains = feature.stringConstraints?.domains, present > 0 {
                let domain = Set(domains)
                let share = Double(labels.filter { domain.contains($0) }.count) / Double(present)
                if share < config.domainContentThreshold {
                    violation(
                        feature.name, .categoricalValuesCheck,
                        "\(percent(share)) of the values are in the baseline's domain; expected at least "
                            + "\(percent(config.domainContentThreshold)).")
                }
            }
            guard let referenceIndex = reference.names.firstIndex(of: feature.name) else { continue }
            let drift: ColumnDrift?
            switch reference.columns[referenceIndex] {
            case .numeric(let values) where feature.inferredType.isNumeric:
                let sample = values.filter { !$0.isNaN }
                drift =
                    sample.isEmpty || numbers.isEmpty
                    ? nil
                    : DriftDetector.columnDrift(
                        column: feature.name, reference: .numerical(sample), current: .numerical(numbers))
            case .numeric(let values):
                let sample = values.filter { !$0.isNaN }.map(label)
                drift =
                    sample.isEmpty || labels.isEmpty
                    ? nil
                    : DriftDetector.columnDrift(
                        column: feature.name, reference: .categorical(sample), current: .categorical(labels))
            case .text(let values):
                let sample = values.compactMap { $0 }
                drift =
                    sample.isEmpty || labels.isEmpty
                    ? nil
                    : DriftDetector.columnDrift(
                        column: feature.name, reference: .categorical(sample), current: .categorical(labels))
            }
            guard let drift else { continue }
            drifts.append(drift)
            if drift.drifted && config.distributionConstraints.performComparison == "Enabled" {
                let comparison =
                    drift.method.isPValue ? "p-value \(drift.value) below" : "distance \(drift.value) above"
                violation(
                    feature.name, .baselineDriftCheck,
                    "Baseline drift: \(drift.method.rawValue) \(comparison) the threshold \(drift.threshold).")
            }
        }
        return MonitoringReport(
            rowCount: current.rowCount, violations: .init(violations: violations),
            drift: DriftDetector.datasetDrift(drifts))
    }

    private static func label(_ value: Double) -> String {
        value.rounded() == value && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }

    private static func percent(_ share: Double) -> String {
        let rounded = (share * 1000).rounded() / 10
        return "\(rounded)%"
    }
}
