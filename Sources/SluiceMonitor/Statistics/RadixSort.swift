/// Sorting of large numeric samples for the distance tests: a least-significant-digit radix sort on the numbers'
/// bits (four passes of 16 bits), several times faster than a comparison sort on a million values.
public enum RadixSort {
    /// Below this size the standard library's sort is as fast.
    static let smallCount = 4_096

    /// `values` in ascending order (no NaN; −0 sorts before +0).
    public static func sorted(_ values: [Double]) -> [Double] {
        guard values.count > smallCount else { return values.sorted() }
        let count = values.count
        // Order-preserving keys: flip every bit of a negative number, only the sign bit of a positive one.
        var keys = [UInt64](unsafeUninitializedCapacity: count) { buffer, initialized in
            for index in 0..<count {
                let bits = values[index].bitPattern
                buffer[index] = bits & (1 << 63) != 0 ? ~bits : bits | (1 << 63)
            }
            initialized = count
        }
        var scratch = [UInt64](repeating: 0, count: count)
        var counts = [Int](repeating: 0, count: 65_536)
        for pass in 0..<4 {
            let shift = UInt64(pass * 16)
            keys.withUnsafeBufferPointer { source in
                counts.withUnsafeMutableBufferPointer { counts in
                    for index in 0..<65_536 { counts[index] = 0 }
                    for key in source { counts[Int((key >> shift) & 0xFFFF)] += 1 }
                    // Skip a pass whose digit is the same for every key (common in the high bits).
                    var offset = 0
                    for digit in 0..<65_536 {
                        let size = counts[digit]
                        counts[digit] = offset
                        offset += size
                    }
                }
            }
            let first = Int((keys[0] >> shift) & 0xFFFF)
            let uniform = counts[first] == 0 && (first == 65_535 || counts[first + 1] == count)
            if uniform { continue }
            keys.withUnsafeBufferPointer { source in
                scratch.withUnsafeMutableBufferPointer { target in
                    counts.withUnsafeMutableBufferPointer { counts in
                        for key in source {
                            let digit = Int((key >> shift) & 0xFFFF)
                            target[counts[digit]] = key
                            counts[digit] += 1
                        }
                    }
                }
            }
            swap(&keys, &scratch)
        }
        return keys.map { key in
            Double(bitPattern: key & (1 << 63) != 0 ? key & ~(1 << 63) : ~key)
        }
    }
}
