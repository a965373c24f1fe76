import Dispatch

/// Threads Sluice's numeric kernels use (the target machine has 2 cores).
public let defaultThreadCount = 2

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
