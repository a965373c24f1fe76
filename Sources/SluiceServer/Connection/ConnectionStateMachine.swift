import NIOCore

/// The life of one HTTP/1 connection as a value: requests in progress, the idle timeout and graceful shutdown.
///
/// The channel handler tells it what happened and performs the action it returns (as Hummingbird's
/// `HTTPConnectionStateHandler.StateMachine` does); the machine reads no clock, so tests drive it with instants
/// of their choosing.
struct ConnectionStateMachine {
    /// What the handler does next.
    enum Action: Equatable {
        /// Nothing.
        case none
        /// Closes the connection.
        case close
        /// Checks the idle timeout again at this deadline.
        case checkIdle(at: NIODeadline)
    }

    /// Requests whose head arrived and whose response has not ended.
    private(set) var requestsInProgress = 0
    /// Whether the body of the latest request is still arriving.
    private(set) var isReadingRequest = false
    /// When the connection last read or wrote.
    private(set) var lastActive: NIODeadline
    /// A graceful shutdown asked to close once the last response ends.
    private(set) var closeAfterResponse = false
    /// A silent connection is closed after this long.
    let idleTimeout: TimeAmount

    init(idleTimeout: TimeAmount, now: NIODeadline) {
        self.idleTimeout = idleTimeout
        self.lastActive = now
    }

    /// Bytes arrived.
    mutating func read(at now: NIODeadline) {
        lastActive = now
    }

    /// A request's head arrived.
    mutating func requestStarted() {
        requestsInProgress += 1
        isReadingRequest = true
    }

    /// A request's end arrived.
    mutating func requestEnded() {
        isReadingRequest = false
    }

    /// A response ended; closes when it was the last one and a graceful shutdown is waiting.
    mutating func responseEnded(at now: NIODeadline) -> Action {
        lastActive = now
        requestsInProgress = max(requestsInProgress - 1, 0)
        return requestsInProgress == 0 && closeAfterResponse ? .close : .none
    }

    /// Graceful shutdown: close now if nothing is in progress, else after the last response.
    mutating func quiesce() -> Action {
        if requestsInProgress == 0 { return .close }
        closeAfterResponse = true
        return .none
    }

    /// When the first idle check is due.
    var firstIdleCheck: Action { .checkIdle(at: lastActive + idleTimeout) }

    /// The idle check is due: closes a connection silent for the idle timeout, except while a request it has fully
    /// received is being answered (that counts as activity).
    mutating func idleCheckDue(at now: NIODeadline) -> Action {
        let answering = !isReadingRequest && requestsInProgress > 0
        if !answering, now >= lastActive + idleTimeout { return .close }
        if answering { lastActive = now }
        return .checkIdle(at: lastActive + idleTimeout)
    }
}
