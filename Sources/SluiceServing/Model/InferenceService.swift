import Foundation
import NIOCore
public import SluiceCore

/// How a prediction is written back.
public enum ResponseShape: Sendable {
    /// `/invocations`: CSV in → one prediction per line; JSON in → `{"predictions": […]}`.
    case invocations
    /// W1's `/stream`: one row in → a bare number (or a list when the model predicts several numbers).
    case stream
    /// W1's `/batch`: n rows in → a list of n lists.
    case batch
    /// Predict-by-id and feature lookups: a JSON object naming a record id in → a JSON object.
    case byID
}

/// The answer to one invocation.
@MemberwiseInit
public struct Invocation: Sendable {
    /// Response body.
    public var body: ByteBuffer
    /// Response content type.
    public var contentType: String
    /// The variant that answered.
    public var variant: String
    /// The id the inference was captured under (nil when it was not captured): ground truth is sent with it.
    public var inferenceId: String?
}

/// Authenticates, throttles, decodes, routes to a variant, predicts, encodes and captures: everything a serving
/// request does except HTTP itself.
public final class InferenceService: Sendable {
    /// The live endpoints.
    public let endpoints: EndpointTable
    /// Accepted API keys.
    public let keyring: APIKeyring
    /// Usage-plan enforcement.
    public let meter: UsageMeter
    /// Where sampled requests go, when capture is on.
    public let capture: CaptureWriter?
    /// Where predict-by-id reads feature records; nil = predict-by-id is off.
    public let features: (any FeatureStore)?
    private let sampler: CaptureSampler
    private let clock: any WallClock
    private let inferenceIds = InferenceIDGenerator()

    /// Creates the service.
    /// - Parameters:
    ///   - endpoints: the endpoint table.
    ///   - keyring: accepted keys.
    ///   - capture: the capture writer, nil to capture nothing.
    ///   - captureSeed: seed of the sampling draws.
    ///   - clock: stamps captured records.
    public init(
        endpoints: EndpointTable,
        keyring: APIKeyring,
        meter: UsageMeter = UsageMeter(),
        capture: CaptureWriter? = nil,
        features: (any FeatureStore)? = nil,
        captureSeed: UInt64 = 0x5EED,
        clock: any WallClock = SystemWallClock()
    ) {
        self.clock = clock
        self.endpoints = endpoints
        self.keyring = keyring
        self.meter = meter
        self.capture = capture
        self.features = features
        self.sampler = CaptureSampler(seed: captureSeed)
    }

    /// Checks the key (and its endpoint scope, when `endpoint` is given) and its usage plan at `now` (seconds since
    /// 1970).
    public func authorize(key: String?, endpoint: String? = nil, now: Double) throws(ServingError) {
        let record = try keyring.authenticate(key, endpoint: endpoint)
        try meter.admit(record, now: now)
    }

    /// Runs one inference.
    /// - Parameters:
    ///   - stage: the live stage (from `endpoints.stage(endpoint:stage:)`).
    ///   - body: the request body.
    ///   - contentType: the request's Content-Type header, if any.
    ///   - shape: how to answer.
    ///   - targetVariant: the `X-Amzn-SageMaker-Target-Variant` header, if any.
    ///   - inferenceId: the `X-Amzn-SageMaker-Inference-Id` header, if any: the id to capture the inference under.
    ///   - allocator: allocates the response buffer.
    public func invoke(
        _ stage: LiveStage,
        body: ByteBuffer,
        contentType: String?,
        shape: ResponseShape,
        targetVariant: String?,
        inferenceId: String? = nil,
        allocator: ByteBufferAllocator
    ) throws(ServingError) -> Invocation {
        let format = try inputFormat(contentType, stage: stage, shape: shape)
        // Draw only when there is a choice: the system generator costs a syscall.
        let random = stage.deployment.variants.count > 1 && targetVariant == nil ? Double.random(in: 0..<1) : 0
        let variant = try stage.variant(target: targetVariant, random: random)
        let predictor = variant.predictor
        let rows = try decode(body, format: format, width: predictor.inputWidth)
        if shape == .stream && rows.rowCount != 1 {
            throw ServingError(
                .validation,
                "/stream takes exactly one row but the body has \(rows.rowCount); send several rows to /batch."
            )
        }
        let output = try predict(predictor, rows, variant: variant.name)
        let (buffer, outputType) = Self.encode(
            output, rows: rows.rowCount, width: predictor.outputWidth, shape: shape, format: format,
            allocator: allocator
        )
        let captured = captureIfSampled(
            stage, variant: variant.name, inferenceId: inferenceId, inputType: format.rawValue, input: body,
            outputType: outputType, output: buffer
        ) { shadow in
            guard let shadowOutput = try? predict(shadow.predictor, rows, variant: shadow.name) else { return nil }
            return Self.encode(
                shadowOutput, rows: rows.rowCount, width: shadow.predictor.outputWidth, shape: shape,
                format: format, allocator: allocator
            ).0
        }
        return Invocation(body: buffer, contentType: outputType, variant: variant.name, inferenceId: captured)
    }

