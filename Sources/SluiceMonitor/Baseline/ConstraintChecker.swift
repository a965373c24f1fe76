import Dispatch
public import SluiceML

/// What one monitoring run found: Model Monitor's violations, and Evidently-style drift per feature.
public struct MonitoringReport: Sendable, Codable, Equatable {
    /// Rows analysed.
    public var rowCount: Int
    public var violations: ConstraintViolations
    public var drift: DatasetDrift
    /// Model quality against ground truth, when the monitor checks it.
    public var quality: ModelQualityReport? = nil
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
        let known = Set(constraints.features.map(\.name))
        for name in current.names where !known.contains(name) {
            violations.append(
                .init(
                    featureName: name, constraintCheckType: .extraColumnCheck,
                    description: "There are columns in the data that the baseline does not have: \(name)."))
        }
        // Features are independent: each is checked on its own thread, the results kept in feature order.
        let features = constraints.features
        var results = [FeatureResult](repeating: FeatureResult(), count: features.count)
        results.withUnsafeMutableBufferPointer { slots in
            let box = ResultSlots(slots)
            DispatchQueue.concurrentPerform(iterations: features.count) { index in
                box.slots[index] = check(
                    feature: features[index], current: current, reference: reference,
                    config: constraints.monitoringConfig)
            }
        }
        var drifts: [ColumnDrift] = []
        for result in results {
            violations += result.violations
            if let drift = result.drift { drifts.append(drift) }
        }
        return MonitoringReport(
            rowCount: current.rowCount, violations: .init(violations: violations),
            drift: DriftDetector.datasetDrift(drifts))
    }

    private struct FeatureResult {
        var violations: [ConstraintViolations.Violation] = []
        var drift: ColumnDrift?
    }

    /// Disjoint slots written from `concurrentPerform`'s threads.
    private struct ResultSlots: @unchecked Sendable {
        let slots: UnsafeMutableBufferPointer<FeatureResult>
        init(_ slots: UnsafeMutableBufferPointer<FeatureResult>) { self.slots = slots }
    }

    private static func check(
        feature: MonitoringConstraints.Feature, current: Frame, reference: Frame,
        config: MonitoringConstraints.MonitoringConfig
    ) -> FeatureResult {
        var result = FeatureResult()
        func violation(_ type: ConstraintViolations.CheckType, _ text: String) {
            result.violations.append(.init(featureName: feature.name, constraintCheckType: type, description: text))
        }
        guard let index = current.names.firstIndex(of: feature.name) else {
            violation(.missingColumnCheck, "The baseline's column \(feature.name) is missing from the data.")
            return result
        }
        let column = current.columns[index]
        let total = column.count
        guard total > 0 else { return result }
        let referenceColumn = reference.names.firstIndex(of: feature.name).map { reference.columns[$0] }
        let comparesAsNumbers: Bool
        switch referenceColumn {
        case .numeric? where feature.inferredType.isNumeric: comparesAsNumbers = true
        case nil: comparesAsNumbers = true
        default: comparesAsNumbers = false
        }
        // Labels (the cells as text) are made only when a domain or a categorical drift test needs them.
        let needsLabels = feature.stringConstraints?.domains != nil || !comparesAsNumbers
        // Present cells, and those of the baseline's type.
        var numbers: [Double] = []
        var labels: [String] = []
        var present = 0
        switch column {
        case .numeric(let values):
            numbers.reserveCapacity(values.count)
            for value in values where !value.isNaN { numbers.append(value) }
            present = numbers.count
            if needsLabels { labels = numbers.map(label) }
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
                .completenessCheck,
                "Data completeness is \(percent(completeness)), below the baseline's \(percent(feature.completeness)).")
        }
        if feature.inferredType.isNumeric && present > 0 {
            let matching =
                feature.inferredType == .integral ? numbers.filter { $0.rounded() == $0 }.count : numbers.count
            let share = Double(matching) / Double(present)
            if share < config.datatypeCheckThreshold {
                violation(
                    .dataTypeCheck,
                    "Expected data type \(feature.inferredType.rawValue) for \(percent(config.datatypeCheckThreshold))"
                        + " of the values; observed \(percent(share)).")
            }
        }
        if let domains = feature.stringConstraints?.domains, present > 0 {
            let domain = Set(domains)
            let share = Double(labels.filter { domain.contains($0) }.count) / Double(present)
            if share < config.domainContentThreshold {
                violation(
                    .categoricalValuesCheck,
                    "\(percent(share)) of the values are in the baseline's domain; expected at least "
                        + "\(percent(config.domainContentThreshold)).")
            }
        }
        guard let referenceColumn else { return result }
        let drift: ColumnDrift?
        switch referenceColumn {
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
        guard let drift else { return result }
        result.drift = drift
        if drift.drifted && config.distributionConstraints.performComparison == "Enabled" {
            let comparison = drift.method.isPValue ? "p-value \(drift.value) below" : "distance \(drift.value) above"
            violation(
                .baselineDriftCheck,
                "Baseline drift: \(drift.method.rawValue) \(comparison) the threshold \(drift.threshold).")
        }
        return result
    }

    private static func label(_ value: Double) -> String {
        value.rounded() == value && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }

    private static func percent(_ share: Double) -> String {
        let rounded = (share * 1000).rounded() / 10
        return "\(rounded)%"
    }
}
