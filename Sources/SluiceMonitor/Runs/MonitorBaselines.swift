public import Foundation
public import SluiceCore
import SluiceML

/// Makes baselines: reads training data, writes Model Monitor's files, keeps them as artifacts of a model version.
@MemberwiseInit
public struct MonitorBaselines: BaselineMaking {
    /// Where the versions are and the baseline is attached.
    let store: any MonitorStoring & ModelRegistry
    /// Where the files and the training data are kept (and where a model's file is looked up).
    let artifacts: any ArtifactStoring & ArtifactLocating
    var clock: any WallClock = SystemWallClock()

    public func makeBaseline(group: String, version: Int, data: String, features: [String]?, folder: String) throws
        -> [String]
    {
        guard let record = try store.modelVersion(group: group, version: version) else {
            throw RequestError(
                code: "unknown-model-version",
                message: "no model version \(group)/\(version); list them with `sluice models list \(group)`")
        }
        let frame: Frame
        do {
            frame = try CSVReader.read(path: data)
        } catch {
            throw RequestError(code: "unreadable-data", message: "cannot read the training data \(data): \(error)")
        }
        let chosen = features ?? modelInputColumns(record) ?? frame.names
        let baseline: Baseline
        do {
            baseline = try Baseline(data: frame, features: chosen)
        } catch {
            throw RequestError(code: "bad-features", message: "\(data): \(error); name the features with --features")
        }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try MonitoringJSON.encoder.encode(baseline.statistics).write(
            to: URL(fileURLWithPath: "\(folder)/statistics.json"))
        try MonitoringJSON.encoder.encode(baseline.constraints).write(
            to: URL(fileURLWithPath: "\(folder)/constraints.json"))
        try store.setMonitorBaseline(
            MonitorBaselineRecord(
                group: group, version: version,
                statisticsHash: try artifacts.ingest(path: "\(folder)/statistics.json").hash,
                constraintsHash: try artifacts.ingest(path: "\(folder)/constraints.json").hash,
                referenceHash: try artifacts.ingest(path: data).hash, features: chosen, createdAt: clock.now))
        return chosen
    }

    private func modelInputColumns(_ record: ModelVersionRecord) -> [String]? {
        var path = record.artifactPath
        if !FileManager.default.fileExists(atPath: path) {
            path = artifacts.location(of: record.artifactHash)
        }
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
            path += "/model.json"
        }
        guard let model = try? ModelArtifact.load(path: path) else { return nil }
        // Requests carry the features themselves unless the model transforms raw input columns first.
        return model.transforms.isEmpty ? model.features : model.inputColumns
    }
}
