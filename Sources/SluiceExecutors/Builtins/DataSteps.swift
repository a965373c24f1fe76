import Foundation
import SluiceCore
import SluiceML

/// `data.validate`: checks declared columns (type, required, min, max) and writes a violations report.
///
/// Inputs: `data` (CSV). Options: `columns` — `{name: {type: number|text, required: bool, min, max}}`;
/// `fail_on_violation` (default true); `chunk_rows` (65536) — rows checked at a time, so files may be larger than
/// memory. Outputs: `report` (JSON file), `valid`, `violations`, `rows`.
struct DataValidateStep: ArgumentStep {
    let name = "data.validate"

    func run(_ args: StepArguments) async throws -> [String: JSONValue] {
        let path = try args.dataFile("data")
        let rules = args.value("columns")?.object ?? [:]
        struct Violation: Encodable {
            var column: String
            var line: Int?
            var problem: String
        }
        var violations: [Violation] = []
        // The file is read in chunks of rows, so it may be larger than memory.
        let chunkRows = try args.chunkRows()
        let reader = try args.wrap { () throws(MLError) in try CSVChunkReader(path: path, chunkRows: chunkRows) }
        var rowCount = 0
        var reported: Set<String> = []  // columns whose one-per-file violation is already in the report
        while let frame = try args.wrap({ () throws(MLError) in try reader.next() }) {
            let headerLines = 2 + rowCount  // data row i of this chunk is line i + 2 + rows before it
            for (column, rule) in rules.sorted(by: { $0.key < $1.key }) {
                guard let index = frame.names.firstIndex(of: column) else {
                    if reported.insert(column).inserted {
                        violations.append(Violation(column: column, line: nil, problem: "column is missing"))
                    }
                    continue
                }
                let required = rule["required"]?.bool ?? false
                switch (rule["type"]?.string ?? "number", frame.columns[index]) {
                case ("number", .text(let cells)):
                    if !reported.contains(column),
                        let i = cells.firstIndex(where: { $0 != nil && parseNumber($0!) == nil })
                    {
                        reported.insert(column)
                        violations.append(
                            Violation(column: column, line: i + headerLines, problem: "'\(cells[i]!)' is not a number"))
                    }
                case (_, .numeric(let values)):
                    for (i, v) in values.enumerated() {
                        if v.isNaN {
                            if required {
                                violations.append(
                                    Violation(column: column, line: i + headerLines, problem: "value is missing"))
                            }
                            continue
                        }
                        if let low = rule["min"]?.number, v < low {
                            violations.append(
                                Violation(column: column, line: i + headerLines, problem: "\(v) is below \(low)"))
                        }
                        if let high = rule["max"]?.number, v > high {
                            violations.append(
                                Violation(column: column, line: i + headerLines, problem: "\(v) is above \(high)"))
                        }
                    }
                case (_, .text(let cells)):
                    if required, !reported.contains(column), let i = cells.firstIndex(where: { $0 == nil }) {
                        reported.insert(column)
                        violations.append(Violation(column: column, line: i + headerLines, problem: "value is missing"))
                    }
                }
            }
            rowCount += frame.rowCount
        }
        struct Report: Encodable {
            var file: String
            var rows: Int
            var valid: Bool
            var violations: [Violation]
        }
        let report = try args.writeJSON(
            Report(file: path, rows: rowCount, valid: violations.isEmpty, violations: violations),
            to: "violations.json")
        if !violations.isEmpty, try args.bool("fail_on_violation") ?? true {
            let first = violations[0]
            throw StepFailure(
                "Sluice.SchemaViolation",
                cause: "\(path)\(first.line.map { ":\($0)" } ?? ""), column '\(first.column)': \(first.problem) "
                    + "(\(violations.count) violation(s); report \(report))")
        }
        return [
            "report": .string(report), "valid": .bool(violations.isEmpty), "violations": .int(violations.count),
            "rows": .int(rowCount),
        ]
    }
}

