import SluiceCore
import SluiceSpec
import Testing

@Suite struct SyntaxTests {
    @Test func referencesParseEveryRootAndPath() throws {
        let report = try ReferenceSyntax.parse("$.steps.Evaluate.outputs.report.regression_metrics.mse.value").get()
        #expect(report.root == .stepOutput(step: "Evaluate", output: "report"))
        #expect(report.path == [.key("regression_metrics"), .key("mse"), .key("value")])
        let quoted = try ReferenceSyntax.parse("$.steps['Train Model'].outputs.ModelUri[0]").get()
        #expect(quoted.root == .stepOutput(step: "Train Model", output: "ModelUri"))
        #expect(quoted.path == [.index(0)])
        // Unquoted, a name with a space reads too, since `.` separates names.
        let spaced = try ReferenceSyntax.parse("$.steps.Train Model.outputs.ModelUri").get()
        #expect(spaced.root == .stepOutput(step: "Train Model", output: "ModelUri"))
        #expect(try ReferenceSyntax.parse("$.outputs.ResultStatus").get().root == .previousOutput("ResultStatus"))
        #expect(try ReferenceSyntax.parse("$.parameters.MseThreshold").get().root == .parameter("MseThreshold"))
        #expect(try ReferenceSyntax.parse("$.execution.startTime").get().root == .execution("startTime"))
        #expect(try ReferenceSyntax.parse("$.item.path").get() == ReferenceSyntax(root: .item, path: [.key("path")]))
    }

    @Test(arguments: [
        "$.", "$.steps.A", "$.steps.A.outputz.B", "$.paramters.X", "$.steps['A", "$.x[abc]", "steps.A", "$.execution",
    ])
    func malformedReferencesAreRejected(_ text: String) {
        guard case .failure(let error) = ReferenceSyntax.parse(text) else {
            Issue.record("\(text) parsed")
            return
        }
        #expect(!error.description.isEmpty)
    }

    @Test func canonicalTextParsesBackToTheSameReference() throws {
        let references = [
            Reference(.stepOutput(step: "Train Model", output: "Model Uri"), path: [.key("a b"), .index(2)]),
            Reference(.parameter("X")), Reference(.execution(.id)),
        ]
        for reference in references {
            let parsed = try ReferenceSyntax.parse(reference.description).get()
            switch (parsed.root, reference.root) {
            case (.stepOutput(let a, let b), .stepOutput(let c, let d)): #expect(a == c && b == d)
            case (.parameter(let a), .parameter(let b)): #expect(a == b)
            case (.execution(let a), .execution(let b)): #expect(a == b.rawValue)
            default: Issue.record("\(reference) parsed as \(parsed)")
            }
            #expect(parsed.path == reference.path)
        }
    }

    @Test func interpolationFindsPlaceholdersAndKeepsOtherBraces() throws {
        let text = """
            name: T
            parameters: [{name: Threshold, type: Float, default: 6.0}]
            steps:
              - name: Stop
                type: Fail
                message: 'MSE above {parameters.Threshold} in {execution.id}, {"json": true}'
            """
        let pipeline = try #require(PipelineLoader.validate(text: text, file: "t.yaml").pipeline)
        guard case .fail(let fail) = pipeline.steps[0].kind else { return }
        #expect(fail.message.references == [Reference(.parameter("Threshold")), Reference(.execution(.id))])
        let rendered = fail.message.render { $0.root == .execution(.id) ? "run-1" : 6.5 }
        #expect(rendered == "MSE above 6.5 in run-1, {\"json\": true}")
    }

    @Test func conditionsCombineComparisonsWithAndOrNot() throws {
        let text = """
            name: C
            parameters: [{name: A, type: Float, default: 1}, {name: S, type: String, default: x}]
            steps:
              - name: Gate
                type: Condition
                condition: "($.parameters.A >= 1 and not $.parameters.S == 'y') or $.parameters.A < 0"
                then: [Done]
              - name: Done
                type: Succeed
            """
        let pipeline = try #require(PipelineLoader.validate(text: text, file: "c.yaml").pipeline)
        guard case .condition(let spec) = pipeline.steps[0].kind else { return }
        func evaluate(_ a: JSONValue, _ s: JSONValue) throws -> Bool {
            try spec.condition.evaluate { $0.root == .parameter("A") ? a : s }
        }
        #expect(try evaluate(1, "x"))
        #expect(try !evaluate(1, "y"))
        #expect(try evaluate(-1, "y"))
        #expect(try !evaluate(0.5, "x"))
    }

    @Test func conditionsComparingANumberWithAStringAreRejected() {
        let text = """
            name: C
            parameters: [{name: Threshold, type: Float, default: 1.0}, {name: Mode, type: String, default: fast}]
            steps:
              - name: Gate
                type: Condition
                condition: $.parameters.Threshold > 'high' or $.parameters.Mode == 'slow'
                then: [Done]
              - {name: Done, type: Succeed}
            """
        let result = PipelineLoader.validate(text: text, file: "c.yaml")
        #expect(result.diagnostics.map(\.code) == ["type-mismatch"])
        #expect(result.diagnostics.first?.message.contains("compares a number > a string") == true)
    }

    @Test func typeMismatchesBetweenStepsAreFound() {
        let module = """
            name: M
            type: Builtin
            implementation: {builtin: train.linear}
            inputs: [{name: Count, type: Integer}]
            outputs: [{name: Model, type: ModelUri}]
            """
        let loaded = PipelineLoader.validate(text: module, file: "m.yaml").module
        let pipeline = """
            name: P
            steps:
              - {name: A, module: M, inputs: {Count: 1}}
              - {name: B, module: M, inputs: {Count: $.steps.A.outputs.Model}}
            """
        let result = PipelineLoader.validate(text: pipeline, file: "p.yaml", modules: [loaded].compactMap { $0 })
        #expect(result.diagnostics.map(\.code) == ["type-mismatch"])
        #expect(result.diagnostics.first?.location == SourceLocation(file: "p.yaml", line: 4, column: 42))
    }
}

@Suite struct JSONSpecTests {
    @Test func jsonModulesAndPipelinesReadLikeYAML() throws {
        let module = """
            {"name": "Scorer", "type": "Builtin", "implementation": {"builtin": "evaluate"},
             "inputs": [{"name": "Model", "type": "ModelUri", "ContentType": "application/json"}],
             "outputs": [{"name": "Report", "type": "Report"}]}
            """
        let loaded = try #require(PipelineLoader.validate(text: module, file: "scorer.json").module)
        #expect(loaded.input(named: "Model")?.attributes == ["ContentType": "application/json"])
        let pipeline = """
            {"name": "P", "steps": [
              {"name": "Score", "module": "Scorer", "inputs": {"Model": "models/m.json"}},
              {"name": "Check", "type": "Condition",
               "condition": "$.steps.Score.outputs.Report.regression_metrics.mse.value <= 6.0", "then": ["Done"]},
              {"name": "Done", "type": "Succeed"}]}
            """
        let result = PipelineLoader.validate(text: pipeline, file: "p.json", modules: [loaded])
        #expect(result.diagnostics.isEmpty)
        #expect(result.pipeline?.step(named: "Done")?.after == [Dependency("Check", on: .conditionTrue)])
        let broken = PipelineLoader.validate(text: "{\"name\": \"P\", \"steps\": [", file: "b.json")
        #expect(broken.diagnostics.map(\.code) == ["yaml-syntax"])
        #expect(broken.diagnostics.first?.location?.file == "b.json")
    }
}
