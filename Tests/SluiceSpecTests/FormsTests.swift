import SluiceCore
import SluiceSpec
import Testing

/// The state-machine and list forms of one pipeline compile to the same graph.
@Suite struct FormsTests {
    static let modules: [Module] = {
        let text = """
            name: Stage
            id: 6f1c3a52-0000-4000-8000-000000000001
            type: Builtin
            implementation: {builtin: data.split}
            inputs:
              - {name: In, type: DataUri, optional: true}
            outputs:
              - {name: Out, type: DataUri}
              - {name: Report, type: Report}
            """
        return [PipelineLoader.validate(text: text, file: "stage.yaml").module].compactMap { $0 }
    }()

    static let stateMachine = """
        name: Forms
        parameters:
          - {name: Threshold, type: Float, default: 0.5}
        Steps:
          StartsAt: Prepare Data
          Prepare Data:
            Type: Task
            ModuleId: 6f1c3a52-0000-4000-8000-000000000001
            Next: Train
          Train:
            Type: Task
            Module: Stage
            Inputs: {In: $.outputs.Out}
            Retry:
              - {ErrorEquals: [States.TaskFailed], IntervalSeconds: 2, MaxAttempts: 3, BackoffRate: 2}
            Next: Gate
          Gate:
            Type: Condition
            Condition: $.steps.Train.outputs.Report.metrics.score.value >= $.parameters.Threshold
            Then: Publish
            Else: Reject
          Publish:
            Type: Task
            Module: Stage
            Inputs: {In: "$.steps['Train'].outputs.Out"}
            End: true
          Reject:
            Type: Fail
            Message: score below {parameters.Threshold}
        """

    static let list = """
        name: Forms
        parameters:
          - {name: Threshold, type: Float, default: 0.5}
        steps:
          - name: Prepare Data
            module: Stage
          - name: Train
            module: Stage
            inputs: {In: "$.steps['Prepare Data'].outputs.Out"}
            retry:
              - {error_equals: [States.TaskFailed], interval: PT2S, max_attempts: 3, backoff_rate: 2}
          - name: Gate
            type: Condition
            condition: $.steps.Train.outputs.Report.metrics.score.value >= $.parameters.Threshold
            then: [Publish]
            else: [Reject]
          - name: Publish
            module: Stage
            inputs: {In: $.steps.Train.outputs.Out}
          - name: Reject
            type: Fail
            message: score below {parameters.Threshold}
        """

    func compile(_ text: String) throws -> Pipeline {
        let result = PipelineLoader.validate(text: text, file: "forms.yaml", modules: Self.modules)
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics.map(\.description))")
        return try #require(result.pipeline)
    }

    @Test func bothFormsCompileToTheSameGraph() throws {
        #expect(Self.modules.count == 1)
        let machine = try compile(Self.stateMachine)
        let list = try compile(Self.list)
        #expect(machine.steps.map(\.name) == list.steps.map(\.name))
        for (a, b) in zip(machine.steps, list.steps) {
            #expect(Set(a.after) == Set(b.after), "\(a.name)")
            #expect(a.kind == b.kind, "\(a.name)")
            #expect(a.retry == b.retry, "\(a.name)")
        }
        #expect(list.step(named: "Publish")?.after.contains(Dependency("Gate", on: .conditionTrue)) == true)
        #expect(list.step(named: "Reject")?.after == [Dependency("Gate", on: .conditionFalse)])
    }

    @Test func dataReferencesOrderTheListForm() throws {
        let text = """
            name: Order
            steps:
              - name: Last
                module: Stage
                inputs: {In: $.steps.First.outputs.Out}
              - name: First
                module: Stage
            """
        let pipeline = try compile(text)
        #expect(pipeline.step(named: "Last")?.after == [Dependency("First")])
        #expect(pipeline.graph.topologicalOrder() == ["First", "Last"])
    }

    @Test func stepsAfterATerminalStepAreUnreachable() {
        let text = """
            name: Terminal
            steps:
              - {name: Stop, type: Succeed}
              - {name: Later, type: Wait, seconds: PT5S, after: [Stop]}
            """
        let result = PipelineLoader.validate(text: text, file: "t.yaml")
        #expect(result.diagnostics.map(\.code) == ["unreachable-step"])
        #expect(result.diagnostics.first?.location?.line == 4)
    }

    @Test func everyProblemOfAFileIsReportedInOnePass() {
        let text = """
            name: Many
            steps:
              - name: A
                module: Stag
              - name: B
                module: Stage
                inputs: {In: $.steps.Z.outputs.Out}
                timeout: soon
              - name: C
                type: Wait
                seconds: PT1M
                colour: red
            """
        let result = PipelineLoader.validate(text: text, file: "many.yaml", modules: Self.modules)
        #expect(result.pipeline == nil)
        #expect(
            Set(result.diagnostics.map(\.code)) == ["unknown-module", "unknown-step", "bad-duration", "unknown-key"])
        #expect(result.diagnostics.allSatisfy { $0.location?.file == "many.yaml" })
    }
}

@Suite struct SeedIndentationTests {
    /// The seed's pipeline exactly as published: two steps slipped out of `Steps:`.
    static let unrepaired = """
        name: XGBoostTrainingPipeline
        type: TrainingPipeline

        Steps: 
         StartsAt: Generate Data Set 
         Generate Data Set: 
          ModuleId: 123e4567-e89b-12d3-a456-426614174000
          Type: Task
          Next: Train Model
        Train Model:
          ModuleId: 123e4567-e89b-12d3-a456-426614174000
          Type: Task
          Next: Batch Transform
        """

    @Test func outdentedStepsAreReportedAsSuch() {
        let result = PipelineLoader.validate(text: Self.unrepaired, file: "pipeline.yaml")
        let hint = result.diagnostics.first { $0.code == "unknown-key" }
        #expect(hint?.location == SourceLocation(file: "pipeline.yaml", line: 10, column: 1))
        #expect(hint?.fix == "indent 'Train Model' and its keys under 'Steps:'")
        #expect(result.pipeline == nil)
    }
}