/// `data.split`: splits a CSV by ratios (seeded shuffle), stratified by a label, or by position.
///
/// Inputs: `data`. Options: `ratios` (default [0.7, 0.15, 0.15]), `names` (default train, validation, test),
/// `seed` (shuffle when given), `stratify` (label column), `first` (positional: first N rows, then the rest),
/// `write_header` (default true). Outputs: one CSV path per name, and `<name>_rows`.
struct DataSplitStep: ArgumentStep {
    let name = "data.split"

    func run(_ args: StepArguments) async throws -> [String: JSONValue] {
        let frame = try args.frame("data")
        let parts: [[Int]]
        var names = try args.strings("names")
        if let first = try args.number("first") {
            parts = Split.positional(rows: frame.rowCount, first: Int(first))
            names = names ?? ["train", "test"]
        } else {
            let ratios = try args.numbers("ratios") ?? [0.7, 0.15, 0.15]
            let seed = try args.number("seed").map { UInt64(max(0, $0)) }
            if let label = try args.string("stratify") {
                let labels = try args.wrap { () throws(MLError) in try frame.numbers(label) }
                parts = try args.wrap { () throws(MLError) in
                    try Split.stratified(labels: labels, ratios, seed: seed ?? 0)
                }
            } else {
                parts = try args.wrap { () throws(MLError) in try Split.ratios(rows: frame.rowCount, ratios, seed: seed)
                }
            }
            names =
                names ?? (ratios.count == 3 ? ["train", "validation", "test"] : ratios.indices.map { "part\($0 + 1)" })
        }
        guard let names, names.count == parts.count else {
            throw args.failure("'names' must list \(parts.count) names, one per part")
        }
        let header = try args.bool("write_header") ?? true
        var outputs: [String: JSONValue] = [:]
        for (name, rows) in zip(names, parts) {
            outputs[name] = .string(try args.write(CSVWriter.text(frame.rows(rows), header: header), to: "\(name).csv"))
            outputs["\(name)_rows"] = .int(rows.count)
        }
        return outputs
    }
}

/// `data.transform`: fits transforms on `train` and applies them to `train` and every other CSV input.
///
/// Inputs: `train`, optionally `validation`, `test`, `data`. Options: `transforms` — a list of
/// `{kind, columns, strategy, fill}` (kinds: standardize, minmax, onehot, impute, normalize_rows, select, drop),
/// or `{kind: derive, name, expression}` (a numeric column computed by an `Expression`, e.g.
/// `log1p(income)`, `debt / income`, `years_between(birthday, today())`);
/// `write_header` (default true). Outputs: the transformed files under the input names, and `transforms`
/// (the fitted transforms, JSON, for `train.*` to embed in the model).
struct DataTransformStep: ArgumentStep {
    let name = "data.transform"

    func run(_ args: StepArguments) async throws -> [String: JSONValue] {
        let train = try args.frame("train")
        guard let specs = args.value("transforms")?.array else {
            throw args.failure("'transforms' must be a list of {kind, columns, strategy, fill}")
        }
        var fitted: [FittedTransform] = []
        var current = train
        for (i, spec) in specs.enumerated() {
            guard let kind = spec["kind"]?.string else { throw args.failure("transforms[\(i)] needs a 'kind'") }
            let columns = spec["columns"]?.array?.compactMap(\.string) ?? spec["column"]?.string.map { [$0] } ?? []
            let fill = spec["fill"].flatMap { $0.string ?? $0.number.map(CSVWriter.formatCell) }
            let transformSpec = TransformSpec(
                kind: kind, columns: columns, strategy: spec["strategy"]?.string, fill: fill,
                output: spec["name"]?.string, expression: spec["expression"]?.string)
            let transform = try args.wrap { () throws(MLError) in try FittedTransform.fit(transformSpec, on: current) }
            current = try args.wrap { () throws(MLError) in try transform.apply(current) }
            fitted.append(transform)
        }
        let header = try args.bool("write_header") ?? true
        var outputs: [String: JSONValue] = [
            "train": .string(try args.write(CSVWriter.text(current, header: header), to: "train.csv")),
            "transforms": .string(
                try args.writeJSON(TransformFile(inputColumns: train.names, transforms: fitted), to: "transforms.json")),
        ]
        for name in ["validation", "test", "data"] where args.value(name) != nil {
            var frame = try args.frame(name)
            for transform in fitted { frame = try args.wrap { () throws(MLError) in try transform.apply(frame) } }
            outputs[name] = .string(try args.write(CSVWriter.text(frame, header: header), to: "\(name).csv"))
        }
        return outputs
    }
}