    /// The latest feature map of record `id` in the feature group of `stage`'s endpoint.
    public func features(of id: String, stage: LiveStage) throws(ServingError) -> [String: JSONValue] {
        let lookup = try featureLookup(stage)
        let record: FeatureRecord?
        do {
            record = try features?.latestFeatureRecord(group: lookup.group, recordID: id)
        } catch {
            throw ServingError(.unknownRecord, "Feature group '\(lookup.group)' cannot be read: \(error)")
        }
        guard let record else {
            throw ServingError(
                .unknownRecord, "no feature record for \(lookup.idField) '\(id)' in feature group '\(lookup.group)'")
        }
        return record.features
    }

    /// Predicts for record `id`: its latest features, in the order the model takes them, through one variant;
    /// answers `{"result": "<prediction>"}` and is captured as the stage's other requests are.
    /// - Parameters:
    ///   - stage: the live stage; its deployment must have a feature lookup.
    ///   - id: the record id.
    ///   - body: the request body, kept as the captured input.
    ///   - targetVariant: the `X-Amzn-SageMaker-Target-Variant` header, if any.
    public func invoke(
        _ stage: LiveStage, recordID id: String, body: ByteBuffer, targetVariant: String?,
        allocator: ByteBufferAllocator
    ) throws(ServingError) -> Invocation {
        let record = try features(of: id, stage: stage)
        let random = stage.deployment.variants.count > 1 && targetVariant == nil ? Double.random(in: 0..<1) : 0
        let variant = try stage.variant(target: targetVariant, random: random)
        func row(for predictor: any Predictor, variant: String) throws(ServingError) -> FeatureRows {
            guard let names = predictor.inputNames, names.count == predictor.inputWidth else {
                throw ServingError(
                    .modelError,
                    "Variant '\(variant)' does not name its input features, so it cannot predict from a feature "
                        + "record; deploy a model trained by Sluice (its model.json names them).")
            }
            // A feature the record lacks is missing (NaN), as an empty CSV cell is: the model's imputation applies.
            return FeatureRows(
                values: names.map { record[$0]?.number ?? .nan }, rowCount: 1, columnCount: names.count)
        }
        let output = try predict(
            variant.predictor, row(for: variant.predictor, variant: variant.name), variant: variant.name)
        func answer(_ output: [Double]) -> ByteBuffer {
            let value = output[0]
            let text = value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
            var buffer = allocator.buffer(capacity: text.utf8.count + 16)
            buffer.writeString(JSONValue.object(["result": .string(text)]).canonicalJSON)
            return buffer
        }
        let buffer = answer(output)
        captureIfSampled(
            stage, variant: variant.name, inputType: InputFormat.json.rawValue, input: body,
            outputType: "application/json", output: buffer
        ) { shadow in
            guard let rows = try? row(for: shadow.predictor, variant: shadow.name),
                let output = try? predict(shadow.predictor, rows, variant: shadow.name)
            else { return nil }
            return answer(output)
        }
        return Invocation(body: buffer, contentType: "application/json", variant: variant.name)
    }

    private func featureLookup(_ stage: LiveStage) throws(ServingError) -> FeatureLookup {
        guard let lookup = stage.deployment.featureLookup, features != nil else {
            throw ServingError(
                .validation,
                "Endpoint '\(stage.endpoint)' does not look up features; turn it on with `sluice endpoints deploy "
                    + "\(stage.endpoint) Group/N --features GROUP --id-field FIELD`.")
        }
        return lookup
    }

