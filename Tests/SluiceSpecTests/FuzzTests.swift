import Foundation
import SluiceCore
import SluiceSpec
import Testing

/// SplitMix64: a tiny seeded generator, so every run mutates the same way.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Mutates valid specs many thousand times: nothing crashes or hangs, and every failure is a located diagnostic.
@Suite struct FuzzTests {
    static let mutations = 10_000

    static func seeds() throws -> [(file: String, text: String)] {
        let files = [
            "seed-000/s3-csv-data-loader.yaml", "seed-000/xgboost-trainer.yaml", "seed-000/pipeline.yaml",
            "w1-diabetes/pipeline.yaml", "w1-diabetes/batch-pipeline.yaml", "w2-abalone/pipeline.yaml",
            "w3-credit-risk/pipeline.yaml", "w4-xgboost/pipeline.yaml", "modules/register-model.yaml",
            "w2-abalone/modules/train.yaml",
        ]
        return try files.map { ($0, try Paths.text(Paths.example($0))) }
    }

    static func modules() throws -> [Module] {
        let folders = ["seed-000", "modules", "w1-diabetes/modules", "w2-abalone/modules", "w3-credit-risk/modules"]
        var modules: [Module] = []
        for folder in folders {
            let path = Paths.example(folder)
            for name in try FileManager.default.contentsOfDirectory(atPath: path).sorted() where name.hasSuffix(".yaml")
            {
                let file = path + "/" + name
                if let module = PipelineLoader.validate(text: try Paths.text(file), file: file).module {
                    modules.append(module)
                }
            }
        }
        return modules
    }

    static func lines(_ text: String) -> [String] {
        text.utf8.split(separator: 0x0A, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    }

    static func mutate(_ text: String, _ random: inout SeededGenerator) -> String {
        var lines = Self.lines(text)
        let line = Int.random(in: 0..<max(lines.count, 1), using: &random)
        let replacements = ["[]", "{}", "42", "-3.5", "true", "null", "\"x\"", "'", "[a, {b: c}]", "$.steps", "{"]
        // Huge strings are linear but slow to build in debug builds: one mutation in fifty.
        let choice = Int.random(in: 0..<50, using: &random)
        switch choice < 49 ? choice % 9 == 5 ? 6 : choice % 9 : 5 {
        case 0:
            let cut = Int.random(in: 0...text.unicodeScalars.count, using: &random)
            return String(String.UnicodeScalarView(text.unicodeScalars.prefix(cut)))
        case 1:
            if !lines.isEmpty { lines.remove(at: line) }
        case 2:
            if let colon = lines[line].firstIndex(of: ":") {
                lines[line] = lines[line][...colon] + " " + replacements.randomElement(using: &random)!
            }
        case 3:
            var scalars = Array(lines[line].unicodeScalars)
            for _ in 0..<Int.random(in: 1...8, using: &random) {
                let scalar = Unicode.Scalar(UInt8.random(in: 0...127, using: &random))
                scalars.insert(scalar, at: Int.random(in: 0...scalars.count, using: &random))
            }
            lines[line] = String(String.UnicodeScalarView(scalars))
        case 4:
            let depth = Int.random(in: 1...300, using: &random)
            let open = Bool.random(using: &random) ? "[" : "{a: "
            let close = open == "[" ? "]" : "}"
            lines[line] += " " + String(repeating: open, count: depth) + String(repeating: close, count: depth)
        case 5:
            let huge = String(repeating: "é$.{x}", count: Int.random(in: 500...5_000, using: &random))
            if let colon = lines[line].firstIndex(of: ":") { lines[line] = lines[line][...colon] + " " + huge }
        case 6:
            lines.insert(lines[line], at: line)
        case 7:
            let indent = String(repeating: " ", count: Int.random(in: 0...6, using: &random))
            lines[line] = indent + lines[line].drop { $0 == " " }
        default:
            let depth = Int.random(in: 1...200, using: &random)
            let nested = (0..<depth).map { String(repeating: "  ", count: $0) + "k\($0):" }
            lines.insert(contentsOf: nested, at: line)
        }
        return lines.joined(separator: "\n")
    }

    @Test func mutatedSpecsAlwaysEndInLocatedDiagnostics() throws {
        let seeds = try Self.seeds()
        let modules = try Self.modules()
        var random = SeededGenerator(state: 2026)
        var failures = 0
        var codes: Set<String> = []
        for round in 0..<Self.mutations {
            var text = seeds[round % seeds.count].text
            for _ in 0..<Int.random(in: 1...3, using: &random) { text = Self.mutate(text, &random) }
            let result = PipelineLoader.validate(
                text: text, file: "fuzz.yaml", modules: modules,
                options: ValidationOptions(knownBuiltins: builtinCatalog))
            // YAML breaks lines at \n, \r\n and a lone \r (a mutation may insert one), and so do the locations.
            let bytes = Array(text.utf8)
            let lines =
                1
                + bytes.indices.filter {
                    bytes[$0] == 0x0A || (bytes[$0] == 0x0D && ($0 + 1 == bytes.count || bytes[$0 + 1] != 0x0A))
                }.count
            for diagnostic in result.diagnostics {
                codes.insert(diagnostic.code)
                guard let location = diagnostic.location, location.file == "fuzz.yaml",
                    (1...(lines + 1)).contains(location.line), location.column >= 1
                else {
                    Issue.record("unlocated diagnostic \(diagnostic) for:\n\(text.prefix(2_000))")
                    return
                }
            }
            if result.pipeline == nil && result.module == nil {
                failures += 1
                #expect(result.diagnostics.hasErrors, "no error explains the failure of:\n\(text.prefix(2_000))")
            }
        }
        print("fuzz: \(Self.mutations) mutations, \(failures) rejected, codes seen: \(codes.sorted())")
        #expect(failures > Self.mutations / 10)
        #expect(codes.count > 10)
    }
}
