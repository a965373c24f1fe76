#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The time of day as seconds since 1970, injected wherever a record is stamped, so tests control it.
///
/// The engine's clock (`EngineClock`) adds sleeping; serving and capture only read the time.
public protocol WallClock: Sendable {
    /// Seconds since 1970.
    var now: Double { get }
}

/// The system's real-time clock.
public struct SystemWallClock: WallClock {
    public init() {}

    public var now: Double {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
