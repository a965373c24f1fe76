import SluiceServing
import Testing

@Suite struct InputDecoderTests {
    private func decode(_ text: String, _ format: InputFormat, width: Int) throws(ServingError) -> FeatureRows {
        try InputDecoder.decode(Array(text.utf8), format: format, width: width)
    }

    @Test func jsonShapesDecodeToRows() throws {
        let expected = FeatureRows(values: [0.3, -1.5e-3, 2, 4], rowCount: 2, columnCount: 2)
        #expect(try decode(#"{"x": [[0.3, -1.5e-3], [2, 4]]}"#, .json, width: 2) == expected)
        #expect(try decode(#" {"instances":[[0.3,-1.5e-3],[2,4]]} "#, .json, width: 2) == expected)
        #expect(try decode("[[0.3,-0.0015],[2.0,4E0]]", .json, width: 2) == expected)
        #expect(try decode("[0.3, 7]", .json, width: 2) == FeatureRows(values: [0.3, 7], rowCount: 1, columnCount: 2))
    }

    @Test func numbersRoundTripExactly() throws {
        let texts = ["0.00246", "-1.983293", "2.68043", "123456789012345678901", "1e-300", "0.1", "17.000000000000004"]
        for text in texts {
            let rows = try decode("[[\(text)]]", .json, width: 1)
            #expect(rows.values == [Double(text)!], "\(text)")
        }
    }

    @Test func csvWithHeaderAndCRLF() throws {
        let rows = try decode("x0,x1\r\n1.5, 2\r\n-3,4e1\r\n\r\n", .csv, width: 2)
        #expect(rows == FeatureRows(values: [1.5, 2, -3, 40], rowCount: 2, columnCount: 2))
        #expect(try decode("x\n0.3\n", .csv, width: 1).values == [0.3])
    }

    @Test(arguments: [
        (#"{"x": [[0.3, ]]}"#, "line 1, column 14"),
        (#"{"x": [[0.3]]"#, "expected '}'"),
        (#"{"y": [[0.3]]}"#, "unexpected key \"y\""),
        (#"{"x": [[0.3, "a"]]}"#, "'\"a\"' is not a JSON number"),
        (#"{"x": [[NaN]]}"#, "not finite"),
        (#"{"x": [[Infinity]]}"#, "not finite"),
        (#"{"x": [[1e999]]}"#, "overflows"),
        (#"{"x": [[01]]}"#, "is not a JSON number"),
        ("{\"x\":\n [[0.3]] x", "line 2, column 10"),
    ])
    func malformedJSONIsLocated(body: String, fragment: String) {
        #expect {
            _ = try decode(body, .json, width: 1)
        } throws: { error in
            let error = error as! ServingError
            return error.code == .validation && error.message.contains(fragment)
        }
    }

    @Test func wrongFeatureCountNamesTheRow() {
        #expect(throws: ServingError.self) { try decode(#"{"x": [[1.0, 2.0]]}"#, .json, width: 10) }
        do {
            _ = try decode("[[1,2,3],[1,2]]", .json, width: 3)
            Issue.record("a short row was accepted")
        } catch {
            #expect(error.message.hasPrefix("Row 2 has 2 features but the model expects 3"))
        }
        do {
            _ = try decode("1,2,3\n1,2\n", .csv, width: 3)
            Issue.record("a short CSV row was accepted")
        } catch {
            #expect(error.message.hasPrefix("Row 2 has 2 features"))
        }
    }

    @Test func csvErrorsNameLineAndColumn() {
        do {
            _ = try decode("1,2\n3,abc\n", .csv, width: 2)
            Issue.record("a non-number was accepted")
        } catch {
            #expect(error.message.hasPrefix("Line 2, column 2: 'abc' is not a number"))
        }
        do {
            _ = try decode("1,nan\n", .csv, width: 2)
            Issue.record("NaN was accepted")
        } catch {
            #expect(error.message.contains("is not finite"))
        }
    }

    @Test func emptyBodyIsItsOwnError() {
        for format in InputFormat.allCases {
            do {
                _ = try decode(" \n ", format, width: 1)
                Issue.record("an empty body was accepted")
            } catch {
                #expect(error.code == .emptyBody)
            }
        }
    }

    @Test func contentTypeParsing() {
        #expect(InputFormat(contentType: "text/csv; charset=utf-8") == .csv)
        #expect(InputFormat(contentType: "Application/JSON") == .json)
        #expect(InputFormat(contentType: "text/plain") == nil)
    }
}