/// The fitted transforms file `data.transform` writes and `train.*` reads.
struct TransformFile: Codable {
    var inputColumns: [String]
    var transforms: [FittedTransform]
}

/// `data.features`: W3's credit-risk features from loan rows.
///
/// Inputs: `data` with `id, loan_date, loan_amount, birthday, job_start_date, flag_own_car, status`.
/// Options: `today` (YYYY-MM-DD, default the current date). Output `features` (CSV: id, loan_date,
/// nb_previous_loans, avg_amount_loans_previous, age, years_on_the_job, flag_own_car, status).
struct DataFeaturesStep: ArgumentStep {
    let name = "data.features"

    func run(_ args: StepArguments) async throws -> [String: JSONValue] {
        var options = CSVOptions()
        options.types = [
            "id": .text, "loan_date": .text, "birthday": .text, "job_start_date": .text, "flag_own_car": .text,
        ]
        let path = try args.dataFile("data")
        let frame = try args.wrap { () throws(MLError) in try CSVReader.read(path: path, options: options) }
        func text(_ column: String) throws -> [String?] {
            let index = try args.wrap { () throws(MLError) in try frame.index(of: column) }
            if case .text(let cells) = frame.columns[index] { return cells }
            return frame.columns[index].numbers!.map { $0.isNaN ? nil : CSVWriter.formatCell($0) }
        }
        let ids = try text("id")
        let loanDates = try text("loan_date")
        let amounts = try args.wrap { () throws(MLError) in try frame.numbers("loan_amount") }
        let birthdays = try text("birthday")
        let jobStarts = try text("job_start_date")
        let cars = try text("flag_own_car")
        let status = try args.wrap { () throws(MLError) in try frame.numbers("status") }
        var today = CivilDate.today()
        if let text = try args.string("today") {
            guard let day = CivilDate(text) else {
                throw args.failure("'today' must be a date YYYY-MM-DD, got '\(text)'")
            }
            today = day
        }
        // Ids that are all numbers sort as numbers (2 before 10), as a numeric id column does in pandas.
        let numericIDs = ids.map { $0.flatMap(parseNumber) }
        let byNumber = numericIDs.allSatisfy { $0 != nil }
        let order = (0..<frame.rowCount).sorted { a, b in
            if byNumber, numericIDs[a]! != numericIDs[b]! { return numericIDs[a]! < numericIDs[b]! }
            if !byNumber, ids[a] != ids[b] { return (ids[a] ?? "") < (ids[b] ?? "") }
            return (loanDates[a] ?? "") < (loanDates[b] ?? "")
        }
        var previousCount: [String: Int] = [:]
        var previousSum: [String: Double] = [:]
        var lines = [
            "id,loan_date,nb_previous_loans,avg_amount_loans_previous,age,years_on_the_job,flag_own_car,status"
        ]
        for i in order {
            let id = ids[i] ?? ""
            let count = previousCount[id, default: 0]
            let average = count == 0 ? "" : CSVWriter.formatCell(previousSum[id, default: 0] / Double(count))
            let age = birthdays[i].flatMap(CivilDate.init).map { String($0.wholeYears(to: today)) } ?? ""
            let years = jobStarts[i].flatMap(CivilDate.init).map { String($0.wholeYears(to: today)) } ?? ""
            let car = cars[i] == "N" ? "0" : "1"
            lines.append(
                "\(id),\(loanDates[i] ?? ""),\(count),\(average),\(age),\(years),\(car),\(CSVWriter.formatCell(status[i]))"
            )
            previousCount[id] = count + 1
            previousSum[id, default: 0] += amounts[i].isNaN ? 0 : amounts[i]
        }
        return [
            "features": .string(try args.write(lines.joined(separator: "\n") + "\n", to: "features.csv")),
            "rows": .int(order.count),
        ]
    }
}
