import Foundation
import SluiceML
import Testing

@Suite struct ExpressionTests {
    let frame = Frame(
        names: ["income", "debt", "birthday", "loan_date", "car", "score"],
        columns: [
            .numeric([50_000, 0, .nan, 12_000]), .numeric([10_000, 500, 100, 0]),
            .text(["1990-06-15", "2000-02-29", nil, "1969-12-31"]),
            .text(["2020-06-14", "2021-02-28", "2020-01-01", "2020-01-01T10:00:00"]),
            .text(["Y", "N", "Y", nil]), .numeric([-3, 0.5, 2, 9]),
        ], source: "loans.csv")

    func values(_ text: String) throws(ExpressionError) -> [Double] { try Expression(text).evaluate(frame) }

    func same(_ a: [Double], _ b: [Double]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { ($0.isNaN && $1.isNaN) || abs($0 - $1) < 1e-12 }
    }

    @Test func arithmeticFollowsPrecedenceAndPropagatesMissingValues() throws {
        #expect(same(try values("debt / income"), [0.2, .nan, .nan, 0]))  // x / 0 is missing, not infinite
        #expect(same(try values("1 + 2 * 3 ^ 2"), [19, 19, 19, 19]))
        #expect(same(try values("2 ^ 3 ^ 2"), [512, 512, 512, 512]))  // right-associative
        #expect(same(try values("-(debt - 100) * 2"), [-19_800, -800, 0, 200]))
        #expect(same(try values("log1p(debt)"), [log1p(10_000), log1p(500), log1p(100), 0]))
        #expect(same(try values("score ** 2"), [9, 0.25, 4, 81]))
        #expect(same(try values("clip(score, 0, 1)"), [0, 0.5, 1, 1]))
        #expect(same(try values("ratio(debt, income)"), [0.2, .nan, .nan, 0]))
        #expect(same(try values("fill(income, 0) + 1"), [50_001, 1, 1, 12_001]))
        #expect(same(try values("min(score, 1) + max(score, 1)"), [-2, 1.5, 3, 10]))
        #expect(same(try values("sqrt(score)"), [.nan, 0.5.squareRoot(), 2.squareRoot(), 3]))
        #expect(same(try values("1.5e3 + `debt`"), [11_500, 2_000, 1_600, 1_500]))
    }

    @Test func comparisonsGiveOneOrZero() throws {
        #expect(same(try values("car != 'N'"), [1, 0, 1, .nan]))
        #expect(same(try values("score >= 2"), [0, 0, 1, 1]))
        #expect(same(try values("(score < 1) * 10"), [10, 10, 0, 0]))
    }

    @Test func datePartsAndWholeYears() throws {
        #expect(same(try values("years_between(birthday, loan_date)"), [29, 20, .nan, 50]))
        #expect(same(try values("days_between(birthday, loan_date)"), [10_957, 7_670, .nan, 18_263]))
        #expect(same(try values("year(loan_date) * 100 + month(loan_date)"), [202_006, 202_102, 202_001, 202_001]))
        #expect(same(try values("weekday(birthday)"), [5, 2, .nan, 3]))  // Fri 1990-06-15, Tue 2000-02-29, Wed
        let age = try values("years_between(birthday, today())")
        #expect(age[0] >= 35 && age[0] < 200)
    }

    @Test func unknownColumnIsLocatedAndTheClosestNameSuggested() throws {
        do {
            _ = try values("log1p(incme) + debt")
            Issue.record("an unknown column was accepted")
        } catch {
            #expect(error.position == 7)
            #expect(error.message.contains("no column 'incme'") && error.message.contains("did you mean 'income'"))
            #expect(error.description.contains("character 7"))
        }
    }

    @Test func syntaxAndTypeErrorsAreLocated() throws {
        func failure(_ text: String) -> ExpressionError? {
            do {
                _ = try values(text)
                return nil
            } catch { return error }
        }
        #expect(failure("debt +")?.message.contains("ends early") == true)
        #expect(failure("(debt + 1")?.message.contains("missing ')'") == true)
        #expect(failure("debt $ 2")?.position == 6)
        #expect(failure("log1p(debt")?.message.contains("missing ')'") == true)
        let text = try #require(failure("debt * car"))
        #expect(text.position == 8 && text.message.contains("column 'car' is text"))
        let function = try #require(failure("lg(debt)"))
        #expect(function.position == 1 && function.message.contains("did you mean 'log'"))
        #expect(failure("clip(debt, 1)")?.message.contains("takes 3 argument(s), got 2") == true)
        #expect(failure("year(debt)")?.message.contains("needs text") == true)
        #expect(failure("'abc'")?.message.contains("must be a number") == true)
        #expect(failure("")?.message.contains("empty") == true)
    }

    @Test func deriveTransformIsFittedCheckedAndSavedWithTheModel() throws {
        let spec = TransformSpec(
            kind: "derive", columns: [], output: "debt_ratio", expression: "debt / fill(income, 1)")
        let transform = try FittedTransform.fit(spec, on: frame)
        let out = try transform.apply(frame)
        #expect(out.names.last == "debt_ratio")
        #expect(same(try out.numbers("debt_ratio"), [0.2, .nan, 100, 0]))
        // Replacing a column keeps its place.
        let replace = try FittedTransform.fit(
            TransformSpec(kind: "derive", columns: [], output: "score", expression: "score ^ 2"), on: frame)
        #expect(try replace.apply(frame).names == frame.names)
        // A model that carries the transform takes raw rows.
        var model = ModelArtifact(
            inputColumns: frame.names, features: ["debt_ratio"], label: nil, transforms: [transform],
            algorithm: "linear", training: .init(rows: 4, trainedAt: "now"))
        model.linear = LinearModel(coefficients: [2], intercept: 1)
        let reloaded = try ModelArtifact.decode(try model.encoded())
        #expect(same(try reloaded.predict(frame), [1.4, .nan, 201, 1]))
        do {
            _ = try FittedTransform.fit(
                TransformSpec(kind: "derive", columns: [], output: "x", expression: "dept / 2"), on: frame)
            Issue.record("an unknown column was accepted")
        } catch {
            #expect(error.description.hasPrefix("loans.csv: derived column 'x': expression 'dept / 2', character 1"))
            #expect(error.message.contains("did you mean 'debt'"))
        }
    }
}
