/// Makes a model version's monitoring baseline from its training data and attaches it to the version.
///
/// The `monitor.baseline` built-in and `sluice monitor baseline` both go through it.
public protocol BaselineMaking: Sendable {
    /// Writes `statistics.json` and `constraints.json` of `group/version` into `folder` from the CSV file `data`,
    /// and attaches them (with the data, for the drift tests) to the version.
    /// - Parameter features: the features in request order; nil takes the model's input columns, else all columns.
    /// - Returns: the features the baseline describes.
    func makeBaseline(group: String, version: Int, data: String, features: [String]?, folder: String) throws
        -> [String]
}

/// One ground-truth label: the inference it belongs to and the true value (a number, a label, or one per row of a
/// batch request).
@MemberwiseInit
public struct GroundTruthLabel: Hashable, Sendable {
    /// The id the server returned in `x-sluice-inference-id` (and captured as the event id).
    public var inferenceId: String
    public var label: JSONValue
}

/// Where ground truth is kept, for the monitor to join with the capture.
public protocol GroundTruthStoring: Sendable {
    /// Whether an endpoint of this name exists.
    func endpointExists(_ name: String) throws -> Bool
    /// Keeps `labels` for `endpoint` (a label sent again for the same inference replaces the earlier one).
    /// - Returns: how many labels were kept.
    func recordGroundTruth(endpoint: String, labels: [GroundTruthLabel], now: Double) throws -> Int
}
