import SluiceCore
import SluiceEngine
import SluiceTesting
import Testing

/// `ExecutionEngine.parameterValues`: the one check of `-p KEY=VALUE` overrides that `sluice run` (through
/// `prepare`) and `sluice aws start` share.
@Suite struct ParameterOverrideTests {
    static let pipeline = {
        var pipeline = PipelineShapes.linear
        pipeline.parameters = [
            .init(name: "Epochs", type: .integer, defaultValue: .int(3)),
            .init(
                name: "Mode", type: .string, defaultValue: .string("fast"),
                allowedValues: [.string("fast"), .string("full")]),
            .init(name: "Rate", type: .float),
        ]
        return pipeline
    }()

    /// The refusal of `overrides`, as the engine words it; not refusing them is a failure of the calling test.
    func refusal(_ overrides: [String: String]) -> RequestError? {
        #expect(throws: RequestError.self) { try ExecutionEngine.parameterValues(overrides, for: Self.pipeline) }
    }

    @Test func overridesAreTypedAndNoDefaultIsAdded() throws {
        let values = try ExecutionEngine.parameterValues(["Epochs": "7", "Rate": "0.25"], for: Self.pipeline)
        #expect(values == ["Epochs": .int(7), "Rate": .double(0.25)])
        #expect(try ExecutionEngine.parameterValues([:], for: Self.pipeline).isEmpty)
    }

    @Test func anUnknownNameIsRefusedWithTheClosestOne() {
        let error = refusal(["Epoch": "7"])
        #expect(error?.code == "unknown-parameter")
        #expect(error?.message == "-p Epoch=…: pipeline 'linear' has no parameter 'Epoch'; did you mean 'Epochs'?")
        let far = refusal(["Zzz": "1"])
        #expect(far?.message == "-p Zzz=…: pipeline 'linear' has no parameter 'Zzz' (it has: Epochs, Mode, Rate)")
    }

    @Test func aValueOfTheWrongTypeOrOutsideTheAllowedOnesIsRefused() {
        let typed = refusal(["Epochs": "many"])
        #expect(typed?.code == "parameter-type")
        #expect(typed?.message == "-p Epochs=many: parameter 'Epochs' is Integer; give a value of that type")
        let allowed = refusal(["Mode": "slow"])
        #expect(allowed?.code == "parameter-value")
        #expect(allowed?.message == "-p Mode=slow: allowed values are fast, full")
    }
}
