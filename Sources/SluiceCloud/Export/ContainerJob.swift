import Foundation
public import SluiceCore

/// The contract between an exported SageMaker job and `sluice job` inside Sluice's image: where the module spec,
/// the inputs and the outputs are.
///
/// - Processing layout: file inputs in `/opt/ml/processing/input/<InputKey>/`, outputs written to
///   `/opt/ml/processing/output/<OutputKey>/` (a value or report as `value.json` there).
/// - Training layout: file inputs in `/opt/ml/input/data/<InputKey>/`, the model output in `/opt/ml/model/`, other
///   outputs in `/opt/ml/output/data/<OutputKey>/`.
///
/// In both, value inputs arrive as environment variables `SLUICE_INPUT_<INPUTKEY>` (the text of a string, JSON for
/// anything else).
public enum ContainerJob {
    public enum Layout: String, Sendable, CaseIterable {
        case processing, training
    }

    public static let modulesFolder = "/opt/sluice/modules"
    public static let processingInputRoot = "/opt/ml/processing/input"
    public static let processingOutputRoot = "/opt/ml/processing/output"
    public static let trainingInputRoot = "/opt/ml/input/data"
    public static let trainingModelFolder = "/opt/ml/model"
    public static let trainingOutputRoot = "/opt/ml/output/data"
    /// The step's name, for logs.
    public static let stepVariable = "SLUICE_STEP"
    /// The file a value or report output is written to inside its output folder.
    public static let valueFile = "value.json"

    /// The environment variable carrying a value input.
    public static func inputVariable(_ port: String) -> String { "SLUICE_INPUT_" + ExportNames.key(port).uppercased() }

    /// The environment variable telling a container step where an output goes (ECS tasks).
    public static func outputVariable(_ port: String) -> String {
        "SLUICE_OUTPUT_" + ExportNames.key(port).uppercased()
    }

    /// The folder name of a port below the input or output root.
    public static func folder(_ port: String) -> String { ExportNames.key(port) }

    /// The module spec's file name inside `modulesFolder`.
    public static func moduleFile(_ module: String) -> String { ExportNames.key(module) + ".json" }

    /// The command the image runs for one module.
    public static func entrypoint(module: String, layout: Layout) -> [String] {
        ["sluice", "job", "--module", "\(modulesFolder)/\(moduleFile(module))", "--layout", layout.rawValue]
    }
}

/// Sluice's own image, as `sluice export` writes it: the `sluice` binary and the exported module specs.
enum SluiceImage {
    static let dockerfile = """
        # Sluice's image for exported pipelines: SageMaker runs `sluice job` in it for each built-in step.
        # Build it from this folder once a Linux release binary is beside this file:
        #   swift build -c release --static-swift-stdlib && cp .build/release/sluice <this folder>/
        #   docker build -t <account>.dkr.ecr.<region>.amazonaws.com/sluice:latest <this folder>
        FROM debian:12-slim
        RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates tar gzip \\
            && rm -rf /var/lib/apt/lists/*
        COPY sluice /usr/local/bin/sluice
        COPY modules/ /opt/sluice/modules/
        ENV SLUICE_HOME=/tmp/sluice
        ENTRYPOINT ["sluice"]

        """
}

/// Reads a job's inputs from its folders and environment and writes its outputs back, for `sluice job`.
@MemberwiseInit
public struct ContainerJobFolders: Sendable {
    public var layout: ContainerJob.Layout
    /// What `/opt/ml` stands for (another folder when testing without a container).
    public var root: String = "/opt/ml"
    /// A scratch folder for unpacked model archives.
    public var scratch: String

    func rooted(_ path: String) -> String { root + path.dropFirst("/opt/ml".count) }

    var inputRoot: String {
        rooted(layout == .processing ? ContainerJob.processingInputRoot : ContainerJob.trainingInputRoot)
    }

    /// Where an output is written: its folder below the output root; a training job's model goes to `/opt/ml/model`.
    public func outputFolder(_ port: Module.Port) -> String {
        switch layout {
        case .processing: rooted(ContainerJob.processingOutputRoot) + "/" + ContainerJob.folder(port.name)
        case .training:
            port.type == .model
                ? rooted(ContainerJob.trainingModelFolder)
                : rooted(ContainerJob.trainingOutputRoot) + "/" + ContainerJob.folder(port.name)
        }
    }

