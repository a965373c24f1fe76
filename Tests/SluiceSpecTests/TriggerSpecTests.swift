import SluiceCore
import SluiceSpec
import Testing

@Suite struct TriggerSpecTests {
    func validate(_ triggers: String) -> (Pipeline?, [Diagnostic]) {
        let text = """
            name: T
            parameters: [{name: Input, type: String, default: ""}]
            triggers:
            \(triggers)
            steps:
              - {name: Done, type: Succeed}
            """
        let result = PipelineLoader.validate(text: text, file: "t.yaml")
        return (result.pipeline, result.diagnostics)
    }

    @Test func everyKindOfTriggerIsRead() throws {
        let (pipeline, diagnostics) = validate(
            """
              - {files: incoming, glob: "*.csv", parameter: Input}
              - {every: PT1H}
              - {schedule: "rate(5 minutes)"}
              - {schedule: "cron(0 12 * * ? *)"}
              - {on: {model_approved: {group: G}}, parameter: Input}
              - {on: {model_registered: {group: H}}}
            """)
        #expect(diagnostics.filter { $0.severity == .error }.isEmpty, "\(diagnostics)")
        let triggers = try #require(pipeline?.triggers)
        #expect(triggers.count == 6)
        #expect(triggers[0].fileParameter == "Input")
        #expect(triggers[1].schedule == .rate(seconds: 3_600))
        #expect(triggers[2].schedule == .rate(seconds: 300))
        #expect(triggers[3].kind == .expression("cron(0 12 * * ? *)"))
        #expect(triggers[4].kind == .registry(event: .modelApproved, group: "G"))
        #expect(triggers[4].fileParameter == "Input")
        #expect(triggers[5].kind == .registry(event: .modelRegistered, group: "H"))
    }

    @Test func aBadScheduleIsALocatedBadValue() throws {
        let (pipeline, diagnostics) = validate("  - {schedule: \"rate(5 fortnights)\"}")
        #expect(pipeline == nil)
        let error = try #require(diagnostics.first { $0.severity == .error })
        #expect(error.code == "bad-value")
        #expect(error.message.contains("fortnights"))
        #expect(error.location?.line == 4)
    }

    @Test func anUnknownEventOrParameterIsReported() {
        let (_, diagnostics) = validate(
            """
              - {on: {model_aproved: {group: G}}}
              - {files: in, parameter: Inptu}
            """)
        let codes = diagnostics.filter { $0.severity == .error }.map(\.code)
        #expect(codes.contains("unknown-event"))
        #expect(codes.contains("unknown-parameter"))
        #expect(diagnostics.contains { $0.message.contains("did you mean 'model_approved'") })
    }
}
