import Dispatch

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Threads Sluice's numeric kernels use: `SLUICE_THREADS` when set to a positive number, else the cores online.
/// Work is cut into parts by this count and partial sums are combined in part order, so a given thread count
/// always gives the same model.
public let defaultThreadCount: Int = threadCount(environment: getenv("SLUICE_THREADS").map { String(cString: $0) })

/// The thread count for a `SLUICE_THREADS` value (nil or not a positive whole number: the cores online, at most 256).
public func threadCount(environment value: String?) -> Int {
    if let value, let count = Int(value.filter { $0 != " " }), count > 0 { return min(count, 256) }
    return max(1, min(256, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))
}

/// Runs `body(0..<count)` on up to `count` threads and waits for all of them.
@inline(__always)
func parallelFor(_ count: Int, _ body: (Int) -> Void) {
    if count == 1 {
        body(0)
        return
    }
    withoutActuallyEscaping(body) { escapable in
        let box = UncheckedBox(escapable)
        DispatchQueue.concurrentPerform(iterations: count) { box.value($0) }
    }
}

/// Moves a non-Sendable value into a concurrent region whose accesses are disjoint by construction.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// Splits `0..<count` into `parts` contiguous ranges.
func chunkRanges(_ count: Int, parts: Int) -> [Range<Int>] {
    let parts = max(1, min(parts, count))
    return (0..<parts).map { p in (count * p / parts)..<(count * (p + 1) / parts) }
}