    /// Every input the module gets: files from input folders (a folder holding one file reads as that file, a
    /// `model.tar.gz` is unpacked), values from `SLUICE_INPUT_*`, else the port's default.
    public func inputs(of module: Module, environment: [String: String]) throws -> [String: JSONValue] {
        var inputs: [String: JSONValue] = [:]
        let files = FileManager.default
        for port in module.inputs {
            let folder = inputRoot + "/" + ContainerJob.folder(port.name)
            var isFolder: ObjCBool = false
            if files.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue {
                let contents = try regularFiles(under: folder)
                if port.type.isLocation && port.type != .report {
                    var single = contents.count == 1 ? contents[0] : nil
                    if let archive = single, archive.hasSuffix(".tar.gz") {
                        single = try unpack(archive, into: scratch + "/" + ContainerJob.folder(port.name))
                    }
                    inputs[port.name] = .string(single ?? folder)
                } else if port.type == .report {
                    inputs[port.name] = .string(
                        contents.first { $0.hasSuffix(ContainerJob.valueFile) } ?? contents.first ?? folder)
                } else if let file = contents.first {
                    let data = try Data(contentsOf: URL(fileURLWithPath: file))
                    inputs[port.name] = try JSONDecoder().decode(JSONValue.self, from: data)
                }
            } else if let text = environment[ContainerJob.inputVariable(port.name)] {
                if port.type == .string || port.type.isLocation {
                    inputs[port.name] = .string(text)
                } else {
                    inputs[port.name] =
                        (try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))) ?? .string(text)
                }
            } else if let value = port.value {
                inputs[port.name] = value
            }
        }
        return inputs
    }

    /// Writes each output where SageMaker uploads it from: files and folders copied in, a report as `value.json`,
    /// any other value as JSON in `value.json`.
    public func store(_ outputs: [String: JSONValue], of module: Module) throws {
        let files = FileManager.default
        for port in module.outputs {
            guard let value = outputs[port.name] else { continue }
            let folder = outputFolder(port)
            try files.createDirectory(atPath: folder, withIntermediateDirectories: true)
            var isFolder: ObjCBool = false
            if port.type.isLocation, let path = value.string, files.fileExists(atPath: path, isDirectory: &isFolder) {
                if port.type == .report {
                    try copy(path, to: folder + "/" + ContainerJob.valueFile)
                } else if isFolder.boolValue {
                    for name in try files.contentsOfDirectory(atPath: path) {
                        try copy(path + "/" + name, to: folder + "/" + name)
                    }
                } else {
                    try copy(path, to: folder + "/" + (path as NSString).lastPathComponent)
                }
            } else {
                try Data(value.prettyJSON.utf8).write(
                    to: URL(fileURLWithPath: folder + "/" + ContainerJob.valueFile), options: .atomic)
            }
        }
    }

    func copy(_ source: String, to destination: String) throws {
        if FileManager.default.fileExists(atPath: destination) {
            try FileManager.default.removeItem(atPath: destination)
        }
        try FileManager.default.copyItem(atPath: source, toPath: destination)
    }

    func regularFiles(under folder: String) throws -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: folder) else { return [] }
        var found: [String] = []
        while let relative = walker.nextObject() as? String {
            var isFolder: ObjCBool = false
            let path = folder + "/" + relative
            if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue {
                found.append(path)
            }
        }
        return found.sorted()
    }

    /// Unpacks a SageMaker model archive; the single file inside when there is one, else the folder.
    func unpack(_ archive: String, into folder: String) throws -> String {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        tar.arguments = ["tar", "-xzf", archive, "-C", folder]
        try tar.run()
        tar.waitUntilExit()
        guard tar.terminationStatus == 0 else {
            throw ContainerJobError(message: "cannot unpack \(archive) (tar exited with \(tar.terminationStatus))")
        }
        let contents = try regularFiles(under: folder)
        return contents.count == 1 ? contents[0] : folder
    }
}

/// A job's folders are not what the exported definition promised.
public struct ContainerJobError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
