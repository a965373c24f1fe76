import SluiceML
import Testing

@Suite struct CSVTests {
    func parse(_ text: String, _ options: CSVOptions = CSVOptions()) throws -> Frame {
        try CSVReader.parse(Array(text.utf8), source: "t.csv", options: options)
    }

    @Test func readsTheDiabetesFileExactly() throws {
        let frame = try CSVReader.read(path: fixture("diabetes_scaled.csv"))
        #expect(frame.rowCount == 442)
        #expect(frame.names.first == "age" && frame.names.last == "target")
        // First cell as written with %.17g round-trips to the same float64.
        #expect(try frame.numbers("age")[0] == 0.038075906433423026)
        #expect(try frame.numbers("target")[0] == 151)
    }

    @Test func quotedFieldsMissingValuesAndTextColumns() throws {
        let frame = try parse("name,x,y\n\"a, b\",1.5,\n\"say \"\"hi\"\"\",NA,2\nc,-3e2,4\r\n")
        #expect(frame.columns[0] == .text(["a, b", "say \"hi\"", "c"]))
        let x = try frame.numbers("x")
        #expect(x[0] == 1.5 && x[1].isNaN && x[2] == -300)
        #expect(try frame.numbers("y")[0].isNaN)
    }

    @Test func headerIsInferredAbsentForAllNumericFirstRow() throws {
        let frame = try parse("1,2\n3,4\n", CSVOptions(names: ["a", "b"]))
        #expect(frame.rowCount == 2)
        #expect(try frame.numbers("b") == [2, 4])
    }

    @Test func raggedRowNamesTheLine() {
        #expect {
            try parse("a,b\n1,2\n3\n")
        } throws: { error in
            let e = error as? MLError
            return e?.kind == .raggedRow && e?.line == 3 && e?.file == "t.csv"
        }
    }

    @Test func nonNumericCellInDeclaredColumnNamesLineAndColumn() {
        #expect {
            try parse("a,b\n1,2\n3,x\n", CSVOptions(types: ["b": .number]))
        } throws: { error in
            let e = error as? MLError
            return e?.kind == .notNumeric && e?.line == 3 && e?.column == "b"
        }
    }

    @Test func emptyFileIsAnError() {
        #expect(throws: MLError.self) { try parse("  \n") }
    }

    @Test func missingColumnNamesTheColumns() {
        #expect {
            try parse("a,b\n1,2\n").numbers("label")
        } throws: { error in
            (error as? MLError)?.kind == .missingColumn && "\(error)".contains("a, b")
        }
    }

    @Test func fastFloatPathAgreesWithTheStandardLibrary() {
        for text in ["0.1", "-2.5e-3", "123456.789012", "1e22", "9007199254740993", "0.30000000000000004", "5e-324"] {
            #expect(parseNumber(text) == Double(text))
        }
        #expect(parseNumber("1.2.3") == nil)
        #expect(parseNumber("abc") == nil)
    }
}

@Suite struct JSONLinesTests {
    @Test func readsObjectsWithMissingKeys() throws {
        let frame = try JSONLinesReader.parse(Array("{\"a\": 1, \"b\": \"x\"}\n\n{\"a\": 2.5}\n".utf8))
        #expect(frame.rowCount == 2)
        #expect(try frame.numbers("a") == [1, 2.5])
        #expect(frame.columns[try frame.index(of: "b")] == .text(["x", nil]))
    }

    @Test func badLineIsNamed() {
        #expect {
            try JSONLinesReader.parse(Array("{\"a\": 1}\n[1, 2\n".utf8), source: "d.jsonl")
        } throws: { error in
            (error as? MLError)?.line == 2 && (error as? MLError)?.file == "d.jsonl"
        }
    }
}
