public import Foundation
public import SluiceCore

/// A Lambda module's code as AWS Lambda takes it: a zip of its handler file and the Python files beside it, the
/// handler as `module.function`, and a runtime.
public struct FunctionPackage: Sendable {
    /// The zip archive's bytes.
    public var zip: [UInt8]
    /// `handler.main` for `handler.py:main`.
    public var handler: String
    /// `python3.12` for the local `python3`.
    public var runtime: String

    /// The Python runtime a local `python3` stands for on Lambda.
    static let defaultRuntime = "python3.12"

    /// Packages `module`'s handler; nil when the module has no local handler file (`implementation: lambda:`).
    /// - Throws: `StepFunctionsError` naming the handler file when it cannot be read.
    public init?(module: Module) throws {
        guard case .lambda(let handler, let runtime) = module.implementation else { return nil }
        let parts = handler.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, parts[0].hasSuffix(".py") else { return nil }
        // The handler's path is relative to the module's folder, as when it runs here.
        let folder = module.baseDirectory
        let file = parts[0].hasPrefix("/") ? parts[0] : (folder as NSString).appendingPathComponent(parts[0])
        let directory = (file as NSString).deletingLastPathComponent
        guard FileManager.default.fileExists(atPath: file) else {
            throw StepFunctionsError(
                message:
                    "\(file): no such handler file for module '\(module.name)' (implementation: lambda: \(handler))")
        }
        var entries: [(name: String, bytes: [UInt8])] = []
        let siblings = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in siblings.sorted() where name.hasSuffix(".py") {
            guard let data = FileManager.default.contents(atPath: directory + "/" + name) else {
                throw StepFunctionsError(message: "\(directory)/\(name): cannot read it; check its permissions")
            }
            entries.append((name, [UInt8](data)))
        }
        zip = ZipArchive.stored(entries)
        self.handler = ((file as NSString).lastPathComponent as NSString).deletingPathExtension + "." + parts[1]
        self.runtime = runtime.hasPrefix("python3.") ? runtime : Self.defaultRuntime
    }
}

/// Zip archives whose entries are stored (not compressed): what Lambda needs for a few source files.
enum ZipArchive {
    static func stored(_ entries: [(name: String, bytes: [UInt8])]) -> [UInt8] {
        var archive: [UInt8] = []
        var directory: [UInt8] = []
        func put16(_ value: Int, _ bytes: inout [UInt8]) {
            bytes += [UInt8(value & 0xff), UInt8((value >> 8) & 0xff)]
        }
        func put32(_ value: UInt32, _ bytes: inout [UInt8]) {
            bytes += (0..<4).map { UInt8((value >> (8 * $0)) & 0xff) }
        }
        for entry in entries {
            let name = Array(entry.name.utf8)
            let checksum = CRC32.checksum(entry.bytes)
            let offset = UInt32(archive.count)
            // version, flags (UTF-8 names), method (stored), time, date (1980-01-01), CRC, sizes, name length.
            func common(_ bytes: inout [UInt8]) {
                put16(20, &bytes)
                put16(0x0800, &bytes)
                put16(0, &bytes)
                put16(0, &bytes)
                put16(0x21, &bytes)
                put32(checksum, &bytes)
                put32(UInt32(entry.bytes.count), &bytes)
                put32(UInt32(entry.bytes.count), &bytes)
                put16(name.count, &bytes)
            }
            put32(0x0403_4b50, &archive)
            common(&archive)
            put16(0, &archive)
            archive += name + entry.bytes
            put32(0x0201_4b50, &directory)
            put16(0x0314, &directory)  // made by: Unix, version 2.0
            common(&directory)
            for _ in 0..<4 { put16(0, &directory) }  // extra, comment, disk, internal attributes
            put32(0o100644 << 16, &directory)  // external attributes: a regular file, rw-r--r--
            put32(offset, &directory)
            directory += name
        }
        let directoryOffset = UInt32(archive.count)
        archive += directory
        put32(0x0605_4b50, &archive)
        put16(0, &archive)
        put16(0, &archive)
        put16(entries.count, &archive)
        put16(entries.count, &archive)
        put32(UInt32(directory.count), &archive)
        put32(directoryOffset, &archive)
        put16(0, &archive)
        return archive
    }
}

/// The Lambda API calls `sluice aws deploy` makes (REST JSON over `AWSHTTPClient`).
public struct LambdaClient: Sendable {
    let http: AWSHTTPClient

    /// A client for the configured Lambda endpoint (`AWS_ENDPOINT_URL_LAMBDA`, `AWS_ENDPOINT_URL`, else AWS).
    public init(configuration: AWSConfiguration, now: @escaping @Sendable () -> Date = { Date() }) throws {
        http = try AWSHTTPClient(
            configuration: configuration, serviceID: "LAMBDA", signingName: "lambda", hostPrefix: "lambda", now: now)
    }

    /// Creates function `name` from `package`, or, when it exists, replaces its code and sets its handler, runtime
    /// and role.
    /// - Returns: the function's ARN and whether it was created.
    public func createOrUpdate(name: String, package: FunctionPackage, roleArn: String) async throws -> (
        arn: String, created: Bool
    ) {
        let code = Data(package.zip).base64EncodedString()
        let configuration: [String: JSONValue] = [
            "Handler": .string(package.handler), "Runtime": .string(package.runtime), "Role": .string(roleArn),
        ]
        var create = configuration
        create["FunctionName"] = .string(name)
        create["Code"] = ["ZipFile": .string(code)]
        let (status, answer) = try await call("POST", "/2015-03-31/functions", .object(create))
        if (200..<300).contains(status) { return (answer["FunctionArn"]?.string ?? name, true) }
        guard status == 409 else { throw failure("CreateFunction", name, status, answer) }
        let (codeStatus, updated) = try await call(
            "PUT", "/2015-03-31/functions/\(name)/code", ["ZipFile": .string(code)])
        guard (200..<300).contains(codeStatus) else { throw failure("UpdateFunctionCode", name, codeStatus, updated) }
        let (settingsStatus, settings) = try await call(
            "PUT", "/2015-03-31/functions/\(name)/configuration", .object(configuration))
        guard (200..<300).contains(settingsStatus) else {
            throw failure("UpdateFunctionConfiguration", name, settingsStatus, settings)
        }
        return (updated["FunctionArn"]?.string ?? name, false)
    }

    private func call(_ method: String, _ path: String, _ body: JSONValue) async throws -> (Int, JSONValue) {
        let request = AWSRequest(method: method, path: path, headers: [("Content-Type", "application/json")])
        let response = try await http.send(request, body: Array(body.canonicalJSON.utf8))
        return (response.status, (try? JSONDecoder().decode(JSONValue.self, from: Data(response.body))) ?? .null)
    }

    private func failure(_ operation: String, _ name: String, _ status: Int, _ answer: JSONValue) -> StepFunctionsError
    {
        let type = answer["Type"]?.string ?? answer["__type"]?.string ?? ""
        let message = answer["Message"]?.string ?? answer["message"]?.string ?? answer.canonicalJSON
        return StepFunctionsError(
            type: type,
            message: "\(operation) of function '\(name)' at \(http.location): HTTP \(status) \(type): \(message)")
    }
}