    /// Writes the request and its answer to the capture (and the shadow's answer, from `shadowOutput`) when the
    /// stage's sampling picks it.
    /// - Parameter inferenceId: the client's id for the inference; nil generates one.
    /// - Returns: the id the inference was captured under, nil when it was not captured.
    @discardableResult
    private func captureIfSampled(
        _ stage: LiveStage, variant: String, inferenceId clientID: String? = nil, inputType: String,
        input: ByteBuffer, outputType: String, output: ByteBuffer, shadowOutput: (Variant) -> ByteBuffer?
    ) -> String? {
        guard let capture, sampler.shouldCapture(percentage: stage.deployment.capturePercentage) else { return nil }
        let now = clock.now
        let inferenceId = clientID.flatMap { $0.isEmpty ? nil : $0 } ?? inferenceIds.next()
        capture.submit(
            CaptureRecord(
                endpoint: stage.endpoint, stage: stage.stage.rawValue, variant: variant, inferenceId: inferenceId,
                time: now,
                inputContentType: inputType, input: input, outputContentType: outputType, output: output
            )
        )
        if let shadow = stage.deployment.shadow, let shadowBuffer = shadowOutput(shadow) {
            capture.submit(
                CaptureRecord(
                    endpoint: stage.endpoint, stage: stage.stage.rawValue, variant: shadow.name,
                    inferenceId: inferenceId,
                    time: now,
                    inputContentType: inputType, input: input, outputContentType: outputType, output: shadowBuffer
                )
            )
        }
        return inferenceId
    }

    private func inputFormat(_ contentType: String?, stage: LiveStage, shape: ResponseShape) throws(ServingError)
        -> InputFormat
    {
        guard let contentType, !contentType.isEmpty else {
            if shape != .invocations { return .json }
            throw unsupported("(none)", accepted: stage.deployment.formats)
        }
        if let format = InputFormat(contentType: contentType) {
            // W1's routes take both formats; `/invocations` takes the deployment's.
            if shape != .invocations || stage.deployment.formats.contains(format) { return format }
            throw unsupported(contentType, accepted: stage.deployment.formats)
        }
        // W1's routes read the body as JSON whatever `curl -d` labels it (API Gateway passes the body through).
        if shape != .invocations, contentType.hasPrefix("application/x-www-form-urlencoded") { return .json }
        throw unsupported(contentType, accepted: shape == .invocations ? stage.deployment.formats : [.json, .csv])
    }

    private func unsupported(_ contentType: String, accepted: Set<InputFormat>) -> ServingError {
        if accepted == [.csv] {
            return ServingError(.unsupportedMediaType, "Invalid request data type, only 'text/csv' is supported.")
        }
        let names = accepted.map(\.rawValue).sorted().map { "'\($0)'" }.joined(separator: " or ")
        return ServingError(
            .unsupportedMediaType,
            "Unsupported Content-Type '\(contentType)'; send \(names)."
        )
    }

    private func decode(_ body: ByteBuffer, format: InputFormat, width: Int) throws(ServingError) -> FeatureRows {
        let result: Result<FeatureRows, ServingError> = body.withUnsafeReadableBytes { bytes in
            do throws(ServingError) {
                return .success(try InputDecoder.decode(bytes, format: format, width: width))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    private func predict(_ predictor: any Predictor, _ rows: FeatureRows, variant: String) throws(ServingError)
        -> [Double]
    {
        let output: [Double]
        do {
            output = try predictor.predict(rows)
        } catch {
            throw ServingError(.modelError, "Variant '\(variant)' failed to predict: \(error)")
        }
        guard output.allSatisfy(\.isFinite) else {
            throw ServingError(.modelError, "Variant '\(variant)' produced a non-finite prediction for this input.")
        }
        return output
    }

    /// Writes predictions in the shape the route promises.
    static func encode(
        _ output: [Double],
        rows: Int,
        width: Int,
        shape: ResponseShape,
        format: InputFormat,
        allocator: ByteBufferAllocator
    ) -> (ByteBuffer, String) {
        var buffer = allocator.buffer(capacity: 24 * output.count + 8)
        func writeRow(_ row: Int, bracketed: Bool) {
            if bracketed { buffer.writeStaticString("[") }
            for j in 0..<width {
                if j > 0 { buffer.writeStaticString(",") }
                buffer.writeString(output[row * width + j].description)
            }
            if bracketed { buffer.writeStaticString("]") }
        }
        switch shape {
        case .stream, .byID:
            writeRow(0, bracketed: width != 1)
            return (buffer, "application/json")
        case .batch:
            buffer.writeStaticString("[")
            for row in 0..<rows {
                if row > 0 { buffer.writeStaticString(",") }
                writeRow(row, bracketed: true)
            }
            buffer.writeStaticString("]")
            return (buffer, "application/json")
        case .invocations:
            if format == .csv {
                for row in 0..<rows {
                    writeRow(row, bracketed: false)
                    buffer.writeStaticString("\n")
                }
                return (buffer, "text/csv")
            }
            buffer.writeStaticString("{\"predictions\":[")
            for row in 0..<rows {
                if row > 0 { buffer.writeStaticString(",") }
                writeRow(row, bracketed: width != 1)
            }
            buffer.writeStaticString("]}")
            return (buffer, "application/json")
        }
    }
}
