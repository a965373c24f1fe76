public import SluiceCore
public import SluiceEngine
import Synchronization

/// A clock whose sleeps return at once and move its time forward, recording each requested delay.
public final class ManualClock: EngineClock {
    private let state: Mutex<(now: Double, sleeps: [Double])>

    public init(start: Double = 1_700_000_000) { state = Mutex((start, [])) }

    public var now: Double { state.withLock { $0.now } }
    /// Every delay slept so far, in order.
    public var sleeps: [Double] { state.withLock { $0.sleeps } }

    public func sleep(seconds: Double) async throws {
        try Task.checkCancellation()
        state.withLock {
            $0.sleeps.append(seconds)
            $0.now += max(0, seconds)
        }
        await Task.yield()
    }

    public func advance(by seconds: Double) { state.withLock { $0.now += seconds } }
}
