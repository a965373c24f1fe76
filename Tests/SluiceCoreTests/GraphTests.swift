import SluiceCore
import Testing

@Suite struct DependencyGraphTests {
    @Test func diamondOrdersEveryNodeAfterItsPredecessors() throws {
        var graph = DependencyGraph(nodes: ["A", "B", "C", "D"])
        graph.addEdge(from: "A", to: "B")
        graph.addEdge(from: "A", to: "C")
        graph.addEdge(from: "B", to: "D")
        graph.addEdge(from: "C", to: "D")
        let order = try #require(graph.topologicalOrder())
        #expect(order.first == "A")
        #expect(order.last == "D")
        #expect(graph.cycles().isEmpty)
        #expect(graph.ancestors(of: "D") == ["A", "B", "C"])
    }

    @Test func cycleIsReportedAsAPath() {
        var graph = DependencyGraph()
        graph.addEdge(from: "A", to: "B")
        graph.addEdge(from: "B", to: "C")
        graph.addEdge(from: "C", to: "A")
        #expect(graph.topologicalOrder() == nil)
        #expect(graph.cycles() == [["A", "B", "C"]])
    }
}

@Suite struct ValueTests {
    @Test func iso8601DurationsParse() {
        #expect(TimeSpan(iso8601: "P90D")?.seconds == 7_776_000.0)
        #expect(TimeSpan(iso8601: "PT1M30S")?.seconds == 90)
        #expect(TimeSpan(iso8601: "PT0.5S")?.seconds == 0.5)
        #expect(TimeSpan(iso8601: "12")?.seconds == 12)
        #expect(TimeSpan(iso8601: "P") == nil)
        #expect(TimeSpan(iso8601: "PT5D") == nil)
        #expect(TimeSpan(iso8601: "90 days") == nil)
    }

    @Test func conditionsCompareNumbersAcrossIntegerAndFloat() throws {
        let r2 = Reference(.stepOutput(step: "Evaluate", output: "report"), path: [.key("r2")])
        let condition = Condition.compare(.reference(r2), .greaterOrEqual, .literal(0.2))
        #expect(try condition.evaluate { _ in .double(0.47) })
        #expect(try !condition.evaluate { _ in .int(0) })
        #expect(throws: ConditionError.self) { try condition.evaluate { _ in .string("high") } }
    }

    @Test func closestMatchSuggestsTheSeedTypo() {
        let names = ["SageMaker Create Model", "SageMaker Create Endpoint"]
        #expect(closestMatch(to: "Sagemaker Create Model", in: names) == "SageMaker Create Model")
        #expect(closestMatch(to: "Deploy", in: names) == nil)
    }

    @Test func retryDelayGrowsByBackoffAndIsCapped() {
        let rule = RetryRule(
            interval: TimeSpan(seconds: 1), maxAttempts: 5, backoffRate: 2, maxDelay: TimeSpan(seconds: 5))
        #expect((1...5).map { rule.delay(beforeRetry: $0) } == [1, 2, 4, 5, 5])
        #expect(ErrorName.matches("States.Timeout", any: [ErrorName.all]))
        #expect(!ErrorName.matches("States.Timeout", any: [ErrorName.taskFailed]))
    }
}
