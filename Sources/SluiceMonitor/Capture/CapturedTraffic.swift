public import Foundation
import SluiceCore
public import SluiceML

/// One captured inference: its id, when, the request's rows and the response's values.
@MemberwiseInit
public struct CapturedInference: Sendable, Equatable {
    public var inferenceId: String
    /// ISO 8601, as captured.
    public var inferenceTime: String
    /// The request's rows; each cell a number or, when not one, its text.
    public var rows: [[CaptureCell]]
    /// The response's values, flattened.
    public var predictions: [Double]
}

/// A request cell.
public enum CaptureCell: Sendable, Equatable {
    case number(Double)
    case text(String)
    case missing
}

/// A capture line that could not be read, and where.
public struct CaptureError: Error, Sendable, CustomStringConvertible {
    public var line: Int
    public var message: String
    public var description: String { "line \(line): \(message)" }
}

/// Reads SageMaker data-capture JSON Lines (what `sluice serve` writes under `.sluice/capture/`).
public enum CapturedTraffic {
    /// Parses every line of a capture file.
    /// - Parameter bytes: the file's content.
    /// - Returns: the inferences, in file order, and the lines that could not be read.
    public static func parse(_ bytes: Data) -> (inferences: [CapturedInference], errors: [CaptureError]) {
        var inferences: [CapturedInference] = []
        var errors: [CaptureError] = []
        var lineNumber = 0
        for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }) { continue }
            do {
                inferences.append(try parseLine(Data(line)))
            } catch let error as CaptureError {
                errors.append(CaptureError(line: lineNumber, message: error.message))
            } catch {
                errors.append(CaptureError(line: lineNumber, message: "not JSON: \(error)"))
            }
        }
        return (inferences, errors)
    }

    private static func parseLine(_ line: Data) throws -> CapturedInference {
        guard let object = try JSONSerialization.jsonObject(with: line) as? [String: Any],
            let capture = object["captureData"] as? [String: Any],
            let input = capture["endpointInput"] as? [String: Any],
            let inputData = input["data"] as? String
        else { throw CaptureError(line: 0, message: "expected captureData.endpointInput.data") }
        let metadata = object["eventMetadata"] as? [String: Any]
        let rows = try requestRows(inputData, csv: (input["encoding"] as? String) == "CSV")
        var predictions: [Double] = []
        if let output = capture["endpointOutput"] as? [String: Any], let outputData = output["data"] as? String {
            predictions =
                (try? requestRows(outputData, csv: (output["encoding"] as? String) == "CSV"))?
                .flatMap { $0 }.compactMap { if case .number(let value) = $0 { value } else { nil } } ?? []
        }
        return CapturedInference(
            inferenceId: metadata?["eventId"] as? String ?? "",
            inferenceTime: metadata?["inferenceTime"] as? String ?? "",
            rows: rows, predictions: predictions)
    }

    /// Rows of a request body: CSV lines, or JSON — `[[…]]`, `[…]` (one row), a bare value, or an object with one
    /// such value (W1's `{"x": [[0.3]]}`).
    static func requestRows(_ body: String, csv: Bool) throws -> [[CaptureCell]] {
        if csv {
            return body.split(whereSeparator: \.isNewline).map { line in
                line.split(separator: ",", omittingEmptySubsequences: false).map { cell(String($0)) }
            }
        }
        let value = try JSONSerialization.jsonObject(with: Data(body.utf8), options: [.fragmentsAllowed])
        return try rows(of: value)
    }

    private static func rows(of value: Any) throws -> [[CaptureCell]] {
        if let object = value as? [String: Any] {
            guard object.count == 1, let only = object.values.first else {
                throw CaptureError(line: 0, message: "a JSON request object must hold one key, e.g. {\"x\": [[0.3]]}")
            }
            return try rows(of: only)
        }
        if let list = value as? [Any] {
            if list.allSatisfy({ $0 is [Any] }) { return list.map { ($0 as! [Any]).map(jsonCell) } }
            return [list.map(jsonCell)]
        }
        return [[jsonCell(value)]]
    }

    private static func jsonCell(_ value: Any) -> CaptureCell {
        if let string = value as? String { return cell(string) }
        if value is NSNull { return .missing }
        if let number = value as? NSNumber { return .number(number.doubleValue) }
        return .text("\(value)")
    }

    private static func cell(_ text: String) -> CaptureCell {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty { return .missing }
        if let number = Double(trimmed) { return .number(number) }
        return .text(trimmed)
    }

    /// The requests' rows as a frame whose columns take the baseline's feature names by position; cells beyond
    /// them become `column_N`. A column with any text cell is a text column.
    public static func frame(_ inferences: [CapturedInference], featureNames: [String]) -> Frame {
        let rows = inferences.flatMap(\.rows)
        let width = rows.map(\.count).max() ?? 0
        var names: [String] = []
        var columns: [Column] = []
        for index in 0..<width {
            names.append(index < featureNames.count ? featureNames[index] : "column_\(index + 1)")
            let cells = rows.map { index < $0.count ? $0[index] : .missing }
            if cells.contains(where: { if case .text = $0 { true } else { false } }) {
                columns.append(
                    .text(
                        cells.map {
                            switch $0 {
                            case .number(let value): String(value)
                            case .text(let text): text
                            case .missing: nil
                            }
                        }))
            } else {
                columns.append(.numeric(cells.map { if case .number(let value) = $0 { value } else { .nan } }))
            }
        }
        return Frame(names: names, columns: columns)
    }
}
