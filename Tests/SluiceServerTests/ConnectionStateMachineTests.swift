import NIOCore
import SluiceServing
import Testing

@testable import SluiceServer

/// The connection's state machine driven with chosen instants: idle timeout, answering, graceful shutdown.
@Suite struct ConnectionStateMachineTests {
    static let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
    static let timeout = TimeAmount.seconds(30)

    @Test func aSilentConnectionClosesAtTheIdleTimeoutAndAnActiveOneDoesNot() {
        var machine = ConnectionStateMachine(idleTimeout: Self.timeout, now: Self.start)
        #expect(machine.firstIdleCheck == .checkIdle(at: Self.start + Self.timeout))
        // Bytes arrived 10 s in: the check at 30 s is early, the next one is due 30 s after them.
        let read = Self.start + .seconds(10)
        machine.read(at: read)
        #expect(machine.idleCheckDue(at: Self.start + Self.timeout) == .checkIdle(at: read + Self.timeout))
        #expect(machine.idleCheckDue(at: read + Self.timeout) == .close)
    }

    @Test func aRequestBeingAnsweredKeepsTheConnectionOpenButOneBeingReadDoesNot() {
        var machine = ConnectionStateMachine(idleTimeout: Self.timeout, now: Self.start)
        machine.requestStarted()
        // Its body stalls: the client is silent, so the connection closes.
        #expect(machine.idleCheckDue(at: Self.start + Self.timeout) == .close)

        var answering = ConnectionStateMachine(idleTimeout: Self.timeout, now: Self.start)
        answering.requestStarted()
        answering.requestEnded()
        // Fully received and still being answered (a long prediction): counts as activity.
        let late = Self.start + .seconds(45)
        #expect(answering.idleCheckDue(at: late) == .checkIdle(at: late + Self.timeout))
        #expect(answering.responseEnded(at: late) == .none)
        #expect(answering.requestsInProgress == 0)
        #expect(answering.idleCheckDue(at: late + Self.timeout) == .close)
    }

    @Test func gracefulShutdownClosesAnIdleConnectionAtOnceAndABusyOneAfterItsLastResponse() {
        var idle = ConnectionStateMachine(idleTimeout: Self.timeout, now: Self.start)
        #expect(idle.quiesce() == .close)

        var busy = ConnectionStateMachine(idleTimeout: Self.timeout, now: Self.start)
        busy.requestStarted()
        busy.requestEnded()
        busy.requestStarted()  // pipelined
        #expect(busy.quiesce() == .none && busy.closeAfterResponse)
        #expect(busy.responseEnded(at: Self.start) == .none, "one response is still to come")
        busy.requestEnded()
        #expect(busy.responseEnded(at: Self.start) == .close)
    }
}

/// The one route table: what the event-loop handler claims, and what it leaves to the router.
@Suite struct ServingRouteTableTests {
    @Test func theEventLoopClaimsTheTablesPathsAndLeavesTheRestToTheRouter() {
        let endpoints = EndpointTable()
        endpoints.deploy(
            endpoint: "diabetes", stage: .staging,
            StageDeployment(variants: [
                Variant(name: "A", weight: 1, predictor: LinearPredictor(coefficients: [1], intercept: 0))
            ]))
        func route(_ uri: String) -> (String?, String?, ResponseShape)? {
            ServingRouteTable.route(uri: uri, endpoints: endpoints).map { ($0.endpoint, $0.stage?.rawValue, $0.shape) }
        }
        #expect(route("/invocations").map { $0.0 == nil && $0.1 == "production" && $0.2 == .invocations } == true)
        #expect(route("/stream?x=1").map { $0.1 == "production" && $0.2 == .stream } == true)
        #expect(route("/staging/batch").map { $0.0 == nil && $0.1 == "staging" && $0.2 == .batch } == true)
        #expect(route("/endpoints/diabetes/invocations").map { $0.0 == "diabetes" && $0.1 == "production" } == true)
        #expect(
            route("/endpoints/diabetes/staging/stream").map {
                $0.0 == "diabetes" && $0.1 == "staging" && $0.2 == .stream
            } == true)
        // A stage the default endpoint lacks, another route's path, odd segments: the router's.
        for uri in [
            "/approvals/stream", "/endpoints/diabetes/staging/predict-by-id", "/endpoints//staging/stream",
            "/endpoints/.x/staging/stream", "/a/b/c/d/stream", "/ping", "stream",
        ] {
            #expect(route(uri) == nil, "\(uri)")
        }
        // Every table entry is registered on the router under the same pattern.
        #expect(ServingRouteTable.entries.map(\.path).contains("/endpoints/{name}/{stage}/invocations"))
        #expect(ServingRouteTable.entries.map(\.path).contains("/{stage}/stream"))
    }
}
